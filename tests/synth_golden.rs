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
        "e1a2154650acb6631d59fe8711fc1aa6a895b06cac8bbc77a40e5efdc3522380",
    ),
    (
        "units_crossings",
        "a7b17ceea8c1e563e8cb8814f3343624de54c92f551627c0df6a731944932105",
    ),
    (
        "faint",
        "ca46fd031b2ad106d132c7c83940d390fedac67fe98ef15674018fadfd79c32a",
    ),
    (
        "edge",
        "a47a7be3140d699eaa26405286a3a37655db0d50bab2f48ff97e65531a75ffbd",
    ),
    (
        "mixed",
        "f18eb690283d705e0cd55ea4753e0e6cc91b2370da6b8a1f5c1752fa4e489692",
    ),
    (
        "phototrichogram",
        "1e546ea507f14268316b83ec452e731a7cc5a9821592d44bdc2cf49361b20ac7",
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
        GENERATOR_VERSION, "synth-4",
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
