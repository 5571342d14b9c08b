//! Observability: the core emits `tracing` events (targets `seqloop::*`) for every enqueue,
//! timer set/clear/fire and tick. Nothing is printed unless `SEQLOOP_LOG` holds an `EnvFilter`
//! directive (e.g. `trace` or `seqloop::sched=debug`); unset, each event costs one cached
//! level check.

use std::sync::Once;

static INIT: Once = Once::new();

/// Installs a stderr subscriber filtered by `SEQLOOP_LOG`, once per process. Does nothing when
/// the variable is unset or empty, or when another global subscriber is already installed.
pub fn init_from_env() {
    INIT.call_once(|| {
        let Ok(filter) = std::env::var("SEQLOOP_LOG") else {
            return;
        };
        if filter.trim().is_empty() {
            return;
        }
        let filter = tracing_subscriber::EnvFilter::try_new(&filter)
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("trace"));
        // An error here means the host installed its own subscriber: keep theirs.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            // Colour only for a terminal: logs piped to a file or a test runner stay plain text.
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_target(true)
            .try_init();
    });
}
