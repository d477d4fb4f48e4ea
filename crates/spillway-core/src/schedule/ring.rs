//! A FIFO of `Copy` values in a power-of-two buffer: a fair-share class's DRR ring of tenants
//! and its tokens in arrival order.
//!
//! Why not `VecDeque`: the tenant path reads it several times a pop (the front tenant, the
//! tenants ahead for prefetching), and a `VecDeque` maps a position to a slot
//! by compare-and-subtract (its capacity is not a power of two), while here it is a mask.
//! Turning the ring (front member to the back, every visit that cannot pay) is the one
//! operation DRR does most besides reading the front: `VecDeque` does it as `pop_front` plus
//! an out-of-line `push_back`; here it is one copy, or, in a full buffer, only moving the
//! head (the front's slot is the back's).
//!
//! Slots outside the live range keep stale copies (no `MaybeUninit`, no `unsafe`): the
//! buffer is filled with the first value pushed when it grows.

use std::fmt;

/// A FIFO of `Copy` values; see the module docs.
#[derive(Clone)]
pub(crate) struct Ring<T> {
    /// The buffer; its length is 0 or a power of two.
    slots: Vec<T>,
    /// The slot of the front, before masking (wraps freely).
    head: usize,
    /// Values held.
    len: usize,
}

impl<T> Default for Ring<T> {
    fn default() -> Self {
        Ring {
            slots: Vec::new(),
            head: 0,
            len: 0,
        }
    }
}

impl<T: Copy> Ring<T> {
    /// Values held.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// The slot of `position` (counted from the front). Only meaningful with slots allocated.
    #[inline(always)]
    fn slot(&self, position: usize) -> usize {
        self.head.wrapping_add(position) & self.slots.len().wrapping_sub(1)
    }

    /// The value at `position` from the front.
    #[inline]
    pub fn get(&self, position: usize) -> Option<&T> {
        if position < self.len {
            self.slots.get(self.slot(position))
        } else {
            None
        }
    }

    #[inline]
    pub fn front(&self) -> Option<&T> {
        self.get(0)
    }

    /// The back value.
    #[inline]
    pub fn back(&self) -> Option<&T> {
        self.get(self.len.checked_sub(1)?)
    }

    /// Appends `value` at the back.
    #[inline]
    pub fn push_back(&mut self, value: T) {
        if self.len == self.slots.len() {
            self.grow(value);
        }
        let slot = self.slot(self.len);
        if let Some(free) = self.slots.get_mut(slot) {
            *free = value;
            self.len += 1;
        }
    }

    /// Doubles the full buffer (at least 4 slots): its values rotated to its start in order,
    /// the new slots filled with `fill`.
    #[cold]
    fn grow(&mut self, fill: T) {
        let capacity = (2 * self.slots.len()).max(4);
        let front = self.slot(0);
        self.slots.rotate_left(front);
        self.slots.resize(capacity, fill);
        self.head = 0;
    }

    /// Removes and returns the front value.
    #[inline]
    pub fn pop_front(&mut self) -> Option<T> {
        let value = *self.front()?;
        self.head = self.head.wrapping_add(1);
        self.len -= 1;
        Some(value)
    }

    /// Removes and returns the back value.
    #[inline]
    pub fn pop_back(&mut self) -> Option<T> {
        let value = *self.back()?;
        self.len -= 1;
        Some(value)
    }

    /// Moves the front value to the back (nothing if empty). In a full buffer the front's slot
    /// is the one after the back, so only the head moves.
    #[inline]
    pub fn rotate(&mut self) {
        let Some(&front) = self.front() else {
            return;
        };
        if self.len < self.slots.len() {
            let back = self.slot(self.len);
            if let Some(slot) = self.slots.get_mut(back) {
                *slot = front;
            }
        }
        self.head = self.head.wrapping_add(1);
    }

    /// The values, front to back.
    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        (0..self.len).filter_map(|position| self.get(position))
    }

    /// Keeps only the values `keep` accepts, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        let mut kept = 0;
        for position in 0..self.len {
            let Some(&value) = self.get(position) else {
                break;
            };
            if keep(&value) {
                let slot = self.slot(kept);
                if let Some(to) = self.slots.get_mut(slot) {
                    *to = value;
                }
                kept += 1;
            }
        }
        self.len = kept;
    }
}

impl<T: Copy + fmt::Debug> fmt::Debug for Ring<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::Ring;
    use std::collections::VecDeque;

    proptest::proptest! {
        /// Any sequence of operations leaves the ring holding what a `VecDeque` holds, and
        /// every read answers as the `VecDeque`'s does (across growth, wrap-around and full
        /// buffers, where rotation only moves the head).
        #[test]
        fn answers_as_a_vec_deque(ops in proptest::collection::vec((0u8..6, 0u32..1_000), 0..400)) {
            let mut ring = Ring::default();
            let mut model = VecDeque::new();
            for (op, value) in ops {
                match op {
                    0 | 1 => {
                        ring.push_back(value);
                        model.push_back(value);
                    }
                    2 => proptest::prop_assert_eq!(ring.pop_front(), model.pop_front()),
                    3 => proptest::prop_assert_eq!(ring.pop_back(), model.pop_back()),
                    4 => {
                        ring.rotate();
                        model.rotate_left(usize::from(!model.is_empty()));
                    }
                    5 => {
                        ring.retain(|v| v % 3 != value % 3);
                        model.retain(|v| v % 3 != value % 3);
                    }
                    _ => {}
                }
                proptest::prop_assert_eq!(ring.len(), model.len());
                proptest::prop_assert_eq!(ring.front(), model.front());
                proptest::prop_assert_eq!(ring.back(), model.back());
                proptest::prop_assert_eq!(ring.get(1), model.get(1));
                proptest::prop_assert_eq!(ring.get(model.len()), None);
                let held: Vec<u32> = ring.iter().copied().collect();
                proptest::prop_assert_eq!(held, model.iter().copied().collect::<Vec<_>>());
            }
        }
    }
}
