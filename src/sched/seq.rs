//! `Seq`: the monotone sequence number that totally orders everything observable (I5).

use std::fmt;

/// A sequence number. Every timer set, every enqueue and every timer moved to the macrotask
/// queue takes exactly one. `next` saturates at `u64::MAX` instead of wrapping, so order is
/// never inverted (S2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Seq(pub u64);

impl Seq {
    /// The first sequence number.
    pub const ZERO: Seq = Seq(0);

    /// The following sequence number (saturating at `u64::MAX`).
    #[must_use]
    pub fn next(self) -> Seq {
        Seq(self.0.saturating_add(1))
    }

    /// The raw value.
    pub fn value(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "seq:{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn counts_up_from_zero() {
        let a = Seq::ZERO;
        let b = a.next();
        let c = b.next();
        assert_eq!((a.value(), b.value(), c.value()), (0, 1, 2));
        assert!(a < b && b < c);
    }

    #[test]
    fn saturates_at_max() {
        assert_eq!(Seq(u64::MAX).next(), Seq(u64::MAX));
    }

    #[test]
    fn displays_with_prefix() {
        assert_eq!(Seq::ZERO.to_string(), "seq:0");
        assert_eq!(Seq::ZERO.next().to_string(), "seq:1");
    }

    proptest! {
        #[test]
        fn next_is_successor(start in 0u64..u64::MAX - 100) {
            let n = Seq(start).next();
            prop_assert!(n >= Seq(start));
            prop_assert_eq!(n.value(), start + 1);
        }

        #[test]
        fn next_never_panics_near_max(start in u64::MAX - 5..=u64::MAX) {
            prop_assert!(Seq(start).next() >= Seq(start));
        }
    }
}
