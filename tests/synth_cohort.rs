//! The demonstration cohort on disk: deterministic bytes, truth = exits / area
//! per photograph, follicles linked across visits, and a manifest the study
//! accepts as it is. A tiny cohort (3 subjects × 2 sites × 2 visits, 4 mm²
//! fields) keeps this fast in a debug build.

use std::collections::BTreeSet;
use std::path::Path;

use trichometry::study::manifest::read_manifest;
use trichometry::synth::cohort::{read_truth, write_cohort, CohortParams, CohortVisit};
use trichometry::synth::Truth;

fn tiny() -> CohortParams {
    CohortParams {
        subjects: 3,
        visits: vec![
            CohortVisit {
                name: "baseline".into(),
                day: 0.0,
                change_fraction: 0.0,
            },
            CohortVisit {
                name: "month12".into(),
                day: 365.0,
                change_fraction: 1.0,
            },
        ],
        field_mm2: 4.0,
        ..CohortParams::default()
    }
}

fn sidecar(dir: &Path, image: &str) -> Truth {
    let stem = image.rsplit_once('.').map_or(image, |(s, _)| s);
    let bytes = std::fs::read(dir.join(format!("{stem}.truth.json"))).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

// Same seed, same bytes; the truth is each photograph's exits in the analysed
// area over that area; follicles persist between visits; the study reads the
// manifest without a single problem.
#[test]
fn tiny_cohort_on_disk() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let p = tiny();
    let wa = write_cohort(a.path(), &p, 5).unwrap();
    write_cohort(b.path(), &p, 5).unwrap();
    for f in [
        "manifest.csv",
        "truth.csv",
        "cohort.json",
        "S02_vertex_month12.jpg",
    ] {
        assert_eq!(
            std::fs::read(a.path().join(f)).unwrap(),
            std::fs::read(b.path().join(f)).unwrap(),
            "{f}"
        );
    }
    let c = tempfile::tempdir().unwrap();
    write_cohort(c.path(), &p, 6).unwrap();
    assert_ne!(
        std::fs::read(a.path().join("truth.csv")).unwrap(),
        std::fs::read(c.path().join("truth.csv")).unwrap()
    );

    let truth = read_truth(&wa.truth).unwrap();
    assert_eq!(truth, wa.rows);
    assert_eq!(truth.len(), 3 * 2 * 2);
    for r in &truth {
        let t = sidecar(a.path(), &r.image);
        let in_area = t.hairs.iter().filter(|h| h.in_area).count() as u64;
        assert_eq!(r.count_exit_in_area, in_area, "{}", r.image);
        assert!((r.analysed_area_cm2 - t.analysed_area_cm2).abs() < 1e-15);
        assert!((r.density_per_cm2 - in_area as f64 / r.analysed_area_cm2).abs() < 1e-9);
        assert!(
            (r.analysed_area_cm2 - 0.04).abs() < 1e-3,
            "{}",
            r.analysed_area_cm2
        );
    }
    // Follicles seen at baseline are seen again at month 12 under the same id
    // (fields of 4 mm² hold a few hairs each, so the overlap is summed over the cohort).
    let mut persisted = 0;
    for pair in truth.chunks(2) {
        let ids = |img: &str| -> BTreeSet<u64> {
            sidecar(a.path(), img)
                .hairs
                .iter()
                .filter(|h| h.in_area)
                .map(|h| h.follicle_id)
                .collect()
        };
        let (b0, m12) = (ids(&pair[0].image), ids(&pair[1].image));
        persisted += b0.intersection(&m12).count();
        assert_eq!(
            pair[1].target_kept + pair[1].target_gained,
            pair[1].target_count
        );
        assert_eq!(
            pair[0].target_count - pair[1].target_lost + pair[1].target_gained,
            pair[1].target_count
        );
    }
    assert!(persisted > 0);

    let mut m = read_manifest(&wa.manifest).unwrap();
    m.check_files();
    assert!(m.problems.is_empty(), "{:?}", m.problems);
    assert_eq!(m.rows.len(), 12);
    assert_eq!(m.visits, ["baseline", "month12"]);
    assert_eq!(m.sites, ["frontal", "vertex"]);
    assert_eq!(m.arms, ["active"]);
    assert!(m.rows.iter().all(|r| r.pixel_size_um == Some(5.0)));
    m.baseline(None).unwrap();
    m.check_baseline("baseline");
    assert!(m.problems.is_empty(), "{:?}", m.problems);
}
