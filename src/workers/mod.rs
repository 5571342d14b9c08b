//! The mesh across threads: key-affine shards on worker threads, bounded SPSC lanes in both
//! directions and message bodies in shared NUMA slab memory (API.md §8, docs/workers.md).
//!
//! # What it owns
//! - [`Hub`]: everything the main thread and the shard threads share: per shard a *down* lane
//!   (main → shard) and an *up* lane (shard → main), each an [`rtrb`] ring of [`Msg`]s, the
//!   [`SlotPool`] the message bodies live in, the wake-up [`Signal`]s, sequence counters,
//!   undelivered messages of exited shards and, when recording, the handled sequence.
//! - [`slots`]: the slot partitions and their ownership table.
//! - [`Key`]: a message key, inline up to 22 bytes.
//!
//! A hub is napi-free: the binding creates one per `ShardedWorkers`, registers it by id so each
//! worker thread's addon instance can attach to the same `Arc`, and turns its results into JS.
//!
//! # Algorithm
//! Lanes are rtrb's wait-free bounded SPSC rings (Lamport's ring with cached indices). Each end
//! sits behind an uncontended mutex (locked once per batch) only so that a shard's lanes can be
//! drained by the main thread after that shard's thread has exited. A consumer never spins: it
//! drains in batches and, when a lane is empty, *parks* ([`Signal`]): it raises its idle flag,
//! then looks at the lane once more; a producer that pushes and then finds the flag raised
//! lowers it and wakes the consumer (a libuv async handle behind a napi threadsafe function).
//! Both sides put a SeqCst fence between their store and their load (Dekker), so at least one of
//! them sees the other: a wake-up is never lost, and a burst costs one wake-up.
//!
//! # Invariants
//! - W1 (ownership moves with the message): a slot is owned by the sender until its push, by the
//!   receiver from then on (slots P1); a full lane leaves the slot with the sender.
//! - W2 (nothing lost): a message is in exactly one place: a lane, a consumer's `taken` list
//!   (popped, handler not finished), the undelivered list, or handled (its slot freed or
//!   retained). Reclaiming an exited shard moves its lane and `taken` messages to undelivered.
//! - W3 (order): one lane per (shard, direction), FIFO; the down lane of a key is fixed by
//!   FNV-1a 64 of the key modulo the shard count, so a key's messages are handled in send order.
//!   `global_seq` is one counter per direction, `shard_seq` one per lane.
//! - W4 (no lost wake-up): see Algorithm; [`Signal::park`] returns false when work arrived
//!   while parking, and the consumer keeps draining.

pub mod slots;

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use rtrb::{Consumer, Producer, RingBuffer};
use serde_json::json;

use crate::mesh::route::{fnv1a64, hash_route};
use crate::sched::{DeterministicClock, Scheduler, Trace};
use crate::slab::SlabError;
use crate::topo::affinity::{bind_current_thread, AffinityEnforcement, ThreadAffinityAdvice};
use crate::topo::hugepage::HugepageConfig;
use crate::topo::{PlacementManifest, ShardId};
pub use slots::{Direction, Owner, SlotPool, SlotRef};

/// Locks a mutex, ignoring poisoning (no code panics while holding these locks; a poisoned
/// lock would only mean a bug elsewhere, and its data is still consistent).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A message key: UTF-8 bytes, inline up to 22 bytes (no allocation for typical keys).
#[derive(Clone, PartialEq, Eq)]
pub enum Key {
    /// Up to 22 bytes.
    Inline(u8, [u8; 22]),
    /// Longer keys.
    Heap(Box<str>),
}

impl Key {
    /// The key of `s`.
    pub fn new(s: &str) -> Self {
        if s.len() <= 22 {
            let mut buf = [0u8; 22];
            buf[..s.len()].copy_from_slice(s.as_bytes());
            Key::Inline(s.len() as u8, buf)
        } else {
            Key::Heap(s.into())
        }
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        match self {
            // Built from a `&str` prefix of exactly `len` bytes, so it is valid UTF-8.
            Key::Inline(len, buf) => std::str::from_utf8(&buf[..*len as usize]).unwrap_or(""),
            Key::Heap(s) => s,
        }
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// One message in a lane: its key, its slot, how many bytes of the slot it uses, its seqs.
#[derive(Debug, Clone)]
pub struct Msg {
    /// The routing key.
    pub key: Key,
    /// The slot holding the body.
    pub slot: SlotRef,
    /// Body length in bytes (<= entry size).
    pub len: u32,
    /// Position among all messages of this direction (W3).
    pub global_seq: u64,
    /// Position among the messages of this lane (W3).
    pub shard_seq: u64,
}

/// A message handed back after its shard exited (W2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undelivered {
    /// Its key.
    pub key: String,
    /// A copy of its body.
    pub bytes: Vec<u8>,
    /// Its global seq.
    pub global_seq: u64,
}

/// One handled (or sent) message as recorded for traces.
#[derive(Debug, Clone)]
pub struct Record {
    shard: u32,
    key: Key,
    global_seq: u64,
    shard_seq: u64,
    len: u32,
    body: u64,
}

/// Errors of hub operations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HubError {
    /// The lane (or the lane's slot partition) is full; nothing was sent.
    #[error("shard {shard} lane is full ({depth}/{capacity})")]
    Backpressure {
        /// The shard.
        shard: u32,
        /// Messages in the lane.
        depth: usize,
        /// The lane's capacity.
        capacity: usize,
    },
    /// The slot is not live, or not owned by the sender.
    #[error("the slot is not owned by the sender (stale, already sent or freed)")]
    NotOwned,
    /// A body longer than a slot.
    #[error("a message of {len} bytes does not fit a {entry}-byte slot")]
    TooLong {
        /// The body length.
        len: usize,
        /// The slot size.
        entry: usize,
    },
    /// The hub is closed.
    #[error("the workers are closed")]
    Closed,
}

/// How a hub is set up.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Where each shard runs (and its memory lives).
    pub placement: PlacementManifest,
    /// Messages per lane.
    pub lane_capacity: usize,
    /// Slots per partition (two partitions per shard).
    pub slab_capacity: u32,
    /// Bytes per slot.
    pub entry_size: usize,
    /// Keep the handled and sent sequences for traces.
    pub record: bool,
    /// Hugepage preference of the regions.
    pub hugepages: HugepageConfig,
}

/// Wakes a parked consumer (the binding's threadsafe function). Called from any thread.
pub type Wake = Box<dyn Fn() + Send>;

/// A consumer's park/wake state (W4).
pub struct Signal {
    idle: AtomicBool,
    wake: Mutex<Option<Wake>>,
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal").field("idle", &self.idle.load(Ordering::Relaxed)).finish()
    }
}

impl Default for Signal {
    fn default() -> Self {
        Self { idle: AtomicBool::new(true), wake: Mutex::new(None) }
    }
}

impl Signal {
    /// Installs (or removes) the consumer's wake-up.
    pub fn set_wake(&self, wake: Option<Wake>) {
        *lock(&self.wake) = wake;
    }

    /// Producer side, after a push: wakes the consumer if it parked (W4).
    pub fn notify(&self) {
        // SeqCst fence: pairs with the fence in `park`; orders the lane push before the flag load.
        fence(Ordering::SeqCst);
        if self.idle.load(Ordering::Relaxed) && self.idle.swap(false, Ordering::AcqRel) {
            if let Some(w) = &*lock(&self.wake) {
                w();
            }
        }
    }

    /// Consumer side, with its lane seen empty: raises the idle flag and checks `empty` again.
    /// True: parked (a later push wakes it). False: work arrived meanwhile; keep draining.
    pub fn park(&self, empty: impl FnOnce() -> bool) -> bool {
        self.idle.store(true, Ordering::Relaxed);
        // SeqCst fence: pairs with the fence in `notify`; orders the flag store before the
        // lane load.
        fence(Ordering::SeqCst);
        if empty() {
            return true;
        }
        self.idle.store(false, Ordering::Relaxed);
        false
    }

    /// Whether the consumer is parked.
    pub fn is_idle(&self) -> bool {
        self.idle.load(Ordering::Relaxed)
    }
}

/// One direction of one shard.
struct Lane {
    tx: Mutex<Producer<Msg>>,
    rx: Mutex<Consumer<Msg>>,
    /// Popped, handler not finished (W2).
    taken: Mutex<VecDeque<Msg>>,
    signal: Signal,
    next_shard_seq: AtomicU64,
    max_depth: AtomicUsize,
    rejected: AtomicU64,
    handled: AtomicU64,
    log: Mutex<Vec<Record>>,
}

impl Lane {
    fn new(capacity: usize) -> Self {
        let (tx, rx) = RingBuffer::new(capacity);
        Self {
            tx: Mutex::new(tx),
            rx: Mutex::new(rx),
            taken: Mutex::new(VecDeque::new()),
            signal: Signal::default(),
            next_shard_seq: AtomicU64::new(0),
            max_depth: AtomicUsize::new(0),
            rejected: AtomicU64::new(0),
            handled: AtomicU64::new(0),
            log: Mutex::new(Vec::new()),
        }
    }
}

struct ShardLanes {
    down: Lane,
    up: Lane,
    undelivered: Mutex<Vec<Undelivered>>,
}

/// Everything the threads of one `ShardedWorkers` share (W1–W4).
pub struct Hub {
    config: HubConfig,
    slots: SlotPool,
    shards: Vec<ShardLanes>,
    /// Per direction: the next global seq.
    next_global: [AtomicU64; 2],
    /// The producer's send log (down direction) when recording.
    sent: Mutex<Vec<Record>>,
    closed: AtomicBool,
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hub").field("shards", &self.shards.len()).finish()
    }
}

/// What [`Hub::pin_current_thread`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pinning {
    /// Bound to the planned core and running on it.
    pub pinned: bool,
    /// The CPU the thread ran on right after binding (`sched_getcpu`).
    pub cpu: Option<u32>,
    /// Why not pinned.
    pub reason: Option<String>,
}

fn dir_index(dir: Direction) -> usize {
    usize::from(dir == Direction::Up)
}

impl Hub {
    /// A hub for `config.placement.shard_count()` shards.
    ///
    /// # Errors
    /// [`SlabError`] when the slot regions cannot be made.
    pub fn new(config: HubConfig) -> Result<Self, SlabError> {
        let n = config.placement.shard_count().max(1);
        let nodes: Vec<_> = (0..n)
            .map(|s| config.placement.numa_node_for_shard(ShardId(s as u32)).unwrap_or_default())
            .collect();
        let slots = SlotPool::new(&nodes, config.slab_capacity, config.entry_size, &config.hugepages)?;
        let cap = config.lane_capacity.max(1);
        let shards = (0..n)
            .map(|_| ShardLanes {
                down: Lane::new(cap),
                up: Lane::new(cap),
                undelivered: Mutex::new(Vec::new()),
            })
            .collect();
        Ok(Self {
            config,
            slots,
            shards,
            next_global: [AtomicU64::new(0), AtomicU64::new(0)],
            sent: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &HubConfig {
        &self.config
    }

    /// Number of shards.
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// The slots.
    pub fn slots(&self) -> &SlotPool {
        &self.slots
    }

    /// The shard of `key` (FNV-1a 64 of its UTF-8 bytes modulo the shard count, as the mesh).
    pub fn shard_for(&self, key: &str) -> usize {
        hash_route(key, self.shards.len()).0 as usize
    }

    fn lane(&self, dir: Direction, shard: usize) -> &Lane {
        let s = &self.shards[shard];
        match dir {
            Direction::Down => &s.down,
            Direction::Up => &s.up,
        }
    }

    /// Who sends on `dir`, and who receives.
    fn ends(dir: Direction) -> (Owner, Owner) {
        match dir {
            Direction::Down => (Owner::Main, Owner::Shard),
            Direction::Up => (Owner::Shard, Owner::Main),
        }
    }

    /// Marks the hub closed: later sends from the main thread fail with [`HubError::Closed`]
    /// (shards may still send back while they drain).
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    /// Whether [`Hub::close`] was called.
    pub fn is_closed(&self) -> bool {
        // Acquire: pairs with the Release store in `close`.
        self.closed.load(Ordering::Acquire)
    }

    /// A slot for the sender of `dir` on `shard`'s lane, `None` when its partition is full.
    pub fn allocate(&self, dir: Direction, shard: usize) -> Option<SlotRef> {
        let part = SlotRef::part_of(shard, dir);
        self.slots.lock(part)?.allocate(part, Self::ends(dir).0)
    }

    /// Frees a slot the sender of `dir` allocated and did not send (or the receiver kept).
    pub fn free(&self, slot: &SlotRef, owner: Owner) -> bool {
        self.slots.lock(slot.part).is_some_and(|mut g| g.free(slot, owner))
    }

    /// What a collected view's finalizer frees: like [`Hub::free`], except a slot whose message
    /// is still taken (its handler has not been completed) stays: that message belongs to the
    /// lane until `complete` or `reclaim` (a worker torn down mid-handler finalizes its views
    /// before `reclaim` hands the message back with its body).
    pub fn free_collected(&self, slot: &SlotRef, owner: Owner) -> bool {
        let shard = (slot.part / 2) as usize;
        if shard >= self.shards.len() {
            return false;
        }
        let dir = if slot.part % 2 == 0 { Direction::Down } else { Direction::Up };
        let taken = lock(&self.lane(dir, shard).taken);
        if taken.iter().any(|m| m.slot == *slot) {
            return false;
        }
        self.free(slot, owner)
    }

    /// Whether `slot` is live and owned by `owner`.
    pub fn owns(&self, slot: &SlotRef, owner: Owner) -> bool {
        self.slots.lock(slot.part).is_some_and(|g| g.owns(slot, owner))
    }

    fn backpressure(&self, dir: Direction, shard: usize, tx: &Producer<Msg>) -> HubError {
        let lane = self.lane(dir, shard);
        lane.rejected.fetch_add(1, Ordering::Relaxed);
        HubError::Backpressure {
            shard: shard as u32,
            depth: tx.buffer().capacity() - tx.slots(),
            capacity: tx.buffer().capacity(),
        }
    }

    /// Appends `m` to a trace log. `body` is the FNV-1a of its bytes, read from the slot (which
    /// `owner` holds) when not given; the caller holds no partition lock then.
    fn record(&self, log: &Mutex<Vec<Record>>, shard: usize, m: &Msg, body: Option<u64>, owner: Owner) {
        let body = body
            .or_else(|| self.slots.read(&m.slot, owner, m.len as usize).map(|b| fnv1a64(&b)))
            .unwrap_or(0);
        lock(log).push(Record {
            shard: shard as u32,
            key: m.key.clone(),
            global_seq: m.global_seq,
            shard_seq: m.shard_seq,
            len: m.len,
            body,
        });
    }

    /// Sends an owned slot of `shard`'s `dir` partition (W1). A full lane, a closed hub or a
    /// slot the sender does not own changes nothing.
    ///
    /// # Errors
    /// [`HubError::Backpressure`], [`HubError::NotOwned`], [`HubError::TooLong`], [`HubError::Closed`].
    pub fn send(
        &self,
        dir: Direction,
        shard: usize,
        key: Key,
        slot: SlotRef,
        len: usize,
    ) -> Result<Msg, HubError> {
        if dir == Direction::Down && self.is_closed() {
            return Err(HubError::Closed);
        }
        if len > self.slots.entry_size() {
            return Err(HubError::TooLong { len, entry: self.slots.entry_size() });
        }
        if slot.part != SlotRef::part_of(shard, dir) {
            return Err(HubError::NotOwned);
        }
        let lane = self.lane(dir, shard);
        let mut tx = lock(&lane.tx);
        if tx.slots() == 0 {
            return Err(self.backpressure(dir, shard, &tx));
        }
        let (from, to) = Self::ends(dir);
        if !self.slots.lock(slot.part).is_some_and(|mut g| g.transfer(&slot, from, to)) {
            return Err(HubError::NotOwned);
        }
        let fnv = if self.config.record && dir == Direction::Down {
            self.slots.read(&slot, to, len).map(|b| fnv1a64(&b))
        } else {
            None
        };
        let msg = self.push(dir, shard, &mut tx, key, slot, len as u32, fnv);
        drop(tx);
        lane.signal.notify();
        Ok(msg)
    }

    /// Pushes into a lane known to have room (the caller holds its producer).
    #[expect(clippy::too_many_arguments, reason = "one private call shape for send and send_batch")]
    fn push(
        &self,
        dir: Direction,
        shard: usize,
        tx: &mut Producer<Msg>,
        key: Key,
        slot: SlotRef,
        len: u32,
        fnv: Option<u64>,
    ) -> Msg {
        let lane = self.lane(dir, shard);
        let msg = Msg {
            key,
            slot,
            len,
            global_seq: self.next_global[dir_index(dir)].fetch_add(1, Ordering::Relaxed),
            shard_seq: lane.next_shard_seq.fetch_add(1, Ordering::Relaxed),
        };
        if self.config.record && dir == Direction::Down {
            self.record(&self.sent, shard, &msg, Some(fnv.unwrap_or(0)), Owner::Shard);
        }
        // `cached_slots` never reads the consumer's index: an upper bound of the room, so this is
        // a lower bound of the depth (exact whenever the lane was last seen full).
        let depth = tx.buffer().capacity() - tx.cached_slots() + 1;
        if depth > lane.max_depth.load(Ordering::Relaxed) {
            lane.max_depth.fetch_max(depth, Ordering::Relaxed);
        }
        // Cannot fail: the caller checked `slots() > 0` under the producer lock, and only the
        // consumer (which frees room) touches the ring meanwhile.
        let _ = tx.push(msg.clone());
        msg
    }

    /// Copies `bytes` into a fresh slot of `shard`'s `dir` partition and sends it.
    ///
    /// # Errors
    /// As [`Hub::send`]; a full partition is [`HubError::Backpressure`] too.
    pub fn send_bytes(&self, dir: Direction, shard: usize, key: Key, bytes: &[u8]) -> Result<Msg, HubError> {
        let mut n = 0;
        let mut out = None;
        let r = self.send_batch(dir, std::iter::once((shard, key, bytes)), |m| {
            n += 1;
            out = Some(m.clone());
        });
        match (r, out) {
            (Ok(_), Some(m)) => Ok(m),
            (Err(e), _) => Err(e),
            (Ok(_), None) => Err(HubError::Closed),
        }
    }

    /// Sends each `(shard, key, body)` in order, copying bodies into fresh slots; stops at the
    /// first full lane or partition. Returns how many were sent (`Err` only when none was and
    /// the first failed). Each shard's lane and partition are locked once per call, and each
    /// consumer woken once.
    ///
    /// # Errors
    /// The first message's [`HubError`] when nothing was sent.
    pub fn send_batch<'b>(
        &self,
        dir: Direction,
        items: impl Iterator<Item = (usize, Key, &'b [u8])>,
        mut sent: impl FnMut(&Msg),
    ) -> Result<usize, HubError> {
        if dir == Direction::Down && self.is_closed() {
            return Err(HubError::Closed);
        }
        let n = self.shards.len();
        let mut txs: Vec<Option<MutexGuard<'_, Producer<Msg>>>> = (0..n).map(|_| None).collect();
        // Free room per lane, read from the consumer's index only when the cached count runs
        // out (each read is a cache miss on the consumer's line).
        let mut room = vec![0usize; n];
        let (from, to) = Self::ends(dir);
        let mut count = 0;
        let mut result = Ok(0);
        for (shard, key, body) in items {
            if body.len() > self.slots.entry_size() {
                result = Err(HubError::TooLong { len: body.len(), entry: self.slots.entry_size() });
                break;
            }
            let lane = self.lane(dir, shard);
            let tx = txs[shard].get_or_insert_with(|| lock(&lane.tx));
            if room[shard] == 0 {
                room[shard] = tx.slots();
                if room[shard] == 0 {
                    result = Err(self.backpressure(dir, shard, tx));
                    break;
                }
            }
            // The partition is locked per message, not per batch: the consumer frees slots of
            // the same partition meanwhile and must not wait for the whole batch.
            let part = SlotRef::part_of(shard, dir);
            let Some(mut g) = self.slots.lock(part) else { break };
            let Some(slot) = g.allocate(part, from) else {
                result = Err(self.backpressure(dir, shard, tx));
                break;
            };
            self.slots.write(&g, &slot, from, body);
            g.transfer(&slot, from, to);
            drop(g);
            let fnv = self.config.record.then(|| fnv1a64(body));
            let msg = self.push(dir, shard, tx, key, slot, body.len() as u32, fnv);
            room[shard] -= 1;
            sent(&msg);
            count += 1;
        }
        for (shard, tx) in txs.into_iter().enumerate() {
            if let Some(tx) = tx {
                drop(tx);
                self.lane(dir, shard).signal.notify();
            }
        }
        match result {
            Err(e) if count == 0 => Err(e),
            _ => Ok(count),
        }
    }

    /// Consumer side: makes sure the `taken` list of `shard`'s `dir` lane holds up to `max`
    /// messages (popping the lane) and returns the length of the leading run of consecutive
    /// slots (`f` sees that run). 0 means the lane is empty and the consumer parked; if work
    /// arrived while parking, the run is taken instead (W4).
    pub fn take<R>(
        &self,
        dir: Direction,
        shard: usize,
        max: usize,
        f: impl FnOnce(&[Msg]) -> R,
    ) -> Option<R> {
        let lane = self.lane(dir, shard);
        let mut taken = lock(&lane.taken);
        if taken.is_empty() {
            let mut rx = lock(&lane.rx);
            loop {
                let avail = rx.slots().min(max.max(1));
                if avail > 0 {
                    if let Ok(chunk) = rx.read_chunk(avail) {
                        taken.extend(chunk);
                    }
                    break;
                }
                if lane.signal.park(|| rx.is_empty()) {
                    return None;
                }
            }
        }
        let (a, _) = taken.as_slices();
        let first: &[Msg] = if a.is_empty() { taken.make_contiguous() } else { a };
        let refs: Vec<SlotRef> = first.iter().map(|m| m.slot).collect();
        let run = SlotPool::run_len(&refs);
        Some(f(&first[..run]))
    }

    /// Consumer side: the first `n` taken messages are handled. Their slots are freed except
    /// those for which `retain(i)` is true (they stay the receiver's until [`Hub::free`]).
    pub fn complete(&self, dir: Direction, shard: usize, n: usize, retain: impl Fn(usize) -> bool) -> usize {
        let lane = self.lane(dir, shard);
        let (_, receiver) = Self::ends(dir);
        let mut taken = lock(&lane.taken);
        let n = n.min(taken.len());
        if self.config.record && dir == Direction::Down {
            for m in taken.iter().take(n) {
                self.record(&lane.log, shard, m, None, receiver);
            }
        }
        let mut guard: Option<(u32, slots::PartGuard<'_>)> = None;
        for (i, m) in taken.drain(..n).enumerate() {
            if retain(i) {
                continue;
            }
            if guard.as_ref().is_none_or(|(p, _)| *p != m.slot.part) {
                guard = self.slots.lock(m.slot.part).map(|g| (m.slot.part, g));
            }
            if let Some((_, g)) = guard.as_mut() {
                g.free(&m.slot, receiver);
            }
        }
        lane.handled.fetch_add(n as u64, Ordering::Relaxed);
        n
    }

    /// Installs the wake-up of the consumer of `shard`'s `dir` lane.
    pub fn set_wake(&self, dir: Direction, shard: usize, wake: Option<Wake>) {
        if let Some(s) = self.shards.get(shard) {
            let lane = if dir == Direction::Down { &s.down } else { &s.up };
            lane.signal.set_wake(wake);
        }
    }

    /// After `shard`'s thread exited: moves its down lane and taken messages to undelivered,
    /// frees every slot it held, and readies its lanes for a restart (W2). Returns how many
    /// messages were handed back.
    pub fn reclaim(&self, shard: usize) -> usize {
        let Some(s) = self.shards.get(shard) else { return 0 };
        let mut back = Vec::new();
        {
            let mut taken = lock(&s.down.taken);
            let mut rx = lock(&s.down.rx);
            let pending: Vec<Msg> = taken.drain(..).chain(std::iter::from_fn(|| rx.pop().ok())).collect();
            for m in pending {
                let bytes = self.slots.read(&m.slot, Owner::Shard, m.len as usize).unwrap_or_default();
                back.push(Undelivered { key: m.key.as_str().to_owned(), bytes, global_seq: m.global_seq });
            }
        }
        self.slots.free_owned_by(SlotRef::part_of(shard, Direction::Down), Owner::Shard);
        self.slots.free_owned_by(SlotRef::part_of(shard, Direction::Up), Owner::Shard);
        s.down.signal.set_wake(None);
        s.down.signal.idle.store(true, Ordering::Relaxed);
        let n = back.len();
        lock(&s.undelivered).extend(back);
        n
    }

    /// Takes the messages handed back for `shard`.
    pub fn take_undelivered(&self, shard: usize) -> Vec<Undelivered> {
        self.shards.get(shard).map(|s| std::mem::take(&mut *lock(&s.undelivered))).unwrap_or_default()
    }

    /// Messages waiting in `shard`'s `dir` lane (taken ones included).
    pub fn depth(&self, dir: Direction, shard: usize) -> usize {
        let lane = self.lane(dir, shard);
        let tx = lock(&lane.tx);
        tx.buffer().capacity() - tx.slots() + lock(&lane.taken).len()
    }

    /// Largest depth seen, rejected sends and handled messages of `shard`'s `dir` lane.
    pub fn lane_counters(&self, dir: Direction, shard: usize) -> (usize, u64, u64) {
        let l = self.lane(dir, shard);
        (
            l.max_depth.load(Ordering::Relaxed),
            l.rejected.load(Ordering::Relaxed),
            l.handled.load(Ordering::Relaxed),
        )
    }

    /// The recorded trace of `shard`'s handled sequence (`Some(shard)`) or of the producer's
    /// sends (`None`), as a scheduler trace that `replay` accepts: one inbound event per
    /// message (`event_id` = key, payload = shard, seqs, length and FNV-1a of the body),
    /// dispatched in handled (or sent) order.
    pub fn trace(&self, shard: Option<usize>) -> Option<Trace> {
        if !self.config.record {
            return None;
        }
        let records = match shard {
            Some(s) => lock(&self.shards.get(s)?.down.log).clone(),
            None => lock(&self.sent).clone(),
        };
        trace_of(&records)
    }

    /// Binds the calling thread to `shard`'s planned core (strict `enforcement`) and checks
    /// with `sched_getcpu` that it runs there.
    pub fn pin_current_thread(&self, shard: usize, enforcement: AffinityEnforcement) -> Pinning {
        let advice = self.config.placement.affinity_advice(enforcement);
        let Some(a): Option<&ThreadAffinityAdvice> = advice.get(shard) else {
            return Pinning { pinned: false, cpu: None, reason: Some("no such shard".into()) };
        };
        let out = bind_current_thread(a);
        // SAFETY: sched_getcpu has no preconditions; -1 means unsupported.
        let cpu = u32::try_from(unsafe { libc::sched_getcpu() }).ok();
        if !out.applied {
            return Pinning { pinned: false, cpu, reason: out.reason };
        }
        if cpu.map(u64::from) != Some(a.recommended_core.0) {
            return Pinning {
                pinned: false,
                cpu,
                reason: Some(format!("bound to core {} but running on cpu {cpu:?}", a.recommended_core.0)),
            };
        }
        Pinning { pinned: true, cpu, reason: None }
    }
}

/// A scheduler trace of `records`, one inbound event each (see [`Hub::trace`]).
fn trace_of(records: &[Record]) -> Option<Trace> {
    let mut s: Scheduler<serde_json::Value> = Scheduler::new(DeterministicClock::new(0)).with_recording(true);
    for r in records {
        s.enqueue_event(
            r.key.as_str(),
            json!({
                "shard": r.shard,
                "globalSeq": r.global_seq,
                "shardSeq": r.shard_seq,
                "len": r.len,
                "fnv": format!("{:016x}", r.body),
            }),
        );
        s.tick();
    }
    s.trace()
}

#[cfg(test)]
mod tests;
