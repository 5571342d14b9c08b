//! `MacroQueue`: the scheduler's FIFO of macrotasks, with moved timers stored compactly.
//!
//! A tick moves every due timer to the back of the queue, each with a fresh seq (MQ1–MQ3). As
//! whole `Macrotask`s that is 32 bytes written and read back per timer, which dominated firing
//! a million timers. Timers moved in a row have consecutive seqs, so the queue keeps them as one
//! *run* entry (seq of the first, count) standing where those timers would stand; their ids are
//! in a FIFO of `u64` beside it and their deadlines in a run-length FIFO of (deadline, count):
//! 8 bytes per queued timer plus 16 per distinct deadline. A timer's `Macrotask` is built when it
//! leaves the queue.
//!
//! Invariants:
//! - MQ-R1: popping yields exactly the sequence of macrotasks a plain FIFO would, given the same
//!   pushes: a run is extended only by the timer whose seq follows its last one (saturating, as
//!   [`Seq::next`] does), while it is the back entry.
//! - MQ-R2: `timer_ids` holds the ids of the runs' timers, front to back, and `deadlines` their
//!   deadlines run-length encoded (every count >= 1); `runs` counts the run entries (every run
//!   has `left >= 1`).

use std::collections::VecDeque;

use super::seq::Seq;
use super::task::{Macrotask, MacrotaskKind, TimerId};

/// A FIFO of `Copy` items: a `Vec` and a read cursor. Popping is an index bump, without the
/// wrap-around arithmetic of `VecDeque` (a pop per dispatched timer is the hot path). The consumed
/// prefix is dropped when a push finds it is at least half the buffer, which moves at most as
/// many items as were popped since the last drop (amortised O(1)); an emptied FIFO restarts at 0.
#[derive(Debug)]
struct Fifo<T> {
    buf: Vec<T>,
    head: usize,
}

impl<T> Default for Fifo<T> {
    fn default() -> Self {
        Self { buf: Vec::new(), head: 0 }
    }
}

impl<T: Copy> Fifo<T> {
    #[inline]
    fn len(&self) -> usize {
        self.buf.len() - self.head
    }

    #[inline]
    fn make_room(&mut self) {
        if self.head != 0 && 2 * self.head >= self.buf.len() {
            self.buf.drain(..self.head);
            self.head = 0;
        }
    }

    #[inline]
    fn push_back(&mut self, v: T) {
        self.make_room();
        self.buf.push(v);
    }

    #[inline]
    fn extend(&mut self, items: impl IntoIterator<Item = T>) {
        self.make_room();
        self.buf.extend(items);
    }

    #[inline]
    fn extend_from_slice(&mut self, items: &[T]) {
        self.make_room();
        self.buf.extend_from_slice(items);
    }

    #[inline]
    fn pop_front(&mut self) -> Option<T> {
        let v = *self.buf.get(self.head)?;
        self.head += 1;
        if self.head == self.buf.len() {
            self.clear();
        }
        Some(v)
    }

    #[inline]
    fn front_mut(&mut self) -> Option<&mut T> {
        self.buf.get_mut(self.head)
    }

    #[inline]
    fn back_mut(&mut self) -> Option<&mut T> {
        if self.head == self.buf.len() {
            None
        } else {
            self.buf.last_mut()
        }
    }

    fn clear(&mut self) {
        self.buf.clear();
        self.head = 0;
    }
}

/// Timers moved with consecutive seqs; their ids and deadlines are in `MacroQueue`.
#[derive(Debug, Clone, Copy)]
struct Run {
    /// Seq of the run's front timer.
    seq: Seq,
    left: u64,
}

enum Entry<P> {
    Task(Macrotask<P>),
    Timers(Run),
}

/// FIFO of macrotasks in seq order.
pub(crate) struct MacroQueue<P> {
    entries: VecDeque<Entry<P>>,
    timer_ids: Fifo<u64>,
    /// `(deadline, count)` of the queued timers, front to back.
    deadlines: Fifo<(u64, u64)>,
    runs: usize,
}

impl<P> Default for MacroQueue<P> {
    fn default() -> Self {
        Self { entries: VecDeque::new(), timer_ids: Fifo::default(), deadlines: Fifo::default(), runs: 0 }
    }
}

impl<P> MacroQueue<P> {
    /// Queued macrotasks.
    pub(crate) fn len(&self) -> usize {
        self.entries.len() - self.runs + self.timer_ids.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn reserve(&mut self, additional: usize) {
        self.entries.reserve(additional);
    }

    /// Appends a macrotask.
    pub(crate) fn push(&mut self, task: Macrotask<P>) {
        self.entries.push_back(Entry::Task(task));
    }

    /// Appends a `TimerFired` macrotask, compactly (MQ-R1).
    #[inline]
    pub(crate) fn push_timer(&mut self, seq: Seq, id: TimerId, deadline_ms: u64) {
        self.push_timers(seq, std::slice::from_ref(&id.0), 1, deadline_ms);
    }

    /// Appends `live` `TimerFired` macrotasks at once, due at `deadline_ms`: the non-zero ids of
    /// `ids`, in order, with seqs `seq`, `seq + 1`, …, which must not pass `u64::MAX` (the
    /// caller checks; a saturated seq goes one timer at a time, MQ-R1).
    #[inline]
    pub(crate) fn push_timers(&mut self, seq: Seq, ids: &[u64], live: usize, deadline_ms: u64) {
        debug_assert!(live != 0 && seq.0.checked_add(live as u64 - 1).is_some());
        debug_assert_eq!(ids.iter().filter(|&&id| id != 0).count(), live);
        let n = live as u64;
        match self.entries.back_mut() {
            Some(Entry::Timers(run)) if run.seq.0.saturating_add(run.left) == seq.0 => run.left += n,
            _ => {
                self.entries.push_back(Entry::Timers(Run { seq, left: n }));
                self.runs += 1;
            }
        }
        if live == ids.len() {
            self.timer_ids.extend_from_slice(ids);
        } else {
            self.timer_ids.extend(ids.iter().copied().filter(|&id| id != 0));
        }
        match self.deadlines.back_mut() {
            Some((d, c)) if *d == deadline_ms => *c += n,
            _ => self.deadlines.push_back((deadline_ms, n)),
        }
    }

    /// Removes and returns the front macrotask, emitting the scheduler's `tick` trace event for
    /// it (every pop is a dispatch).
    ///
    /// A timer's task is built in the return expression, after the event: built earlier and
    /// kept across the event's code, it went through the stack and was copied out with loads
    /// wider than the stores that wrote it, a store-forwarding stall of about 5 ns per timer.
    #[inline(always)]
    pub(crate) fn pop_front(&mut self) -> Option<Macrotask<P>> {
        if let Entry::Timers(run) = self.entries.front_mut()? {
            let seq = run.seq;
            run.seq = seq.next();
            run.left -= 1;
            if run.left == 0 {
                self.entries.pop_front();
                self.runs -= 1;
            }
            let id = self.timer_ids.pop_front().expect("MQ-R2: a run's ids are queued");
            let (deadline_ms, n) = self.deadlines.front_mut().expect("MQ-R2: a run's deadlines are queued");
            let deadline_ms = *deadline_ms;
            *n -= 1;
            if *n == 0 {
                self.deadlines.pop_front();
            }
            tracing::trace!(target: "seqloop::sched", seq = seq.0, kind = "timer_fired", "tick");
            return Some(Macrotask {
                seq,
                kind: MacrotaskKind::TimerFired { timer_id: TimerId(id), deadline_ms },
            });
        }
        match self.entries.pop_front() {
            Some(Entry::Task(task)) => {
                tracing::trace!(target: "seqloop::sched", seq = task.seq.0, kind = task.kind.code(), "tick");
                Some(task)
            }
            _ => unreachable!("the front entry is a task"),
        }
    }

    /// True when the front macrotask is a `TimerFired`.
    pub(crate) fn front_is_timer(&self) -> bool {
        matches!(
            self.entries.front(),
            Some(Entry::Timers(_) | Entry::Task(Macrotask { kind: MacrotaskKind::TimerFired { .. }, .. }))
        )
    }

    /// Removes the queued immediate `id`. True when it was queued.
    pub(crate) fn remove_immediate(&mut self, id: u64) -> bool {
        let pos = self.entries.iter().position(
            |e| matches!(e, Entry::Task(Macrotask { kind: MacrotaskKind::Immediate { id: i }, .. }) if *i == id),
        );
        pos.and_then(|p| self.entries.remove(p)).is_some()
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.timer_ids.clear();
        self.deadlines.clear();
        self.runs = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn timer(seq: u64, id: u64, deadline: u64) -> Macrotask<()> {
        Macrotask {
            seq: Seq(seq),
            kind: MacrotaskKind::TimerFired { timer_id: TimerId(id), deadline_ms: deadline },
        }
    }

    fn key(t: &Macrotask<()>) -> (u64, String) {
        (t.seq.0, format!("{:?}", t.kind))
    }

    #[test]
    fn runs_keep_fifo_order_and_seqs() {
        let mut q = MacroQueue::<()>::default();
        q.push_timer(Seq(1), TimerId(10), 5);
        q.push_timer(Seq(2), TimerId(11), 5);
        q.push(Macrotask { seq: Seq(3), kind: MacrotaskKind::Immediate { id: 7 } });
        q.push_timer(Seq(4), TimerId(12), 5);
        q.push_timer(Seq(6), TimerId(13), 5); // seq gap: a new run
        q.push_timer(Seq(7), TimerId(14), 6); // new deadline in the same run
        assert_eq!(q.len(), 6);
        assert!(q.front_is_timer());
        let got: Vec<_> = std::iter::from_fn(|| q.pop_front()).map(|t| key(&t)).collect();
        let want: Vec<_> = [
            timer(1, 10, 5),
            timer(2, 11, 5),
            Macrotask { seq: Seq(3), kind: MacrotaskKind::Immediate { id: 7 } },
            timer(4, 12, 5),
            timer(6, 13, 5),
            timer(7, 14, 6),
        ]
        .iter()
        .map(key)
        .collect();
        assert_eq!(got, want);
        assert!(q.is_empty());
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn saturated_seqs_repeat_like_seq_next() {
        let mut q = MacroQueue::<()>::default();
        q.push_timer(Seq(u64::MAX - 1), TimerId(1), 0);
        q.push_timer(Seq(u64::MAX), TimerId(2), 0);
        q.push_timer(Seq(u64::MAX), TimerId(3), 0);
        let seqs: Vec<u64> = std::iter::from_fn(|| q.pop_front()).map(|t| t.seq.0).collect();
        assert_eq!(seqs, vec![u64::MAX - 1, u64::MAX, u64::MAX]);
    }

    proptest! {
        /// Against a plain FIFO of macrotasks (MQ-R1).
        #[test]
        fn matches_a_plain_fifo(ops in proptest::collection::vec((0u8..6, 0u64..3), 0..200)) {
            let mut q = MacroQueue::<()>::default();
            let mut model: VecDeque<Macrotask<()>> = VecDeque::new();
            let mut seq = Seq(u64::MAX - 50);
            let mut id = 1;
            for (op, arg) in ops {
                match op {
                    0 | 1 => {
                        q.push_timer(seq, TimerId(id), arg);
                        model.push_back(timer(seq.0, id, arg));
                        id += 1;
                        seq = seq.next();
                    }
                    2 => {
                        let t = Macrotask { seq, kind: MacrotaskKind::Immediate { id } };
                        q.push(t.clone());
                        model.push_back(t);
                        id += 1;
                        seq = seq.next();
                    }
                    3 => seq = seq.next(), // a seq taken by set_timeout
                    // A run of four ids with `arg` of them cancelled (0), at once where the seqs
                    // do not saturate (as the scheduler does).
                    4 if seq.0.checked_add(4).is_some() => {
                        let ids: Vec<u64> = (0..4).map(|i| if i < arg { 0 } else { id + i }).collect();
                        let live = ids.iter().filter(|&&x| x != 0).count();
                        q.push_timers(seq, &ids, live, arg);
                        for &x in ids.iter().filter(|&&x| x != 0) {
                            model.push_back(timer(seq.0, x, arg));
                            seq = seq.next();
                        }
                        id += 4;
                    }
                    _ => {
                        let (a, b) = (q.pop_front(), model.pop_front());
                        prop_assert_eq!(a.as_ref().map(key), b.as_ref().map(key));
                    }
                }
                prop_assert_eq!(q.len(), model.len());
                prop_assert_eq!(q.front_is_timer(),
                    matches!(model.front(), Some(Macrotask { kind: MacrotaskKind::TimerFired { .. }, .. })));
            }
        }
    }
}
