//! Stable hashing and a small PRNG, so a dataset is the same bytes on every build and machine:
//! FNV-1a for seeds (std's `DefaultHasher` may change between releases) and SplitMix64 for the
//! stream. Neither is cryptographic; they only need to be stable and well spread.

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// 64-bit FNV-1a.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(FNV_OFFSET, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(FNV_PRIME)
    })
}

/// SplitMix64's finaliser: a bijection that spreads every input bit over the output.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A SplitMix64 stream.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The stream for record `index` of the collection salted `salt` in the dataset `seed`:
    /// record i is computed from (seed, i) alone, so any record can be made without the others.
    pub(crate) fn for_record(seed: u64, salt: u64, index: u64) -> Self {
        Self(mix(seed
            ^ mix(
                salt.wrapping_add(mix(index.wrapping_add(GOLDEN_GAMMA)))
            )))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN_GAMMA);
        mix(self.0)
    }

    /// Uniform in `0..bound` (Lemire's multiply-shift, bias below 2^-32 for our bounds);
    /// `bound` 0 gives 0.
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }

    /// Uniform in `low..=high`.
    pub(crate) fn between(&mut self, low: i64, high: i64) -> i64 {
        let span = high.abs_diff(low).saturating_add(1);
        low.wrapping_add_unsigned(self.below(span))
    }

    /// True with probability `percent`/100.
    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// A permutation of `0..N` (Fisher–Yates).
    pub(crate) fn permutation<const N: usize>(&mut self) -> [u8; N] {
        let mut order = [0_u8; N];
        for (position, slot) in order.iter_mut().enumerate() {
            *slot = position as u8;
        }
        for last in (1..N).rev() {
            let other = self.below(last as u64 + 1) as usize;
            order.swap(last, other);
        }
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_reference_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn splitmix_is_stable() {
        // SplitMix64 seeded with 0 starts 0xe220a8397b1dcdaf (Vigna's reference).
        let mut rng = Rng::new(0);
        assert_eq!(rng.next_u64(), 0xe220_a839_7b1d_cdaf);
    }

    #[test]
    fn bounded_draws_stay_in_range() {
        let mut rng = Rng::new(42);
        for _ in 0..1000 {
            assert!(rng.below(7) < 7);
            let value = rng.between(-3, 3);
            assert!((-3..=3).contains(&value));
        }
        assert_eq!(rng.below(0), 0);
        let mut permutation = rng.permutation::<10>();
        permutation.sort_unstable();
        assert_eq!(permutation, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    }
}
