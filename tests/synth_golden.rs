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
        "2402da8a37d59e3cce0bf84314cf423c802dfd9d1a020514765aca821590c177",
    ),
    (
        "units_crossings",
        "ba220416fbca48798a6717702b5083af8ce7128dbed48303c888eae38485a258",
    ),
    (
        "faint",
        "9625a541c74a95e6042714162555b8cb8e34be2815858fa0cbb9631ed7cd406e",
    ),
    (
        "edge",
        "2ac53295ed04cae67ccdb62d9e1d282ba271342d37c2f2e4fd69931b5e4df50f",
    ),
    (
        "mixed",
        "f18eb690283d705e0cd55ea4753e0e6cc91b2370da6b8a1f5c1752fa4e489692",
    ),
    (
        "phototrichogram",
        "e717b22bfd549109a51eea1438c6a45d672d1557fae83e3c52fde96831b1f91b",
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
        GENERATOR_VERSION, "synth-5",
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
