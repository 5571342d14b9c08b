//! Recording overhead (API.md §4): set and fire 1e5 timers on a deterministic clock with and
//! without recording, side by side in one process, then print the ratio and what the trace
//! costs in memory. Run with `cargo bench --bench replay`. Never a timed test: nothing asserts.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use seqloop::sched::{DeterministicClock, Scheduler};
use serde_json::Value;

const N: u64 = 100_000;

/// Sets `N` timers over 1000 distinct deadlines, moves the clock past all of them and ticks
/// until idle. Returns the scheduler so the caller can inspect (and drop) it outside timing.
fn set_and_fire(record: bool) -> Scheduler<Value> {
    let clock = DeterministicClock::new(0);
    let mut s = Scheduler::new(clock.clone()).with_recording(record);
    for i in 0..N {
        black_box(s.set_timeout(i.wrapping_mul(7919) % 1000).ok());
    }
    clock.advance(1000);
    while let Some(t) = s.tick() {
        black_box(t);
    }
    s
}

/// CPU time of the calling thread: unlike wall time it does not count the time the thread
/// waited for a core, which on a shared machine is most of the noise.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec and CLOCK_THREAD_CPUTIME_ID exists on every
    // Linux this crate targets; on failure `ts` stays zero, which only skews this printout.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(u64::try_from(ts.tv_sec).unwrap_or(0), u32::try_from(ts.tv_nsec).unwrap_or(0))
}

/// One run: (wall time, thread CPU time); the scheduler is dropped outside the measurement.
fn timed(record: bool) -> (Duration, Duration) {
    let (start, cpu) = (Instant::now(), thread_cpu_time());
    let s = set_and_fire(record);
    let d = (start.elapsed(), thread_cpu_time().saturating_sub(cpu));
    drop(black_box(s));
    d
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

/// Interleaved runs (plain, recording, plain, …) so both see the same machine state. Wall time
/// (minimum and median) and thread CPU time (median) are printed: on a busy machine the CPU
/// time is the steadier figure.
fn print_ratio() {
    const RUNS: usize = 31;
    let mut plain: (Vec<Duration>, Vec<Duration>) = Default::default();
    let mut rec: (Vec<Duration>, Vec<Duration>) = Default::default();
    for _ in 0..RUNS {
        for (record, into) in [(false, &mut plain), (true, &mut rec)] {
            let (wall, cpu) = timed(record);
            into.0.push(wall);
            into.1.push(cpu);
        }
    }
    let min = |xs: &[Duration]| xs.iter().copied().min().unwrap_or(Duration::ZERO);
    let (pmin, rmin) = (min(&plain.0), min(&rec.0));
    let (p, r) = (median(plain.0), median(rec.0));
    let (pc, rc) = (median(plain.1), median(rec.1));
    println!("set+fire {N} timers, {RUNS} interleaved runs each:");
    println!("  wall min     plain {pmin:?}, recording {rmin:?}: ratio {:.2}x", ratio(rmin, pmin));
    println!("  wall median  plain {p:?}, recording {r:?}: ratio {:.2}x", ratio(r, p));
    println!("  CPU median   plain {pc:?}, recording {rc:?}: ratio {:.2}x", ratio(rc, pc));

    let s = set_and_fire(true);
    let start = Instant::now();
    let digest = s.digest().unwrap_or(seqloop::sched::Digest::EMPTY);
    let digest_time = start.elapsed();
    let records = s.trace().map_or(0, |t| t.records.len());
    let jsonl = s.trace().map_or(0, |t| t.to_jsonl().len());
    println!(
        "  trace: {} entries in memory ({} KiB), {records} records ({:.1} per timer), {} KiB as JSONL; \
         digest {digest} computed in {digest_time:?}",
        s.trace_len(),
        s.trace_heap_bytes() / 1024,
        records as f64 / N as f64,
        jsonl / 1024,
    );
}

fn main() {
    let mut c = Criterion::default().sample_size(20).configure_from_args();
    let mut g = c.benchmark_group("set_fire_1e5_timers");
    g.bench_function("plain", |b| b.iter_with_large_drop(|| set_and_fire(false)));
    g.bench_function("recording", |b| b.iter_with_large_drop(|| set_and_fire(true)));
    g.finish();
    c.final_summary();
    print_ratio();
}
