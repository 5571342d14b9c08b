'use strict'
// The fake Date, Intl, Temporal and performance objects of a clock.
// ---- Date and Intl -------------------------------------------------------------------------

function makeDate (clock, NativeDate) {
  function ClockDate (...args) {
    if (new.target === undefined) return new NativeDate(clock.now).toString()
    if (args.length === 0) return Reflect.construct(NativeDate, [clock.now], new.target)
    return Reflect.construct(NativeDate, args, new.target)
  }
  Object.setPrototypeOf(ClockDate, NativeDate)
  // `date.constructor` is the real Date, so identity checks on it hold for fake dates too
  ClockDate.prototype = Object.create(NativeDate.prototype, {
    constructor: { value: NativeDate, writable: true, configurable: true }
  })
  const own = {
    clock: { value: clock, writable: true, configurable: true },
    isFake: { value: true, writable: true, configurable: true },
    toString: { value: function toString () { return NativeDate.toString() }, writable: true, configurable: true },
    [Symbol.hasInstance]: { value: (v) => v instanceof NativeDate, configurable: true }
  }
  // decided when the clock is made: a Date without `now` gets a fake Date without `now`
  if (NativeDate.now) own.now = { value: function now () { return clock.now }, writable: true, configurable: true }
  if (NativeDate.toSource) {
    own.toSource = { value: function toSource () { return NativeDate.toSource() }, writable: true, configurable: true }
  }
  Object.defineProperties(ClockDate, own)
  return ClockDate
}

function makeIntl (clock, NativeIntl) {
  const fake = {}
  for (const key of Reflect.ownKeys(NativeIntl)) {
    Object.defineProperty(fake, key, Object.getOwnPropertyDescriptor(NativeIntl, key))
  }
  const NativeDTF = NativeIntl.DateTimeFormat
  Object.defineProperty(fake, 'clock', { value: clock, writable: true, configurable: true })
  if (typeof NativeDTF !== 'function') return fake // an Intl without DateTimeFormat: mirrored as is
  const when = (d) => (d === undefined ? clock.now : d)
  class ClockDateTimeFormat extends NativeDTF {
    get format () {
      const format = super.format
      return (date) => format(when(date))
    }

    formatToParts (date) { return super.formatToParts(when(date)) }
  }
  function DateTimeFormat (locales, options) {
    return new ClockDateTimeFormat(locales, options)
  }
  DateTimeFormat.prototype = ClockDateTimeFormat.prototype
  DateTimeFormat.supportedLocalesOf = NativeDTF.supportedLocalesOf.bind(NativeDTF)
  Object.defineProperty(fake, 'DateTimeFormat', { value: DateTimeFormat, writable: true, configurable: true })
  Object.defineProperty(fake, 'clock', { value: clock, writable: true, configurable: true })
  return fake
}

/**
 * The global's `Temporal` with `Temporal.Now` on the clock (every other member is the native one):
 * `instant()` is the fake time to the nanosecond (`clock.now` ms plus the hrtime nanoseconds);
 * the zoned and plain variants derive from it in the real time zone (fake time, not place).
 */
function makeTemporal (clock, NativeTemporal) {
  const zone = (timeZone) => (timeZone === undefined ? NativeTemporal.Now.timeZoneId() : timeZone)
  const Now = {
    instant () { return NativeTemporal.Instant.fromEpochNanoseconds(BigInt(clock.now) * 1000000n + BigInt(clock._nanos)) },
    timeZoneId () { return NativeTemporal.Now.timeZoneId() },
    zonedDateTimeISO (timeZone) { return Now.instant().toZonedDateTimeISO(zone(timeZone)) },
    plainDateTimeISO (timeZone) { return Now.zonedDateTimeISO(timeZone).toPlainDateTime() },
    plainDateISO (timeZone) { return Now.zonedDateTimeISO(timeZone).toPlainDate() },
    plainTimeISO (timeZone) { return Now.zonedDateTimeISO(timeZone).toPlainTime() }
  }
  const fake = Object.create(Object.getPrototypeOf(NativeTemporal))
  for (const key of Reflect.ownKeys(NativeTemporal)) {
    Object.defineProperty(fake, key, Object.getOwnPropertyDescriptor(NativeTemporal, key))
  }
  // the native `Now` is read-only: define, not assign
  Object.defineProperty(fake, 'Now', { value: Now, writable: true, enumerable: false, configurable: true })
  return fake
}

/**
 * A Temporal.Duration (anything with `total()`) in milliseconds, as sinon 15.5 reads it: calendar
 * units resolve from the fake now in the real time zone when the global has `Temporal`.
 */
function durationMs (duration, NativeTemporal, now) {
  const options = { unit: 'millisecond' }
  if (NativeTemporal) {
    options.relativeTo = NativeTemporal.Instant.fromEpochMilliseconds(now).toZonedDateTimeISO(NativeTemporal.Now.timeZoneId())
  }
  return duration.total(options)
}

/** What the fake `performance.mark`/`measure` return: a PerformanceEntry's four fields. */
class FakePerformanceEntry {
  constructor (name, entryType, startTime, duration) {
    this.name = name
    this.entryType = entryType
    this.startTime = startTime
    this.duration = duration
  }

  toJSON () { return JSON.stringify({ ...this }) }
}

const noop = () => undefined
const noEntries = () => []

/**
 * Fills `clock.performance` (which has `now`) for install, as sinon does: every other method of
 * the real Performance prototype becomes a no-op, `getEntries*` return `[]`, `mark`/`measure`
 * return entry objects at the fake time, `timeOrigin` is the install's `now`. Accessors other
 * than `timeOrigin` read the real object. False when there is no prototype to mirror.
 */
function fillPerformance (clock, env, epoch) {
  const real = env.timers.performance
  const g = env.global
  const proto = real && real.constructor && real.constructor.prototype
    ? real.constructor.prototype
    : g.Performance && typeof g.Performance === 'function' ? g.Performance.prototype : null
  if (!proto) return false
  const fake = clock.performance
  for (const name of Object.getOwnPropertyNames(proto)) {
    if (name === 'now' || name === 'constructor') continue
    const d = Object.getOwnPropertyDescriptor(proto, name)
    if (d.get !== undefined && name !== 'timeOrigin') {
      Object.defineProperty(fake, name, { get: () => real[name], enumerable: true, configurable: true })
    } else {
      fake[name] = name.startsWith('getEntries') ? noEntries : noop
    }
  }
  fake.mark = (name) => new FakePerformanceEntry(name, 'mark', clock._perfNow(), 0)
  fake.measure = (name) => new FakePerformanceEntry(name, 'measure', 0, clock._perfNow())
  Object.defineProperty(fake, 'timeOrigin', { value: epoch, writable: true, enumerable: true, configurable: true })
  return true
}

module.exports = { makeDate, makeIntl, makeTemporal, durationMs, fillPerformance }
