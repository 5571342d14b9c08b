'use strict'
// A headless Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`:
// JSON messages separated by NUL bytes on file descriptors 3 and 4), so the render test needs no
// npm package for the browser side. Only what that test uses: open a page, evaluate in it, press
// keys, collect the page's uncaught exceptions and dialogs.
const { spawn, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const CANDIDATES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']

/** The Chromium binary: $CHROMIUM, else the first of CANDIDATES on PATH; null when none. */
function findChromium () {
  if (process.env.CHROMIUM) return process.env.CHROMIUM
  for (const name of CANDIDATES) {
    const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' })
    if (r.status === 0 && r.stdout.trim() !== '') return r.stdout.trim()
  }
  return null
}

class Browser {
  /** Starts a headless Chromium with a fresh profile. */
  constructor (binary) {
    this.profile = fs.mkdtempSync(path.join(os.tmpdir(), 'seqloop-chromium-'))
    this.proc = spawn(binary, [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check',
      '--disable-extensions', '--remote-debugging-pipe', `--user-data-dir=${this.profile}`,
      // speedscope reads the profile from a local file it loads as a script
      '--allow-file-access-from-files', 'about:blank'
    ], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] })
    this.stderr = ''
    this.proc.stderr.on('data', (d) => { this.stderr = (this.stderr + d).slice(-4000) })
    this.nextId = 0
    this.waiting = new Map()
    this.exceptions = []
    this.dialogs = [] // messages of alert()/confirm() dialogs the pages opened (each dismissed)
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', (code, signal) => resolve(`exited (code ${code}, signal ${signal})`))
      this.proc.once('error', (err) => resolve(`could not start ${binary}: ${err.message}`))
    })
    this.exited.then((why) => {
      this.dead = why
      for (const { reject } of this.waiting.values()) reject(new Error(`chromium ${why} before answering: ${this.stderr}`))
      this.waiting.clear()
    })
    let buffer = ''
    this.proc.stdio[4].on('data', (chunk) => {
      buffer += chunk.toString('utf8')
      for (let end = buffer.indexOf('\0'); end >= 0; end = buffer.indexOf('\0')) {
        const msg = JSON.parse(buffer.slice(0, end))
        buffer = buffer.slice(end + 1)
        this.onMessage(msg)
      }
    })
  }

  onMessage (msg) {
    if (msg.id !== undefined) {
      const w = this.waiting.get(msg.id)
      if (w === undefined) return
      this.waiting.delete(msg.id)
      if (msg.error) w.reject(new Error(`${w.method}: ${msg.error.message}`))
      else w.resolve(msg.result)
    } else if (msg.method === 'Runtime.exceptionThrown') {
      const d = msg.params.exceptionDetails
      this.exceptions.push((d.exception && d.exception.description) || d.text)
    } else if (msg.method === 'Page.javascriptDialogOpening') {
      // a dialog blocks the page (and every evaluate) until it is answered
      this.dialogs.push(msg.params.message)
      this.send('Page.handleJavaScriptDialog', { accept: true }, msg.sessionId).catch(() => {})
    }
  }

  /** Sends one DevTools command (to the page session when `session` is given). */
  send (method, params = {}, session) {
    if (this.dead) return Promise.reject(new Error(`chromium ${this.dead}: ${this.stderr}`))
    const id = ++this.nextId
    const msg = { id, method, params }
    if (session) msg.sessionId = session
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject, method })
      this.proc.stdio[3].write(JSON.stringify(msg) + '\0')
    })
  }

  /** Opens `url` in a new tab; returns its session id (with Runtime events enabled). */
  async open (url) {
    const { targetId } = await this.send('Target.createTarget', { url: 'about:blank' })
    const { sessionId } = await this.send('Target.attachToTarget', { targetId, flatten: true })
    await this.send('Runtime.enable', {}, sessionId)
    await this.send('Page.enable', {}, sessionId)
    await this.send('Page.navigate', { url }, sessionId)
    return sessionId
  }

  /** The value of `expression` in the page (awaited if it is a promise). */
  async evaluate (session, expression) {
    const r = await this.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true }, session)
    if (r.exceptionDetails) throw new Error(`in the page: ${r.exceptionDetails.exception?.description || r.exceptionDetails.text}`)
    return r.result.value
  }

  /**
   * Polls `expression` until it is truthy (an error in the page, as while it is still loading,
   * counts as not yet); throws with `what` after `limitMs`.
   */
  async until (session, expression, what, limitMs = 30000) {
    const stop = Date.now() + limitMs
    let last = null
    for (;;) {
      try {
        const v = await this.evaluate(session, expression)
        if (v) return v
      } catch (err) {
        last = err
      }
      if (Date.now() > stop) throw new Error(`gave up waiting for ${what} after ${limitMs} ms${last ? ` (${last.message})` : ''}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  /** Presses and releases a printable key in the page. */
  async press (session, key) {
    for (const type of ['keyDown', 'keyUp']) {
      await this.send('Input.dispatchKeyEvent', { type, key, text: type === 'keyDown' ? key : undefined, code: `Key${key.toUpperCase()}` }, session)
    }
  }

  async close () {
    if (!this.dead && this.proc.exitCode === null && this.proc.signalCode === null) {
      try {
        await Promise.race([this.send('Browser.close'), this.exited])
      } catch {}
      if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL')
      await this.exited
    }
    fs.rmSync(this.profile, { recursive: true, force: true })
  }
}

module.exports = { findChromium, Browser }
