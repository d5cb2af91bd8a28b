//! Ctrl-C during `trichometry count`: the run stops cleanly, writes the
//! finished records that form a prefix of the input order, then
//! `{"interrupted": true, "processed": k, "total": n}`, and exits 130.
#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

/// Number of images in the batch: enough that the run is still going when
/// the first records reach the pipe (stdout is flushed in 8 KiB blocks).
const N_IMAGES: usize = 400;

/// Writes `N_IMAGES` small generated fields named `img_000.png`, ... into
/// `dir`: four distinct synthetic images, each copied many times.
fn write_batch(dir: &Path) -> Vec<String> {
    let mut sources = Vec::new();
    for i in 0..4u32 {
        let mut params = trichometry::synth::Scenario::Isolated.params();
        params.pixel_size_um = [5.0, 5.0];
        params.field_cm2 = [0.04, 0.04];
        params.jpeg_quality = None;
        let img = trichometry::synth::generate_with_params(&params, "interrupt", 7, i).unwrap();
        let p = dir.join(format!("src_{i}.png.tmp"));
        img.image
            .save_with_format(&p, image::ImageFormat::Png)
            .unwrap();
        sources.push(p);
    }
    let mut names = Vec::new();
    for k in 0..N_IMAGES {
        let name = format!("img_{k:03}.png");
        std::fs::copy(&sources[k % sources.len()], dir.join(&name)).unwrap();
        names.push(name);
    }
    for p in sources {
        std::fs::remove_file(p).unwrap();
    }
    names
}

// SIGINT once the first records are out: exit 130, a prefix of the input
// order, and the interrupted marker with the right counts as the last line.
#[test]
fn ctrl_c_writes_a_prefix_and_the_marker() {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("images");
    std::fs::create_dir(&images).unwrap();
    let names = write_batch(&images);

    let mut child = Command::new(env!("CARGO_BIN_EXE_trichometry"))
        .args(["count", "--pixel-size-um", "5", "--format", "jsonl"])
        .args(["--jobs", "2", "--no-progress"])
        .arg(&images)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start trichometry");
    let pid = child.id();
    let stdout = child.stdout.take().unwrap();
    let (first_tx, first_rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if lines.is_empty() {
                let _ = first_tx.send(());
            }
            lines.push(line);
        }
        lines
    });
    first_rx
        .recv_timeout(Duration::from_secs(300))
        .expect("no record within 5 minutes");
    let status = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let lines = reader.join().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);

    assert_eq!(out.status.code(), Some(130), "stderr: {stderr}");
    let (marker, records) = lines.split_last().expect("some output");
    let marker: Value = serde_json::from_str(marker).unwrap();
    let k = records.len();
    assert!((1..N_IMAGES).contains(&k), "{k} records of {N_IMAGES}");
    assert_eq!(
        marker,
        serde_json::json!({"interrupted": true, "processed": k, "total": N_IMAGES})
    );
    // The marker is written with its keys in this order, on one line.
    assert_eq!(
        lines.last().unwrap(),
        &format!(r#"{{"interrupted":true,"processed":{k},"total":{N_IMAGES}}}"#)
    );
    // The records are the first k inputs, in input order, each complete.
    for (line, name) in records.iter().zip(&names) {
        let r: Value = serde_json::from_str(line).unwrap();
        let image = r["image"].as_str().unwrap();
        assert!(image.ends_with(name.as_str()), "{image} should be {name}");
        assert!(r["error"].is_null(), "{line}");
        assert!(r["hair_count"].is_u64(), "{line}");
    }
    assert!(
        stderr.contains(&format!("interrupted after {k} of {N_IMAGES} images")),
        "{stderr}"
    );
}

// The same through `--output`: the file is complete (renamed into place) and
// ends with the marker; no temporary file is left behind.
#[test]
fn ctrl_c_with_output_file_keeps_the_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("images");
    std::fs::create_dir(&images).unwrap();
    let names = write_batch(&images);
    let out_path = dir.path().join("out.jsonl");

    let child = Command::new(env!("CARGO_BIN_EXE_trichometry"))
        .args(["count", "--pixel-size-um", "5", "--format", "jsonl"])
        .args(["--jobs", "2", "--no-progress", "--output"])
        .arg(&out_path)
        .arg(&images)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start trichometry");
    let pid = child.id();
    // Wait until the temporary output holds something (the first block of records).
    let tmp = dir.path().join(format!(".out.jsonl.tmp-{pid}"));
    let start = std::time::Instant::now();
    while std::fs::metadata(&tmp).map_or(0, |m| m.len()) == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "no output within 5 minutes"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!tmp.exists(), "temporary file left behind");
    let text = std::fs::read_to_string(&out_path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let (marker, records) = lines.split_last().unwrap();
    let k = records.len();
    assert!((1..N_IMAGES).contains(&k), "{k} records of {N_IMAGES}");
    let marker: Value = serde_json::from_str(marker).unwrap();
    assert_eq!(
        marker,
        serde_json::json!({"interrupted": true, "processed": k, "total": N_IMAGES})
    );
    for (line, name) in records.iter().zip(&names) {
        let r: Value = serde_json::from_str(line).unwrap();
        assert!(r["image"].as_str().unwrap().ends_with(name.as_str()));
    }
}
