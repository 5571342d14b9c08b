//! Clocks: the scheduler's only source of time.
//!
//! `DeterministicClock` is a shared virtual clock (cloning shares the same instant, so a test and
//! a scheduler can hold one clock, C3); `WallClock` reads the system time in milliseconds since
//! the Unix epoch. Both are cheap, lock-free and `Send + Sync`.

use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of milliseconds.
pub trait Clock: Debug + Send + Sync {
    /// The current time in milliseconds.
    fn now_ms(&self) -> u64;

    /// What kind of clock this is, for trace headers (`deterministic`, `wall`, `replay`, or
    /// `custom` for anything else). Informational only: replay never depends on it.
    fn kind(&self) -> &'static str {
        "custom"
    }
}

impl<T: Clock + ?Sized> Clock for Arc<T> {
    fn now_ms(&self) -> u64 {
        (**self).now_ms()
    }

    fn kind(&self) -> &'static str {
        (**self).kind()
    }
}

impl<T: Clock + ?Sized> Clock for Box<T> {
    fn now_ms(&self) -> u64 {
        (**self).now_ms()
    }

    fn kind(&self) -> &'static str {
        (**self).kind()
    }
}

/// A virtual clock moved only by `advance` and `set`. Clones share one instant.
#[derive(Debug, Clone, Default)]
pub struct DeterministicClock {
    now: Arc<AtomicU64>,
}

impl DeterministicClock {
    /// A clock reading `start_ms`.
    pub fn new(start_ms: u64) -> Self {
        Self { now: Arc::new(AtomicU64::new(start_ms)) }
    }

    /// Moves the clock forward by `ms` (wrapping add, like the original design).
    pub fn advance(&self, ms: u64) {
        // Relaxed: the clock is a single value with no data published alongside it.
        self.now.fetch_add(ms, Ordering::Relaxed);
    }

    /// Sets the clock to `ms` (it may move backwards; later `advance` adds to it, C2).
    pub fn set(&self, ms: u64) {
        self.now.store(ms, Ordering::Relaxed);
    }
}

impl Clock for DeterministicClock {
    fn now_ms(&self) -> u64 {
        self.now.load(Ordering::Relaxed)
    }

    fn kind(&self) -> &'static str {
        "deterministic"
    }
}

/// Real time: milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, Default)]
pub struct WallClock;

impl Clock for WallClock {
    fn now_ms(&self) -> u64 {
        // A clock before 1970 reads 0 rather than panicking.
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0)
    }

    fn kind(&self) -> &'static str {
        "wall"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_clock_advances_and_sets() {
        let c = DeterministicClock::new(1000);
        assert_eq!(c.now_ms(), 1000);
        c.advance(500);
        assert_eq!(c.now_ms(), 1500);
        c.set(2000);
        assert_eq!(c.now_ms(), 2000);
    }

    #[test]
    fn set_then_advance_adds() {
        let c = DeterministicClock::new(0);
        assert_eq!(c.now_ms(), 0);
        c.advance(50);
        assert_eq!(c.now_ms(), 50);
        c.set(1000);
        assert_eq!(c.now_ms(), 1000);
        c.advance(5);
        assert_eq!(c.now_ms(), 1005);
    }

    #[test]
    fn shared_clock_passes_through() {
        let c = Arc::new(DeterministicClock::new(42));
        let shared: Arc<dyn Clock> = c.clone();
        assert_eq!(shared.now_ms(), 42);
        c.advance(10);
        assert_eq!(shared.now_ms(), 52);
        // Clones share the instant too.
        let d = DeterministicClock::new(7);
        let e = d.clone();
        d.advance(1);
        assert_eq!(e.now_ms(), 8);
    }

    #[test]
    fn wall_clock_is_after_epoch() {
        assert!(WallClock.now_ms() > 0);
    }
}
