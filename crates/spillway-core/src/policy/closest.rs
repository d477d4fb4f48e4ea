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

/// `known` joined by `, ` when there are at most [`SHOWN_NAMES`]; else the closest to `name`
/// (fewest edits, file order on ties; the first in file order past [`MAX_RANKED`] names) and
/// `… N more`.
pub fn closest_names(name: &str, known: &[&str]) -> String {
    if known.len() <= SHOWN_NAMES {
        return known.join(", ");
    }
    let mut ranked: Vec<(usize, usize)> = known
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let distance = if known.len() <= MAX_RANKED {
                edit_distance(name, k)
            } else {
                0
            };
            (distance, i)
        })
        .collect();
    ranked.sort_unstable();
    let shown: Vec<&str> = ranked[..SHOWN_NAMES]
        .iter()
        .map(|&(_, i)| known[i])
        .collect();
    format!("{} … {} more", shown.join(", "), known.len() - SHOWN_NAMES)
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

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
