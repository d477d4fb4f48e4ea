//! The byte mutator shared by the in-process fuzzers (scenario loader, header parsers): bits
//! flipped, spans cut or repeated, hostile tokens spliced in, from a deterministic generator so
//! that a run is reproducible from its seed.

/// xorshift64*: deterministic and dependency-free (fuzz inputs need no statistical quality).
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// How far one mutation reaches: the longest span cut and the longest span repeated.
pub struct Reach {
    /// Longest span removed at once.
    pub cut: usize,
    /// Longest span duplicated in place.
    pub repeat: usize,
}

/// `seed` with one to five mutations, each a bit flip, a cut, a repeat or a token from `tokens`.
pub fn mutate(seed: &[u8], rng: &mut Rng, tokens: &[&str], reach: &Reach) -> Vec<u8> {
    let mut out = seed.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(4) {
            0 if !out.is_empty() => {
                let i = at.min(out.len() - 1);
                out[i] ^= 1 << rng.below(8);
            }
            1 => {
                let end = (at + rng.below(reach.cut)).min(out.len());
                out.drain(at..end);
            }
            2 => {
                let end = (at + rng.below(reach.repeat)).min(out.len());
                let span = out[at..end].to_vec();
                out.splice(at..at, span);
            }
            _ => {
                let token = tokens[rng.below(tokens.len())].as_bytes();
                out.splice(at..at, token.iter().copied());
            }
        }
    }
    out
}
