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
        "1bf511c7ce6d01715133d6dc56f8aa6f259d4f8879d2de429a971f61162b9b06",
    ),
    (
        "units_crossings",
        "396254f3f181b065032799462270fdfb5c6e42d9539895f83fa01f28da962525",
    ),
    (
        "faint",
        "8c7b882dc27382ac8ea3f9cedc95efe3119bd9d8cc42f076d20c212bc1998239",
    ),
    (
        "edge",
        "6bc4e461dd3fa095bd55b0866279e4d541b9b38760b9597c825290715afc929a",
    ),
    (
        "mixed",
        "713bf2365431c25531ca0274831bf987e45fc520fb67b094fe43b1692dd9be44",
    ),
    (
        "phototrichogram",
        "a1c2b67efbd2f3a43763ff99744d50d0f7ef498a42af5b8ddd195f889626594e",
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
        GENERATOR_VERSION, "synth-1",
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
