//! Service per user, for Jain's fairness index and the report's Lorenz curve.
//!
//! Users of one class ask for different amounts, so raw throughput is not comparable across
//! them. The index uses each user's *normalised* service: completed / offered (the share of
//! their own demand that was served), the usual choice when demands differ (Jain, Chiu and
//! Hawe, 1984). 1.0 means every user got the same share; 1/n means one user got everything.

use rustc_hash::FxHashMap;

/// Offered and served counts of one user.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserService {
    /// Class index of the user (a user belongs to one group, hence one class).
    pub class: u8,
    /// Requests the user sent.
    pub offered: u64,
    /// Requests completed.
    pub completed: u64,
    /// Tokens (input + output) of completed requests.
    pub tokens: u64,
}

/// Users with ids below this are kept in a vector indexed by id, the rest in a map. Why:
/// scenarios number their users densely from 0, and every request touches its user twice
/// (offered, completed); a slot is cheaper than a hash lookup. At most 16,384 slots of 40
/// bytes (640 KB), and only up to the highest id seen.
const DENSE_USERS: u64 = 1 << 14;

/// Per-user service; memory grows with users, never with duration.
#[derive(Debug, Clone, Default)]
pub struct ServiceByUser {
    /// Users `0..DENSE_USERS`, by id (`None`: not seen).
    dense: Vec<Option<UserService>>,
    /// Users from `DENSE_USERS` on.
    sparse: FxHashMap<u64, UserService>,
}

impl ServiceByUser {
    /// `user` of class `class` sent a request.
    pub fn offered(&mut self, user: u64, class: usize) {
        let entry = self.entry(user);
        entry.class = class as u8;
        entry.offered += 1;
    }

    /// `user` got a completed request worth `tokens`.
    pub fn completed(&mut self, user: u64, tokens: u64) {
        let entry = self.entry(user);
        entry.completed += 1;
        entry.tokens = entry.tokens.saturating_add(tokens);
    }

    fn entry(&mut self, user: u64) -> &mut UserService {
        if user >= DENSE_USERS {
            return self.sparse.entry(user).or_default();
        }
        let index = user as usize;
        if index >= self.dense.len() {
            self.dense.resize(index + 1, None);
        }
        self.dense[index].get_or_insert_default()
    }

    /// Every user, sorted by id (a defined order for output).
    pub fn sorted(&self) -> Vec<(u64, UserService)> {
        let mut sparse: Vec<_> = self.sparse.iter().map(|(&u, &s)| (u, s)).collect();
        sparse.sort_unstable_by_key(|&(u, _)| u);
        // Every dense id is below every sparse one.
        (0..)
            .zip(&self.dense)
            .filter_map(|(u, s)| s.map(|s| (u, s)))
            .chain(sparse)
            .collect()
    }

    /// Jain's index of normalised service over users of `class` (`None`: every class), or
    /// `None` when no user of it offered anything.
    pub fn jain(&self, class: Option<usize>) -> Option<f64> {
        let (mut n, mut sum, mut sum_sq) = (0u64, 0.0f64, 0.0f64);
        // Sorted iteration: float sums must not depend on hash order, or the CSV would not be
        // byte-identical across runs.
        for (_, s) in self.sorted() {
            if s.offered == 0 || class.is_some_and(|c| usize::from(s.class) != c) {
                continue;
            }
            let x = s.completed as f64 / s.offered as f64;
            n += 1;
            sum += x;
            sum_sq += x * x;
        }
        if n == 0 {
            return None;
        }
        if sum_sq == 0.0 {
            // Nobody was served: equally (un)served.
            return Some(1.0);
        }
        Some(sum * sum / (n as f64 * sum_sq))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_shares_are_perfectly_fair() {
        let mut s = ServiceByUser::default();
        for u in 0..4 {
            s.offered(u, 0);
            s.offered(u, 0);
            s.completed(u, 10);
        }
        assert_eq!(s.jain(Some(0)), Some(1.0));
    }

    #[test]
    fn users_on_both_sides_of_the_dense_bound_come_out_sorted_by_id() {
        let mut s = ServiceByUser::default();
        let ids = [
            DENSE_USERS + 7,
            3,
            DENSE_USERS - 1,
            DENSE_USERS,
            0,
            u64::MAX,
        ];
        for (n, &u) in ids.iter().enumerate() {
            s.offered(u, n % 4);
            s.completed(u, n as u64);
        }
        s.offered(3, 1);
        let sorted = s.sorted();
        let mut want = ids.to_vec();
        want.sort_unstable();
        assert_eq!(sorted.iter().map(|&(u, _)| u).collect::<Vec<_>>(), want);
        let three = sorted.iter().find(|&&(u, _)| u == 3).unwrap().1;
        assert_eq!(
            (three.class, three.offered, three.completed, three.tokens),
            (1, 2, 1, 1)
        );
    }

    #[test]
    fn one_user_served_of_four_is_a_quarter() {
        let mut s = ServiceByUser::default();
        for u in 0..4 {
            s.offered(u, 1);
        }
        s.completed(2, 5);
        assert_eq!(s.jain(Some(1)), Some(0.25));
        assert_eq!(s.jain(Some(0)), None);
    }
}
