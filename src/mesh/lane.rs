//! `Lane`: one shard's bounded FIFO.
//!
//! The mesh is driven from one thread (the JS thread that owns it), so a lane is a plain
//! single-threaded ring (`VecDeque`) with a capacity check: no atomics and no `unsafe`. Both
//! ends live in one value, made by [`bounded`].
//!
//! Invariants (L1–L3):
//! - L1: `len() <= capacity()` at all times; a push onto a full lane hands the item back.
//! - L2: FIFO: `pop` returns items in push order.
//! - L3: `high_water()` is the largest `len()` ever reached; it never goes down.

use std::collections::VecDeque;

/// A bounded FIFO of `T`.
#[derive(Debug, Clone)]
pub struct Lane<T> {
    buf: VecDeque<T>,
    capacity: usize,
    high_water: usize,
}

/// An empty lane holding at most `capacity` items (0 is clamped to 1). Nothing is allocated
/// until the first push and the ring grows on demand, so a large capacity or many lanes cost
/// memory only for what is actually queued (the ring keeps its size after draining).
pub fn bounded<T>(capacity: usize) -> Lane<T> {
    Lane { buf: VecDeque::new(), capacity: capacity.max(1), high_water: 0 }
}

impl<T> Lane<T> {
    /// Appends `item` and returns a reference to it where it now sits.
    ///
    /// # Errors
    /// The item itself when the lane is full (L1); nothing queued is touched.
    pub fn push(&mut self, item: T) -> Result<&T, T> {
        if self.buf.len() >= self.capacity {
            return Err(item);
        }
        self.buf.push_back(item);
        self.high_water = self.high_water.max(self.buf.len());
        // The push above made the deque non-empty, so `len() - 1` is in bounds.
        Ok(&self.buf[self.buf.len() - 1])
    }

    /// Removes the oldest item (L2).
    pub fn pop(&mut self) -> Option<T> {
        self.buf.pop_front()
    }

    /// The oldest item, without removing it.
    pub fn front(&self) -> Option<&T> {
        self.buf.front()
    }

    /// Items queued.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The most items the lane holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The largest length ever reached (L3).
    pub fn high_water(&self) -> usize {
        self.high_water
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn zero_capacity_is_one() {
        let mut l = bounded(0);
        assert_eq!(l.capacity(), 1);
        assert_eq!(l.push(1), Ok(&1));
        assert_eq!(l.push(2), Err(2));
    }

    proptest! {
        // The lane against a VecDeque model with an explicit bound (L1–L3).
        #[test]
        fn behaves_like_a_bounded_deque(cap in 1usize..8, ops in proptest::collection::vec(any::<Option<u8>>(), 0..200)) {
            let mut lane = bounded(cap);
            let mut model = VecDeque::new();
            let mut hw = 0;
            for op in ops {
                match op {
                    Some(v) => {
                        let r = lane.push(v).copied();
                        if model.len() < cap {
                            model.push_back(v);
                            prop_assert_eq!(r, Ok(v));
                        } else {
                            prop_assert_eq!(r, Err(v));
                        }
                    }
                    None => prop_assert_eq!(lane.pop(), model.pop_front()),
                }
                hw = hw.max(model.len());
                prop_assert_eq!(lane.len(), model.len());
                prop_assert_eq!(lane.front(), model.front());
                prop_assert_eq!(lane.high_water(), hw);
                prop_assert!(lane.len() <= lane.capacity());
            }
        }
    }
}
