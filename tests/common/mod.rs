//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod scene;

use proptest::test_runner::{Config as PtConfig, RngSeed};

/// A reproducible proptest configuration: `cases` cases unless the
/// `PROPTEST_CASES` environment variable asks for more (for a longer local
/// run), a fixed seed, and no failure files written into the tree.
pub fn proptest_config(cases: u32) -> PtConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    PtConfig {
        cases,
        rng_seed: RngSeed::Fixed(0x7121_c0de),
        failure_persistence: None,
        ..PtConfig::default()
    }
}
