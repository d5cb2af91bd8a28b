//! Batch runner: one record per input, in input order, identical whatever the
//! number of threads, and an unreadable file never takes the batch down.

use std::path::Path;

use trichometry::batch::{self, BatchInput, BatchOptions};
use trichometry::{Config, ImageReport, Pipeline};

/// Draws a field with `n` dark bars (hair-like shafts) on light skin.
fn write_field(path: &Path, n: u32, seed: u32) {
    let (w, h) = (320u32, 240u32);
    let mut img = image::RgbImage::from_pixel(w, h, image::Rgb([214, 186, 172]));
    for i in 0..n {
        let x0 = 20 + (i * 53 + seed * 17) % (w - 60);
        let y0 = 20 + (i * 37 + seed * 29) % (h - 100);
        for t in 0..70 {
            for dx in 0..5 {
                img.put_pixel(x0 + dx + t / 4, y0 + t, image::Rgb([45, 35, 30]));
            }
        }
    }
    img.save(path).unwrap();
}

fn strip_timing(r: &ImageReport) -> String {
    serde_json::to_string(r).unwrap()
}

// Results are in input order, and byte-identical with 1 and 3 worker threads.
#[test]
fn order_and_thread_independence() {
    let dir = tempfile::tempdir().unwrap();
    let mut inputs = Vec::new();
    for i in 0..12u32 {
        let p = dir.path().join(format!("f{i:02}.png"));
        write_field(&p, i % 5, i);
        inputs.push(BatchInput::from_path(p));
    }
    // An unreadable (corrupt) file in the middle of the batch.
    let bad = dir.path().join("zz_corrupt.png");
    std::fs::write(&bad, b"\x89PNG\r\n\x1a\n garbage").unwrap();
    inputs.insert(5, BatchInput::from_path(bad));
    let pipeline = Pipeline::new(Config::default()).unwrap();
    let opts = BatchOptions {
        pixel_size_um: Some(5.0),
        ..Default::default()
    };
    let run_with = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| batch::run_collect(&pipeline, &inputs, &opts))
    };
    let one = run_with(1);
    let three = run_with(3);
    assert_eq!(one.len(), inputs.len());
    for (r, i) in one.iter().zip(&inputs) {
        assert_eq!(r.image, i.image);
    }
    let a: Vec<String> = one.iter().map(strip_timing).collect();
    let b: Vec<String> = three.iter().map(strip_timing).collect();
    assert_eq!(a, b);
    // Only the corrupt file is an error record.
    let errors: Vec<usize> = one
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_error())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        errors,
        vec![5],
        "{:?}",
        one.iter().map(|r| &r.error).collect::<Vec<_>>()
    );
}

// A cancelled batch delivers exactly a prefix of the inputs and says how many.
#[test]
fn cancel_gives_a_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.png");
    write_field(&p, 2, 1);
    let inputs: Vec<BatchInput> = (0..6).map(|_| BatchInput::from_path(&p)).collect();
    let pipeline = Pipeline::new(Config::default()).unwrap();
    let cancel = std::sync::atomic::AtomicBool::new(true);
    let opts = BatchOptions {
        pixel_size_um: Some(5.0),
        cancel: Some(&cancel),
        ..Default::default()
    };
    let mut seen = Vec::new();
    let n = batch::run(&pipeline, &inputs, &opts, |i, _| seen.push(i));
    assert_eq!(n, 0);
    assert!(seen.is_empty());
    cancel.store(false, std::sync::atomic::Ordering::SeqCst);
    let n = batch::run(&pipeline, &inputs, &opts, |i, _| seen.push(i));
    assert_eq!(n, 6);
    assert_eq!(seen, vec![0, 1, 2, 3, 4, 5]);
}

// Manifest parsing: relative paths join the manifest's folder; a bad row becomes an
// error record with its line number; ROI columns are parsed.
#[test]
fn manifest_rows() {
    let m = b"image,pixel_size_um,roi_cx_px,roi_cy_px,roi_radius_um,site\n\
              a.png,5,100,80,2000,vertex\n\
              ,5,,,,frontal\n\
              b.png,x,,,,frontal\n\
              c.png,,10,,,frontal\n";
    let rows = batch::parse_manifest(m, Path::new("/data/study")).unwrap();
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0].path, Path::new("/data/study/a.png"));
    assert_eq!(rows[0].pixel_size_um, Some(5.0));
    assert!(
        matches!(rows[0].roi, Some(trichometry::report::Roi::Circle { radius_um, .. }) if radius_um == 2000.0)
    );
    assert_eq!(rows[0].meta["site"], "vertex");
    assert!(rows[1].problem.as_deref().unwrap().contains("line 3"));
    assert!(rows[2].problem.as_deref().unwrap().contains("line 4"));
    assert!(rows[3]
        .problem
        .as_deref()
        .unwrap()
        .contains("incomplete ROI"));
    assert!(batch::parse_manifest(b"file\na.png\n", Path::new(".")).is_err());
}
