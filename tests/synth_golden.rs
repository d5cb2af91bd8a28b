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
        "8a0ea449807cd7d11dff0ba4b10c27175c24d33534b76ae9651889550e9c0610",
    ),
    (
        "units_crossings",
        "b492402f781c2403a0469aa69d2130a5733b40e562df88a5027555bd8d2015de",
    ),
    (
        "faint",
        "1383ab15d490cf6525ede9203021454a1484eaff5209d9d096e6eaaf654bc172",
    ),
    (
        "edge",
        "a47a7be3140d699eaa26405286a3a37655db0d50bab2f48ff97e65531a75ffbd",
    ),
    (
        "mixed",
        "9d611cbf850ba828d4e9a0537ce86c6a62349f80d6dd4320c2edf4a19cea5121",
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
        GENERATOR_VERSION, "synth-3",
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
