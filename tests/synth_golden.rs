//! Golden SHA-256 of decoded pixels of one small image per scenario.
//!
//! Any change to the images must bump `GENERATOR_VERSION` and these hashes
//! together: run `REGENERATE=1 cargo test --test synth_golden -- --nocapture`,
//! and paste the printed table here after reviewing the images.

use sha2::{Digest, Sha256};
use trichometry::synth::{generate_with_params, Scenario, GENERATOR_VERSION};

const GOLDEN: &[(&str, &str)] = &[
    (
        "isolated",
        "31893f5d38ef30dc366c0bc334c4b8681403ad7d50c87f999480a53dbc899da5",
    ),
    (
        "units_crossings",
        "e4a291363a5d2e842c7abe57ae215e8d805eecfd201d3b0a8a66485f1da24e58",
    ),
    (
        "faint",
        "41f9e85848e4333d740f9afba197778eaed0654b7275e0274e2326c124e1ce27",
    ),
    (
        "edge",
        "e228a5fd8b78b2dc04b7d8a0399363cd0810c4aced972b79cfb21c98e4d99f60",
    ),
    (
        "mixed",
        "aa991bd09cdb213de9f1c23a8b033f74a12bf93c37611a507189079a884c3443",
    ),
    (
        "phototrichogram",
        "a0ad2739d992a011bfb9508d8362e9d0f6390d5e0a8adbb90f7899334c2ca3b2",
    ),
];

fn hash(s: Scenario) -> String {
    let mut p = s.params();
    p.field_cm2 = [0.01, 0.01];
    let img = generate_with_params(&p, s.name(), 2026, 0).unwrap();
    let mut h = Sha256::new();
    h.update(img.image.width().to_le_bytes());
    h.update(img.image.height().to_le_bytes());
    h.update(img.image.as_raw());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

// The pixels of each scenario's golden image are unchanged for this generator version.
#[test]
fn golden_pixel_hashes() {
    assert_eq!(
        GENERATOR_VERSION, "synth-2",
        "version changed: regenerate the hashes"
    );
    let regenerate = std::env::var_os("REGENERATE").is_some();
    for s in Scenario::ALL {
        let h = hash(s);
        if regenerate {
            println!("    (\"{}\", \"{h}\"),", s.name());
            continue;
        }
        let want = GOLDEN
            .iter()
            .find(|(n, _)| *n == s.name())
            .unwrap_or_else(|| panic!("no golden hash for {s}"))
            .1;
        assert_eq!(
            h, want,
            "{s}: pixels changed; bump GENERATOR_VERSION and regenerate"
        );
    }
}
