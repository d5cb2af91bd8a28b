//! Seeded random inputs for the pipeline's property tests.

use super::preprocess::GrayF32;

/// xorshift64 (Marsaglia 2003): cheap, seedable, the same stream everywhere.
pub(crate) struct XorShift(u64);

impl XorShift {
    pub(crate) fn new(seed: u64) -> XorShift {
        XorShift(seed | 1)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// A `w × h` image of values drawn from 1 001 evenly spaced levels in `[lo, hi]`.
pub(crate) fn noise_image(w: u32, h: u32, seed: u64, lo: f32, hi: f32) -> GrayF32 {
    let mut rng = XorShift::new(seed);
    GrayF32::from_fn(w, h, |_, _| {
        let t = (rng.next_u64() % 1001) as f32 / 1000.0;
        image::Luma([lo + t * (hi - lo)])
    })
}
