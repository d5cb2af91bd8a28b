//! End to end: `trichometry eval` scoring a small prediction JSONL against
//! generator sidecars and a Pascal VOC folder (`fixtures/eval/`).
//!
//! Expected values are worked out by hand from the fixture files: image
//! `isolated/img_000` has 3 truth hairs and 4 predictions (2 within the gate,
//! one on the border, one stray); `faint/img_001` has 2 truth hairs and 3
//! predictions (2 within the gate); `faint/img_002`'s prediction is an error
//! record; `stray.png` exists only in the predictions.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn fixture(p: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/eval")
        .join(p)
        .display()
        .to_string()
}

fn eval(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_trichometry"))
        .arg("eval")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn json(args: &[&str]) -> Value {
    let (code, out, err) = eval(args);
    assert_eq!(code, 0, "stderr: {err}");
    serde_json::from_str(&out).unwrap()
}

fn close(v: &Value, x: f64) {
    let a = v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"));
    assert!((a - x).abs() < 1e-9, "{a} != {x}");
}

fn row<'a>(rows: &'a Value, reference: &str, test: &str, group: &str) -> &'a Value {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["reference"] == reference && r["test"] == test && r["group"] == group)
        .unwrap_or_else(|| panic!("no row {reference}/{test}/{group}"))
}

// Against the sidecars: counts 3, 2 vs 4, 3 (MAE 1, per-scenario groups);
// points gated by max(2 × diameter, 100 µm): 4 TP (one only thanks to the
// 70 µm diameter), 3 FP, 1 FN; the failed and the unpaired records are listed.
#[test]
fn pred_against_sidecars() {
    let r = json(&[
        "--truth",
        &fixture("sidecars"),
        "--pred",
        &fixture("pred.jsonl"),
        "--format",
        "json",
    ]);
    let all = row(&r["count"], "truth", "pred", "all");
    assert_eq!(all["metrics"]["n"], 2);
    close(&all["metrics"]["mae"], 1.0);
    close(&all["metrics"]["bias"], 1.0);
    // MAPE (1/3 + 1/2)/2, WAPE 2/5, CCC 1/3 (hand calculation in tests/eval_metrics.rs).
    close(&all["metrics"]["mape_pct"], 100.0 * (1.0 / 3.0 + 0.5) / 2.0);
    close(&all["metrics"]["wape_pct"], 40.0);
    close(&all["metrics"]["ccc"]["value"], 1.0 / 3.0);
    let faint = row(&r["count"], "truth", "pred", "faint");
    assert_eq!(faint["group_by"], "scenario");
    assert_eq!(faint["metrics"]["n"], 1);
    let hair = row(&r["hair"], "truth", "pred", "all");
    assert_eq!(hair["counts"]["tp"], 4);
    assert_eq!(hair["counts"]["fp"], 3);
    assert_eq!(hair["counts"]["fn"], 1);
    close(&hair["precision"], 4.0 / 7.0);
    close(&hair["recall"], 0.8);
    close(&hair["f1"], 8.0 / 12.0);
    let iso = row(&r["hair"], "truth", "pred", "isolated");
    assert_eq!(iso["counts"]["tp"], 2);
    let c = &r["comparisons"][0];
    assert_eq!(c["failed"], 1);
    assert_eq!(c["match_mode"], "points");
    assert_eq!(c["gate"], "distance ≤ max(2 × diameter, 100 µm)");
    assert_eq!(c["unmatched"]["test"][0], "scans/stray.png");
    assert_eq!(r["failures"][0]["image"], "scans/faint/img_002.png");
    assert_eq!(r["images"].as_array().unwrap().len(), 2);
}

// --ignore-border-fp moves the border prediction from FP to ignored; with the
// diameter term off, the 120 µm pair of the 70 µm hair falls outside the 100 µm gate.
#[test]
fn border_and_gate_options() {
    let r = json(&[
        "--truth",
        &fixture("sidecars"),
        "--pred",
        &fixture("pred.jsonl"),
        "--format",
        "json",
        "--ignore-border-fp",
    ]);
    let hair = row(&r["hair"], "truth", "pred", "all");
    assert_eq!(hair["counts"]["fp"], 2);
    assert_eq!(hair["counts"]["ignored"], 1);
    let r = json(&[
        "--truth",
        &fixture("sidecars"),
        "--pred",
        &fixture("pred.jsonl"),
        "--format",
        "json",
        "--gate-diameters",
        "0",
    ]);
    let hair = row(&r["hair"], "truth", "pred", "all");
    assert_eq!(hair["counts"]["tp"], 3);
    assert_eq!(hair["counts"]["fn"], 2);
}

// Two truth sources: the prediction against each, and the sidecars against the
// VOC boxes (rater–rater) in the same report; VOC is matched by IoU ≥ 0.3.
#[test]
fn several_truth_sources() {
    let voc = format!("voc={}", fixture("voc"));
    let sim = format!("sim={}", fixture("sidecars"));
    let r = json(&[
        "--truth",
        &voc,
        "--truth",
        &sim,
        "--pred",
        &fixture("pred.jsonl"),
        "--format",
        "json",
    ]);
    let comps: Vec<(String, String)> = r["comparisons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["reference"].as_str().unwrap().into(),
                c["test"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        comps,
        [
            ("voc".into(), "pred".into()),
            ("sim".into(), "pred".into()),
            ("voc".into(), "sim".into())
        ]
    );
    assert_eq!(r["comparisons"][0]["match_mode"], "boxes");
    assert_eq!(r["comparisons"][0]["gate"], "IoU ≥ 0.3");
    let h = row(&r["hair"], "voc", "pred", "all");
    assert_eq!(
        (
            h["counts"]["tp"].as_u64(),
            h["counts"]["fp"].as_u64(),
            h["counts"]["fn"].as_u64()
        ),
        (Some(4), Some(3), Some(1))
    );
    // Mean IoU of the 4 pairs: (1 + 210/252 + 1 + 147/161) / 4.
    close(
        &h["mean_match_score"],
        (2.0 + 210.0 / 252.0 + 147.0 / 161.0) / 4.0,
    );
    let rr = row(&r["hair"], "voc", "sim", "all");
    assert_eq!(rr["counts"]["tp"], 5);
    assert_eq!(rr["counts"]["fp"], 0);
    close(
        &row(&r["count"], "voc", "sim", "all")["metrics"]["mae"],
        0.0,
    );
}

// Table and CSV outputs carry the statistics and the gate; CSV has one row per
// comparison and group.
#[test]
fn table_and_csv() {
    let (code, out, _) = eval(&[
        "--truth",
        &fixture("sidecars"),
        "--pred",
        &fixture("pred.jsonl"),
        "--format",
        "table",
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("Count agreement"), "{out}");
    assert!(
        out.contains("distance ≤ max(2 × diameter, 100 µm)"),
        "{out}"
    );
    assert!(out.contains("scans/stray.png"), "{out}");
    assert!(out.contains("invalid JPEG marker"), "{out}");
    let (code, out, _) = eval(&[
        "--truth",
        &fixture("sidecars"),
        "--pred",
        &fixture("pred.jsonl"),
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0);
    let mut rdr = csv::Reader::from_reader(out.as_bytes());
    let headers = rdr.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3, "all, faint, isolated");
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    assert_eq!(&rows[0][col("group")], "all");
    assert_eq!(&rows[0][col("mae")], "1");
    assert_eq!(&rows[0][col("tp")], "4");
}

// Count CSV truth against trichometry predictions, with density CSV needing --on density.
#[test]
fn csv_truth_and_density() {
    let r = json(&[
        "--truth",
        &fixture("counts.csv"),
        "--pred",
        &fixture("pred.jsonl"),
        "--format",
        "json",
        "--group-by",
        "site",
    ]);
    let all = row(&r["count"], "truth", "pred", "all");
    // img_000: 3 vs 4, img_001: 2 vs 3; img_002 failed.
    close(&all["metrics"]["mae"], 1.0);
    assert!(r["count"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["group"] == "occiput"));
    assert!(r["hair"].as_array().unwrap().is_empty());
}

// Input errors exit with status 2 and name the file.
#[test]
fn input_errors_exit_2() {
    let (code, _, err) = eval(&[
        "--truth",
        &fixture("missing_dir"),
        "--pred",
        &fixture("pred.jsonl"),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("missing_dir"), "{err}");
    let (code, _, _) = eval(&[
        "--truth",
        &fixture("sidecars"),
        "--pred",
        &fixture("pred.jsonl"),
        "--iou",
        "1.5",
    ]);
    assert_eq!(code, 2);
}

// --on density compares the sidecars' densities (150, 100 /cm²) with the
// predictions' (200, 150 /cm²); per-image values are listed in the
// prediction file's order.
#[test]
fn density_comparison() {
    let r = json(&[
        "--truth",
        &fixture("sidecars"),
        "--pred",
        &fixture("pred.jsonl"),
        "--format",
        "json",
        "--on",
        "density",
    ]);
    let all = row(&r["count"], "truth", "pred", "all");
    assert_eq!(all["on"], "density");
    close(&all["metrics"]["mae"], 50.0);
    close(&all["metrics"]["mean_truth"], 125.0);
    let imgs = r["count_images"].as_array().unwrap();
    assert_eq!(imgs.len(), 2);
    assert_eq!(imgs[0]["image"], "isolated/img_000.png");
    close(&imgs[0]["diff"], 50.0);
}

// An ignore region over the stray prediction at (100, 10) in img_000 turns
// that false positive into an ignored one.
#[test]
fn ignore_regions() {
    let dir = tempfile::tempdir().unwrap();
    let regions = dir.path().join("ignore.csv");
    std::fs::write(
        &regions,
        "image,x_min,y_min,x_max,y_max\nimg_000.png,90,0,110,20\n",
    )
    .unwrap();
    let r = json(&[
        "--truth",
        &fixture("sidecars"),
        "--pred",
        &fixture("pred.jsonl"),
        "--format",
        "json",
        "--ignore-regions",
        regions.to_str().unwrap(),
    ]);
    let hair = row(&r["hair"], "truth", "pred", "all");
    assert_eq!(hair["counts"]["fp"], 2);
    assert_eq!(hair["counts"]["ignored"], 1);
    assert_eq!(hair["counts"]["tp"], 4);
}
