//! Lists of known names in "no X is named `y`" errors, kept short: the few closest to the name
//! written, then how many more. Why: every such error listed every name, so a file with
//! thousands of names and as many wrong references printed a quadratic amount of text.

/// Most names a list shows.
pub const SHOWN_NAMES: usize = 5;

/// Characters of each name compared: the distance is quadratic in them.
const COMPARED_CHARS: usize = 16;

/// Longer lists are not ranked (their first names are shown): ranking costs a distance per
/// name for each error, and a file may hold many of both.
const MAX_RANKED: usize = 4_096;

/// `known` joined by `, ` when there are at most `SHOWN_NAMES` (5); else the closest to `name`
/// (fewest edits, file order on ties; the first in file order past `MAX_RANKED` (4,096) names) and
/// `… N more`.
pub fn closest_names(name: &str, known: &[&str]) -> String {
    if known.len() <= SHOWN_NAMES {
        return known.join(", ");
    }
    let shown: Vec<&str> = if known.len() <= MAX_RANKED {
        closest(name, known).into_iter().map(|i| known[i]).collect()
    } else {
        known[..SHOWN_NAMES].to_vec()
    };
    format!("{} … {} more", shown.join(", "), known.len() - SHOWN_NAMES)
}

/// The indices of the [`SHOWN_NAMES`] names in `known` closest to `name`, closest first (file
/// order on ties). Only the best so far are kept while scanning, in order: beyond the distances
/// themselves, the work and memory are bounded by [`SHOWN_NAMES`], not by the list (sorting
/// every candidate to keep five cost a vector and a sort of the whole list per error).
fn closest(name: &str, known: &[&str]) -> Vec<usize> {
    // Sorted by (distance, index); a later name never beats an equal distance.
    let mut best: Vec<(usize, usize)> = Vec::with_capacity(SHOWN_NAMES + 1);
    for (i, k) in known.iter().enumerate() {
        let distance = edit_distance(name, k);
        if best.len() == SHOWN_NAMES && best.last().is_some_and(|&(worst, _)| worst <= distance) {
            continue;
        }
        let at = best.partition_point(|&(d, _)| d <= distance);
        best.insert(at, (distance, i));
        best.truncate(SHOWN_NAMES);
    }
    best.into_iter().map(|(_, i)| i).collect()
}

/// Levenshtein distance over the first [`COMPARED_CHARS`] characters of each.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().take(COMPARED_CHARS).collect();
    let b: Vec<char> = b.chars().take(COMPARED_CHARS).collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_lists_are_whole_and_long_ones_show_the_closest_five() {
        assert_eq!(closest_names("x", &["a", "b"]), "a, b");
        let known: Vec<String> = (0..100).map(|i| format!("layer-{i}")).collect();
        let known: Vec<&str> = known.iter().map(String::as_str).collect();
        let list = closest_names("layer-42x", &known);
        assert!(list.starts_with("layer-42, "), "{list}");
        assert!(list.ends_with("… 95 more"), "{list}");
        assert_eq!(list.matches(", ").count(), 4, "{list}");
    }

    /// The ranking before it was bounded: every candidate sorted, the first five kept.
    fn sorted_then_cut(name: &str, known: &[&str]) -> String {
        let mut ranked: Vec<(usize, usize)> = known
            .iter()
            .enumerate()
            .map(|(i, k)| (edit_distance(name, k), i))
            .collect();
        ranked.sort_unstable();
        let shown: Vec<&str> = ranked[..SHOWN_NAMES]
            .iter()
            .map(|&(_, i)| known[i])
            .collect();
        format!("{} … {} more", shown.join(", "), known.len() - SHOWN_NAMES)
    }

    #[test]
    fn ties_keep_file_order_as_the_full_sort_did() {
        // Seven names at distance 1 from "ab", two at 0, others further: the five shown are
        // the two exact ones, then the first three at distance 1, in file order.
        let known = [
            "xx", "ax", "ab", "bb", "zzzz", "ab", "cb", "aa", "abc", "b", "a",
        ];
        let list = closest_names("ab", &known);
        assert_eq!(list, "ab, ab, ax, bb, cb … 6 more");
        assert_eq!(list, sorted_then_cut("ab", &known));
    }

    #[test]
    fn past_the_ranked_length_the_first_names_are_shown() {
        let known: Vec<String> = (0..=MAX_RANKED).map(|i| format!("n{i}")).collect();
        let known: Vec<&str> = known.iter().map(String::as_str).collect();
        let list = closest_names(known[MAX_RANKED - 1], &known);
        assert_eq!(
            list,
            format!("n0, n1, n2, n3, n4 … {} more", MAX_RANKED - 4)
        );
    }

    proptest::proptest! {
        #[test]
        fn the_bounded_ranking_is_the_full_sort(
            name in "[ab]{0,4}",
            known in proptest::collection::vec("[ab]{0,4}", SHOWN_NAMES + 1..60),
        ) {
            let known: Vec<&str> = known.iter().map(String::as_str).collect();
            proptest::prop_assert_eq!(closest_names(&name, &known), sorted_then_cut(&name, &known));
        }
    }

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
