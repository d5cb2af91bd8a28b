//! `trichometry study` end to end on precomputed reports (`--reports`), with a
//! manifest carrying one problem of each kind.

use std::process::Command;

use trichometry::report::{ImageReport, Provenance};

fn report(image: &str, hairs: u32) -> ImageReport {
    let prov = Provenance {
        crate_version: "test".into(),
        config_hash: "0".into(),
        calibration_source: None,
    };
    let mut r = ImageReport::empty(image.to_string(), Default::default(), prov);
    r.hair_count = Some(hairs);
    r.analysed_area_cm2 = Some(1.0);
    r.density_per_cm2 = Some(f64::from(hairs));
    r
}

// Bad rows are reported with their line numbers, the valid rows are analysed, and the exit status is 1.
#[test]
fn study_cli_reports_problems_and_writes_tables() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = "subject,visit,image,pixel_size_um,score\n\
        S1,B,s1b.png,5,\n\
        S1,M6,s1m.png,5,4\n\
        S2,B,s2b.png,5,\n\
        S2,M6,s2m.png,abc,5\n\
        S2,M6,s2m2.png,5,5\n\
        S3,B,s3b.png,5,\n\
        S3,M6,s3m.png,5,2\n\
        S3,M6,s3m.png,5,2\n\
        S4,M6,s4m.png,5,3\n\
        S5,B,missing.png,5,\n";
    let mpath = dir.path().join("manifest.csv");
    std::fs::write(&mpath, manifest).unwrap();
    let reports = [
        report("s1b.png", 80),
        report("s1m.png", 110),
        report("s2b.png", 90),
        report("s2m2.png", 130),
        report("s3b.png", 75),
        report("s3m.png", 100),
        report("s4m.png", 95),
    ];
    let jsonl: String = reports
        .iter()
        .map(|r| serde_json::to_string(r).unwrap() + "\n")
        .collect();
    let rpath = dir.path().join("reports.jsonl");
    std::fs::write(&rpath, jsonl).unwrap();
    let out = dir.path().join("out");
    let res = Command::new(env!("CARGO_BIN_EXE_trichometry"))
        .args(["study"])
        .arg(&mpath)
        .arg("--out")
        .arg(&out)
        .arg("--reports")
        .arg(&rpath)
        .args(["--outcome", "score", "--primary", "M6:target:density"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert_eq!(res.status.code(), Some(1), "{stderr}");
    for needle in [
        "line 5: error: pixel_size_um `abc` is not a positive number",
        "line 9: error: repeats line 8 exactly",
        "line 10: warning: subject `S4` has no `B`",
        "line 11: error: no report for image `missing.png`",
    ] {
        assert!(stderr.contains(needle), "missing `{needle}` in:\n{stderr}");
    }
    let summary = std::fs::read_to_string(out.join("visit_summary.csv")).unwrap();
    let m6 = summary
        .lines()
        .find(|l| l.starts_with("all,target,density,hairs/cm²,M6,"))
        .unwrap();
    // M6 values 110, 130, 100, 95 (4 subjects); changes +30, +40, +25 (S4 has no baseline).
    let cells: Vec<&str> = m6.split(',').collect();
    assert_eq!(&cells[6..10], &["4", "4", "0", "108.75"]);
    let problems = std::fs::read_to_string(out.join("problems.csv")).unwrap();
    assert_eq!(problems.lines().count(), 5);
    let outcomes = std::fs::read_to_string(out.join("outcomes.csv")).unwrap();
    assert!(outcomes.contains("score,all,M6,4,"), "{outcomes}");
    assert!(out.join("report.md").is_file());
}

// --blind copies each photograph under a random code and writes the key; the same seed gives the same key.
#[test]
fn study_cli_blind() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("manifest.csv"),
        "subject,visit,image\nS1,B,a.png\nS1,M1,b.png\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("a.png"), b"first photo").unwrap();
    std::fs::write(dir.path().join("b.png"), b"second photo").unwrap();
    let jsonl: String = [report("a.png", 80), report("b.png", 90)]
        .iter()
        .map(|r| serde_json::to_string(r).unwrap() + "\n")
        .collect();
    std::fs::write(dir.path().join("reports.jsonl"), jsonl).unwrap();
    let run = |out: &str| {
        let res = Command::new(env!("CARGO_BIN_EXE_trichometry"))
            .current_dir(dir.path())
            .args([
                "study",
                "manifest.csv",
                "--out",
                out,
                "--reports",
                "reports.jsonl",
            ])
            .args(["--blind", "--blind-seed", "42"])
            .output()
            .unwrap();
        assert_eq!(
            res.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&res.stderr)
        );
        std::fs::read_to_string(dir.path().join(out).join("blind_key.csv")).unwrap()
    };
    let key = run("out1");
    assert_eq!(key, run("out2"));
    let lines: Vec<&str> = key.lines().collect();
    assert_eq!(lines[0], "code,line,image,subject,arm,visit,site");
    assert_eq!(lines.len(), 3);
    for l in &lines[1..] {
        let cells: Vec<&str> = l.split(',').collect();
        let copy = dir
            .path()
            .join("out1/blind")
            .join(format!("{}.png", cells[0]));
        let original = dir.path().join(cells[2]);
        assert_eq!(
            std::fs::read(copy).unwrap(),
            std::fs::read(original).unwrap()
        );
    }
}

// The demonstration cohort from `synth-cohort` goes through `study` as it is; with
// --blind, each photograph and its review overlay appear only under their code,
// and no file named after an image is left in the output.
#[test]
fn study_cli_cohort_blind_overlays() {
    let dir = tempfile::tempdir().unwrap();
    let gen = Command::new(env!("CARGO_BIN_EXE_trichometry"))
        .current_dir(dir.path())
        .args(["synth-cohort", "--out", "cohort", "--seed", "3"])
        .args(["--subjects", "2", "--field-mm2", "2", "--jobs", "1"])
        .output()
        .unwrap();
    assert_eq!(
        gen.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&gen.stderr)
    );
    let res = Command::new(env!("CARGO_BIN_EXE_trichometry"))
        .current_dir(dir.path())
        .args([
            "study",
            "cohort/manifest.csv",
            "--out",
            "out",
            "--jobs",
            "1",
        ])
        .args(["--blind", "--blind-seed", "9"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert_eq!(res.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    let key = std::fs::read_to_string(dir.path().join("out/blind_key.csv")).unwrap();
    let codes: Vec<&str> = key
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(codes.len(), 2 * 2 * 5);
    let blind = dir.path().join("out/blind");
    for c in &codes {
        assert!(blind.join(format!("{c}.jpg")).is_file(), "{c}");
        assert!(blind.join(format!("{c}.overlay.png")).is_file(), "{c}");
    }
    assert_eq!(std::fs::read_dir(&blind).unwrap().count(), 2 * codes.len());
    assert!(!dir.path().join("out/.blind_overlays").exists());
    let summary = std::fs::read_to_string(dir.path().join("out/visit_summary.csv")).unwrap();
    assert!(
        summary.contains("active,all_sites,density,hairs/cm²,month12,"),
        "{summary}"
    );
}
