// SPDX-License-Identifier: LGPL-2.1-or-later
//! A small deterministic input mutator, so that `cargo test` can replay
//! the fuzz targets on seeds plus a fixed number of mutations without
//! cargo-fuzz. Same seed, same inputs: a failure reproduces.

/// xorshift64*: fast, deterministic, good enough to pick mutations.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }
}

/// Values that often sit on a boundary of a length or count check.
const INTERESTING: &[u32] = &[
    0,
    1,
    0x7f,
    0x80,
    0xff,
    0x100,
    0xffff,
    0x1_0000,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x200_0000,
    0x200_0001,
    0x4000,
    0x1000,
];

/// Returns a mutated copy of `input`: up to eight edits among bit flips,
/// random bytes, big-endian boundary words, insertions, deletions,
/// duplicated chunks and splices from `other`.
pub fn mutate(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    let edits = 1 + rng.below(8);
    for _ in 0..edits {
        match rng.below(7) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = rng.next_u64() as u8;
            }
            2 if v.len() >= 4 => {
                let i = rng.below(v.len() - 3) & !3;
                let w = INTERESTING[rng.below(INTERESTING.len())].to_be_bytes();
                v[i..i + 4].copy_from_slice(&w);
            }
            3 => {
                let i = rng.below(v.len() + 1);
                let n = 1 + rng.below(8);
                for _ in 0..n {
                    v.insert(i, rng.next_u64() as u8);
                }
            }
            4 if !v.is_empty() => {
                let i = rng.below(v.len());
                let n = 1 + rng.below(v.len() - i);
                v.drain(i..i + n.min(16));
            }
            5 if !v.is_empty() && v.len() < 1 << 16 => {
                let i = rng.below(v.len());
                let n = 1 + rng.below((v.len() - i).min(64));
                let chunk = v[i..i + n].to_vec();
                let at = rng.below(v.len() + 1);
                v.splice(at..at, chunk);
            }
            6 if !other.is_empty() => {
                let i = rng.below(other.len());
                let n = 1 + rng.below((other.len() - i).min(256));
                let at = rng.below(v.len() + 1);
                let end = (at + n).min(v.len());
                v.splice(at..end, other[i..i + n].iter().copied());
            }
            _ => v.push(rng.next_u64() as u8),
        }
    }
    v
}

/// Runs `target` on every seed, then on `rounds` mutations of randomly
/// chosen seeds. Returns how many inputs ran.
pub fn replay(target: fn(&[u8]), seeds: &[Vec<u8>], rounds: usize, seed: u64) -> usize {
    for s in seeds {
        target(s);
    }
    if seeds.is_empty() {
        return 0;
    }
    let mut rng = Rng::new(seed);
    for _ in 0..rounds {
        let a = &seeds[rng.below(seeds.len())];
        let b = &seeds[rng.below(seeds.len())];
        let input = mutate(&mut rng, a, b);
        target(&input);
    }
    seeds.len() + rounds
}
