//! End-to-end tests of `trichometry count`: output fields, formats, exit codes,
//! error records, manifest handling, and the report schema.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_trichometry"))
}

fn run(args: &[&str], cwd: Option<&Path>) -> Output {
    let mut c = bin();
    c.args(args);
    if let Some(d) = cwd {
        c.current_dir(d);
    }
    c.output().expect("run trichometry")
}

/// Asserts the exit status, showing stderr when it differs.
fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn jsonl(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l}: {e}")))
        .collect()
}

fn schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report.schema.json"),
    )
    .unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::validator_for(&schema).expect("valid schema")
}

fn assert_valid(v: &Value) {
    let validator = schema();
    let errors: Vec<String> = validator.iter_errors(v).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "schema errors {errors:?} in {v}");
}

/// A small valid PNG: light skin with one dark bar.
fn write_png(path: &Path) {
    let mut img = image::RgbImage::from_pixel(120, 100, image::Rgb([215, 185, 170]));
    for y in 20..80 {
        for x in 58..63 {
            img.put_pixel(x, y, image::Rgb([40, 30, 25]));
        }
    }
    img.save(path).unwrap();
}

// A missing file, a corrupt file and an uncalibrated image each give an error record
// (never a crash), the other images still get results, and the exit status is 1.
#[test]
fn error_records_do_not_stop_the_batch() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.png");
    write_png(&good);
    std::fs::write(dir.path().join("bad.jpg"), b"this is not a jpeg").unwrap();
    let manifest = dir.path().join("m.csv");
    std::fs::write(
        &manifest,
        "image,pixel_size_um,subject\ngood.png,5,s1\nmissing.png,5,s2\nbad.jpg,5,s3\ngood.png,,s4\ngood.png,abc,s5\n",
    )
    .unwrap();
    let out = run(
        &[
            "count",
            "--manifest",
            manifest.to_str().unwrap(),
            "--format",
            "jsonl",
        ],
        None,
    );
    assert_exit(&out, 1);
    let recs = jsonl(&out);
    assert_eq!(recs.len(), 5);
    let kinds: Vec<Value> = recs.iter().map(|r| r["error_kind"].clone()).collect();
    assert_eq!(kinds[0], Value::Null, "{}", recs[0]);
    assert_eq!(kinds[1], "not_found");
    assert_eq!(kinds[2], "unsupported_format");
    assert_eq!(kinds[3], "calibration_missing");
    assert_eq!(kinds[4], "invalid_input");
    // Input order and verbatim image strings; manifest extras carried into meta.
    let images: Vec<&str> = recs.iter().map(|r| r["image"].as_str().unwrap()).collect();
    assert_eq!(
        images,
        ["good.png", "missing.png", "bad.jpg", "good.png", "good.png"]
    );
    for (i, r) in recs.iter().enumerate() {
        assert_eq!(r["meta"]["subject"], format!("s{}", i + 1));
        assert_valid(r);
    }
    // Error messages name the file.
    assert!(recs[1]["error"].as_str().unwrap().contains("missing.png"));
    assert!(recs[2]["error"].as_str().unwrap().contains("bad.jpg"));
    assert!(
        recs[4]["error"].as_str().unwrap().contains("line 6"),
        "{}",
        recs[4]
    );
    // Measurement fields are null on error records.
    for r in &recs[1..] {
        assert!(
            r["hair_count"].is_null() && r["density_per_cm2"].is_null() && r["hairs"].is_null()
        );
    }
    // The good image: calibration from the manifest, provenance filled.
    let g = &recs[0];
    assert_eq!(g["calibration_source"], "manifest");
    assert_eq!(g["provenance"]["calibration_source"], "manifest");
    assert_eq!(g["width"], 120);
    assert_eq!(g["height"], 100);
    assert_eq!(g["input_sha256"].as_str().unwrap().len(), 64);
    let area = g["field_area_cm2"].as_f64().unwrap();
    assert!((area - 120.0 * 100.0 * 25.0 * 1e-8).abs() < 1e-12);
    assert_eq!(
        g["hair_count"].as_u64().unwrap() as usize,
        g["hairs"].as_array().unwrap().len()
    );
}

// Usage and configuration errors before any image is processed exit with 2.
#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "[calibration]\npixel_size = 3\n").unwrap();
    let png = dir.path().join("a.png");
    write_png(&png);
    let out = run(
        &[
            "count",
            "--config",
            cfg.to_str().unwrap(),
            png.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("c.toml"));
    let out = run(&["count", "--bogus-flag", png.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    let bad_manifest = dir.path().join("m.csv");
    std::fs::write(&bad_manifest, "file,pixel_size_um\na.png,5\n").unwrap();
    let out = run(
        &["count", "--manifest", bad_manifest.to_str().unwrap()],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("image"));
    let out = run(
        &["count", "--pixel-size-um", "0", png.to_str().unwrap()],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["count", dir.path().join("nope").to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
}

// Folders are searched recursively, sorted bytewise, extensions matched case-insensitively,
// and the flag's calibration is recorded as `flag`.
#[test]
fn folders_are_sorted_and_filtered() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    for name in ["b.PNG", "a.png", "sub/c.png", "Z.png"] {
        write_png(&dir.path().join(name));
    }
    std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
    let out = run(
        &["count", "--pixel-size-um", "4", "--format", "jsonl", "."],
        Some(dir.path()),
    );
    assert_exit(&out, 0);
    let recs = jsonl(&out);
    let images: Vec<&str> = recs.iter().map(|r| r["image"].as_str().unwrap()).collect();
    assert_eq!(images, ["./Z.png", "./a.png", "./b.PNG", "./sub/c.png"]);
    for r in &recs {
        assert_eq!(r["calibration_source"], "flag");
        assert_eq!(r["pixel_size_um"], 4.0);
        assert_valid(r);
    }
}

// CSV output: a header, one row per image, manifest extras as trailing columns;
// --hairs-csv writes one row per counted hair; --output writes the file atomically.
#[test]
fn csv_and_files() {
    let dir = tempfile::tempdir().unwrap();
    write_png(&dir.path().join("a.png"));
    std::fs::write(
        dir.path().join("m.csv"),
        "image,pixel_size_um,visit\na.png,5,baseline\n",
    )
    .unwrap();
    let out_csv: PathBuf = dir.path().join("out.csv");
    let hairs_csv: PathBuf = dir.path().join("hairs.csv");
    let out = run(
        &[
            "count",
            "--manifest",
            "m.csv",
            "--format",
            "csv",
            "--output",
            out_csv.to_str().unwrap(),
            "--hairs-csv",
            hairs_csv.to_str().unwrap(),
        ],
        Some(dir.path()),
    );
    assert_exit(&out, 0);
    let mut rdr = csv::Reader::from_path(&out_csv).unwrap();
    let headers = rdr.headers().unwrap().clone();
    assert_eq!(&headers[0], "image");
    assert_eq!(headers.iter().next_back(), Some("visit"));
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 1);
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    assert_eq!(&rows[0][col("visit")], "baseline");
    let count: usize = rows[0][col("hair_count")].parse().unwrap();
    let mut hairs = csv::Reader::from_path(&hairs_csv).unwrap();
    assert_eq!(hairs.records().count(), count);
    // No temporary files left behind.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty());
}

// A file named both by the manifest and by a folder given beside it is
// analysed once per listing, with a warning that says so.
#[test]
fn a_file_listed_twice_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    write_png(&dir.path().join("a.png"));
    std::fs::write(dir.path().join("m.csv"), "image,pixel_size_um\na.png,5\n").unwrap();
    let out = run(
        &["count", ".", "--manifest", "m.csv", "--format", "jsonl"],
        Some(dir.path()),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("1 input(s) name a file listed before"),
        "{err}"
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
    let once = run(
        &["count", "--manifest", "m.csv", "--format", "jsonl"],
        Some(dir.path()),
    );
    assert!(!String::from_utf8_lossy(&once.stderr).contains("listed before"));
}

// --output into a folder that does not exist fails before counting, naming
// the path the user gave (not the temporary file) and the reason.
#[test]
fn output_into_a_missing_folder_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    write_png(&dir.path().join("a.png"));
    let out = run(
        &[
            "count",
            "a.png",
            "--pixel-size-um",
            "5",
            "--output",
            "missing/report.jsonl",
        ],
        Some(dir.path()),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("missing/report.jsonl") && err.contains("folder does not exist"),
        "{err}"
    );
    assert!(!err.contains(".tmp-"), "{err}");
}

// --output to an existing named pipe (as to /dev/null) writes into the pipe
// and leaves it a pipe: renaming a temporary file over it would replace it
// with a regular file.
#[cfg(unix)]
#[test]
fn output_to_a_pipe_is_written_in_place() {
    use std::io::Read;
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    write_png(&dir.path().join("a.png"));
    let fifo = dir.path().join("report.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("mkfifo is not available; skipped");
        return;
    }
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut text = String::new();
            std::fs::File::open(&fifo)
                .unwrap()
                .read_to_string(&mut text)
                .unwrap();
            text
        })
    };
    let out = run(
        &[
            "count",
            "a.png",
            "--pixel-size-um",
            "5",
            "--format",
            "jsonl",
            "--output",
            fifo.to_str().unwrap(),
        ],
        Some(dir.path()),
    );
    assert_exit(&out, 0);
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    let text = reader.join().unwrap();
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 1);
    assert!(records[0]["hair_count"].is_u64(), "{}", records[0]);
}

// JSON output is one array of records; every record validates against the schema.
#[test]
fn json_array_validates() {
    let dir = tempfile::tempdir().unwrap();
    write_png(&dir.path().join("a.png"));
    std::fs::write(dir.path().join("b.png"), b"").unwrap();
    let out = run(
        &[
            "count",
            "--pixel-size-um",
            "5",
            "--format",
            "json",
            "a.png",
            "b.png",
        ],
        Some(dir.path()),
    );
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 2);
    for r in arr {
        assert_valid(r);
    }
    assert!(arr[1]["error_kind"].is_string());
}

// `--detail` adds the decision trail to JSONL records: one entry per
// component, whose counted hairs add up to the record's count; the record
// still validates, and without the flag it has no `components` at all.
#[test]
fn detail_adds_the_decision_trail() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/synth");
    let truth: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures.join("units_crossings_0000.truth.json")).unwrap(),
    )
    .unwrap();
    let um = truth["pixel_size_um"].as_f64().unwrap().to_string();
    let image = fixtures.join("units_crossings_0000.jpg");
    let image = image.to_str().unwrap();
    let args = ["count", "--pixel-size-um", &um, "--format", "jsonl", image];
    let detailed = run(&[&args[..], &["--detail"]].concat(), None);
    assert_exit(&detailed, 0);
    let r = &jsonl(&detailed)[0];
    assert_valid(r);
    let trail = r["components"].as_array().expect("a decision trail");
    assert!(trail.len() > 1);
    let counted: u64 = trail.iter().map(|c| c["hairs"].as_u64().unwrap()).sum();
    assert_eq!(Some(counted), r["hair_count"].as_u64());
    assert!(trail
        .iter()
        .all(|c| !c["reason"].as_str().unwrap().is_empty()));
    assert!(
        trail.iter().any(|c| c["hairs"].as_u64() == Some(0)),
        "some component is rejected"
    );

    let plain = run(&args, None);
    assert_exit(&plain, 0);
    let p = &jsonl(&plain)[0];
    assert!(p.get("components").is_none());
    assert_eq!(p["hair_count"], r["hair_count"]);
}
