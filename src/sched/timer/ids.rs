//! The timer queue's id records (`IdMap`): a window by id and a spill map (B1–B3, W2–W3).

use super::*;

/// Id → [`Rec`] records: a window indexed by `id - base` for the ids the counter handed out
/// recently, and a spill map for every other id. Records are never cleared when a timer fires or
/// is cancelled; a record counts only if it [holds](Store::holds) its id (B1–B3).
#[derive(Debug, Clone, Default)]
pub(super) struct IdMap {
    /// The id of `window[0]`. The window covers `base .. base + len` (wrapping).
    pub(super) base: u64,
    pub(super) window: Vec<Rec>,
    pub(super) spill: FxHashMap<u64, Rec>,
    /// The id after the last spilled insert, and how many spilled inserts in a row were
    /// consecutive ids (the counter running outside the window).
    pub(super) run_next: u64,
    pub(super) run_len: usize,
    /// Inserts recorded in the spill map so far (test diagnostics).
    #[cfg(test)]
    pub(super) spilled: usize,
}

impl IdMap {
    /// The record of `id` if it is live, and whether it is in the spill map.
    #[inline]
    pub(super) fn find(&self, id: u64, store: &Store) -> Option<(Rec, bool)> {
        let off = id.wrapping_sub(self.base);
        if off < self.window.len() as u64 {
            let rec = self.window[off as usize];
            if store.holds(rec, id) {
                return Some((rec, false));
            }
        }
        if self.spill.is_empty() {
            return None;
        }
        self.find_spilled(id, store)
    }

    #[cold]
    pub(super) fn find_spilled(&self, id: u64, store: &Store) -> Option<(Rec, bool)> {
        let &rec = self.spill.get(&id)?;
        store.holds(rec, id).then_some((rec, true))
    }

    /// Records `rec` for `id` (just inserted; `live` timers now).
    #[inline(always)]
    pub(super) fn set(&mut self, id: u64, rec: Rec, live: usize, store: &Store) {
        let len = self.window.len();
        // The counter's next id, with room and no sweep due: the common case, kept small so it
        // inlines into the insert path.
        if id.wrapping_sub(self.base) == len as u64
            && len != 0
            && len < self.window.capacity()
            && len < 2 * live + SLACK
        {
            self.window.push(rec);
        } else {
            self.set_slow(id, rec, live, store);
        }
    }

    #[inline(never)]
    pub(super) fn set_slow(&mut self, id: u64, rec: Rec, live: usize, store: &Store) {
        let len = self.window.len() as u64;
        let off = id.wrapping_sub(self.base);
        if off < len {
            self.window[off as usize] = rec;
        } else if off - len <= MAX_GAP || len == 0 {
            if len == 0 {
                self.base = id;
                reserve(&mut self.window, 1);
            } else {
                reserve(&mut self.window, (off - len) as usize + 1);
                self.window.resize(off as usize, NO_REC);
            }
            self.window.push(rec);
            if self.window.len() > 2 * live + SLACK {
                self.sweep(live, store);
            }
        } else {
            self.spill_insert(id, rec, live, store);
        }
    }

    #[cold]
    pub(super) fn spill_insert(&mut self, id: u64, rec: Rec, live: usize, store: &Store) {
        self.spill.insert(id, rec);
        #[cfg(test)]
        {
            self.spilled += 1;
        }
        self.run_len = if id == self.run_next { self.run_len + 1 } else { 1 };
        self.run_next = id.wrapping_add(1);
        if self.run_len > self.window.len() + SLACK / 2 {
            // The counter runs outside the window (it wrapped, or jumped): move the window's live
            // records to the spill map; the next insert starts a new window.
            hit!("window_flush");
            self.drop_front(self.window.len(), store);
            self.run_len = 0;
        }
        self.sweep_spill(live, store);
    }

    /// Drops the window's first `k` records, moving those that still hold their id to the spill map.
    pub(super) fn drop_front(&mut self, k: usize, store: &Store) {
        for (i, &rec) in self.window[..k].iter().enumerate() {
            let id = self.base.wrapping_add(i as u64);
            if store.holds(rec, id) {
                self.spill.insert(id, rec);
            }
        }
        self.window.drain(..k);
        self.base = self.base.wrapping_add(k as u64);
    }

    /// Shortens the window to `live + SLACK / 2` records (W2).
    #[cold]
    pub(super) fn sweep(&mut self, live: usize, store: &Store) {
        hit!("window_sweep");
        let k = self.window.len().saturating_sub(live + SLACK / 2);
        self.drop_front(k, store);
        if self.window.capacity() > 4 * self.window.len() + 4 * SLACK {
            self.window.shrink_to(2 * self.window.len() + SLACK);
        }
        self.sweep_spill(live, store);
    }

    /// Drops stale spill records once they could outnumber the live ones (W3).
    pub(super) fn sweep_spill(&mut self, live: usize, store: &Store) {
        if self.spill.len() > 2 * live + SLACK {
            hit!("spill_sweep");
            self.spill.retain(|&id, rec| store.holds(*rec, id));
            if self.spill.capacity() > 4 * self.spill.len() + 4 * SLACK {
                self.spill.shrink_to(2 * self.spill.len() + SLACK);
            }
        }
    }

    /// `id`, live at `from`, moved to `to` (bucket compaction, renumbering): updates whichever
    /// record holds it.
    pub(super) fn relocate(&mut self, id: u64, from: Rec, to: Rec) {
        let off = id.wrapping_sub(self.base);
        match self.window.get_mut(usize::try_from(off).unwrap_or(usize::MAX)) {
            Some(rec) if *rec == from => *rec = to,
            _ => {
                self.spill.insert(id, to);
            }
        }
    }

    /// Forgets every record (no timer is live).
    pub(super) fn clear(&mut self) {
        self.window.clear();
        if self.spill.capacity() > 4 * SLACK {
            self.spill = FxHashMap::default();
        } else {
            self.spill.clear();
        }
        self.run_len = 0;
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.window.capacity() * std::mem::size_of::<Rec>()
            + self.spill.capacity() * (std::mem::size_of::<(u64, Rec)>() + 1)
    }
}
