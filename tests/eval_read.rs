//! Reading every truth and prediction format from the small files in `fixtures/eval/`.

use std::path::PathBuf;

use trichometry::eval::{read_annotations, read_ignore_regions, PositionKind, SourceFormat};

fn fixture(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/eval")
        .join(p)
}

// A sidecar folder is read recursively: count = count_exit_in_area, points =
// exits of in-area hairs only, names relative to the folder, scenario kept.
#[test]
fn sidecar_folder() {
    let s = read_annotations(fixture("sidecars")).unwrap();
    assert_eq!(s.format, SourceFormat::Sidecar);
    assert_eq!(s.positions, Some(PositionKind::Points));
    let names: Vec<&str> = s.records.iter().map(|r| r.image.as_str()).collect();
    assert_eq!(
        names,
        [
            "faint/img_001.png",
            "faint/img_002.png",
            "isolated/img_000.png"
        ]
    );
    let r = &s.records[2];
    assert_eq!(r.count, Some(3.0));
    assert_eq!(r.density_per_cm2, Some(150.0));
    assert_eq!(r.pixel_size_um, Some(10.0));
    assert_eq!(r.columns["scenario"], "isolated");
    let marks = r.marks.as_ref().unwrap();
    assert_eq!(marks.len(), 3, "the hair with its exit outside is left out");
    assert_eq!(marks[1].point, Some([60.0, 50.0]));
    assert_eq!(marks[1].diameter_um, Some(70.0));
    assert_eq!(marks[1].bbox, Some([56.0, 50.0, 66.0, 70.0]));
}

// A single sidecar file is read on its own.
#[test]
fn single_sidecar() {
    let s = read_annotations(fixture("sidecars/faint/img_001.truth.json")).unwrap();
    assert_eq!(s.records.len(), 1);
    assert_eq!(s.records[0].image, "img_001.png");
    assert_eq!(s.records[0].count, Some(2.0));
}

// trichometry JSONL: counts, hairs, meta columns, the failed record kept with
// its error, and the interrupted marker skipped.
#[test]
fn trichometry_jsonl() {
    let s = read_annotations(fixture("pred.jsonl")).unwrap();
    assert_eq!(s.format, SourceFormat::TrichometryJson);
    assert_eq!(s.records.len(), 4);
    let r = &s.records[0];
    assert_eq!(r.image, "scans/isolated/img_000.png");
    assert_eq!(r.count, Some(4.0));
    assert_eq!(r.density_per_cm2, Some(200.0));
    assert_eq!(r.columns["site"], "vertex");
    let m = r.marks.as_ref().unwrap();
    assert_eq!(m[0].point, Some([23.0, 24.0]));
    assert_eq!(m[0].bbox, Some([20.0, 20.0, 30.0, 40.0]));
    let failed = &s.records[2];
    assert!(failed
        .error
        .as_deref()
        .unwrap()
        .contains("invalid JPEG marker"));
    assert_eq!(failed.count, None);
}

// trichometry CSV: hair_count and density read, manifest columns kept, the error row kept.
#[test]
fn trichometry_csv() {
    let s = read_annotations(fixture("trichometry.csv")).unwrap();
    assert_eq!(s.format, SourceFormat::TrichometryCsv);
    assert_eq!(s.records[0].count, Some(12.0));
    assert_eq!(s.records[0].density_per_cm2, Some(156.25));
    assert_eq!(s.records[0].pixel_size_um, Some(5.0));
    assert_eq!(s.records[0].width, Some(640));
    assert_eq!(s.records[0].columns["subject"], "S01");
    assert!(s.records[1]
        .error
        .as_deref()
        .unwrap()
        .contains("file not found"));
}

// Count CSV with an extra column, and density CSV with a missing value.
#[test]
fn count_and_density_csv() {
    let s = read_annotations(fixture("counts.csv")).unwrap();
    assert_eq!(s.format, SourceFormat::CountCsv);
    assert_eq!(s.positions, None);
    let counts: Vec<Option<f64>> = s.records.iter().map(|r| r.count).collect();
    assert_eq!(counts, [Some(3.0), Some(2.0), Some(0.0)]);
    assert_eq!(s.records[1].columns["site"], "occiput");
    let d = read_annotations(fixture("density.csv")).unwrap();
    assert_eq!(d.records[0].density_per_cm2, Some(150.5));
    assert_eq!(d.records[0].count, None);
    assert_eq!(d.records[1].density_per_cm2, None);
}

// Pascal VOC: boxes with swapped corners are normalised; names from <filename>.
#[test]
fn voc_folder() {
    let s = read_annotations(fixture("voc")).unwrap();
    assert_eq!(s.format, SourceFormat::Voc);
    assert_eq!(s.positions, Some(PositionKind::Boxes));
    assert_eq!(s.records[0].image, "img_000.png");
    assert_eq!(s.records[0].count, Some(3.0));
    assert_eq!(s.records[0].width, Some(200));
    let m = s.records[0].marks.as_ref().unwrap();
    assert_eq!(m[0].bbox, Some([20.0, 20.0, 30.0, 40.0]));
    assert_eq!(m[2].bbox, Some([145.0, 75.0, 155.0, 95.0]));
    assert_eq!(m[0].point_or_centre(), Some([25.0, 30.0]));
    assert_eq!(s.records[1].count, Some(2.0));
}

// COCO: [x, y, w, h] becomes an inclusive box; the first labelled keypoint is
// the point; an image without annotations counts 0.
#[test]
fn coco() {
    let s = read_annotations(fixture("coco.json")).unwrap();
    assert_eq!(s.format, SourceFormat::Coco);
    assert_eq!(s.positions, Some(PositionKind::Points));
    let m = s.records[0].marks.as_ref().unwrap();
    assert_eq!(m[0].bbox, Some([10.0, 20.0, 14.0, 27.0]));
    assert_eq!(m[0].point, Some([12.0, 21.0]));
    assert_eq!(m[1].point, Some([101.0, 205.0]));
    assert_eq!(s.records[0].count, Some(2.0));
    assert_eq!(s.records[1].count, Some(0.0));
}

// Point CSV: one row per hair; a row without coordinates lists an image with none.
#[test]
fn point_and_box_csv() {
    let s = read_annotations(fixture("points.csv")).unwrap();
    assert_eq!(s.format, SourceFormat::HairCsv);
    assert_eq!(s.positions, Some(PositionKind::Points));
    assert_eq!(s.records.len(), 2);
    assert_eq!(s.records[0].count, Some(2.0));
    assert_eq!(s.records[1].count, Some(0.0));
    let m = s.records[0].marks.as_ref().unwrap();
    assert_eq!(m[1].point, Some([30.5, 40.0]));
    assert_eq!(m[0].diameter_um, Some(40.0));
    assert_eq!(s.records[0].columns["rater"], "A");
    let b = read_annotations(fixture("boxes.csv")).unwrap();
    assert_eq!(b.positions, Some(PositionKind::Boxes));
    let m = b.records[0].marks.as_ref().unwrap();
    assert_eq!(m[1].bbox, Some([35.0, 45.0, 40.0, 50.0]));
    let ig = read_ignore_regions(fixture("boxes.csv")).unwrap();
    assert!(ig.contains("dir/a.jpg", [15.0, 20.0]));
    assert!(!ig.contains("a.jpg", [25.0, 20.0]));
}

// Errors name the file: a missing path, and a CSV without a usable column.
#[test]
fn errors_name_the_file() {
    let e = read_annotations(fixture("nope.csv")).unwrap_err();
    assert_eq!(e.code(), "not_found");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.csv");
    std::fs::write(&p, "image,colour\na.jpg,red\n").unwrap();
    let e = read_annotations(&p).unwrap_err();
    assert_eq!(e.code(), "invalid_input");
    assert!(e.to_string().starts_with(&p.display().to_string()), "{e}");
    std::fs::write(&p, "image,count\na.jpg,many\n").unwrap();
    assert!(read_annotations(&p)
        .unwrap_err()
        .to_string()
        .contains("line 2"));
}

// trichometry's `--format json` (one array, interrupted marker inside) and its
// `--hairs-csv` (exit_x/exit_y and bbox_* columns, one row per hair) are read too.
#[test]
fn trichometry_json_array_and_hairs_csv() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("out.json");
    std::fs::write(
        &p,
        r#"[
{"image": "a.jpg", "hair_count": 2, "density_per_cm2": 40.0, "hairs": [], "error": null, "meta": {"subject": 7}},
{"interrupted": true, "processed": 1, "total": 2}
]"#,
    )
    .unwrap();
    let s = read_annotations(&p).unwrap();
    assert_eq!(s.format, SourceFormat::TrichometryJson);
    assert_eq!(s.records.len(), 1);
    assert_eq!(s.records[0].count, Some(2.0));
    assert_eq!(s.records[0].columns["subject"], "7");
    let p = dir.path().join("hairs.csv");
    std::fs::write(
        &p,
        "image,id,unit_id,class,diameter_um,length_um,exit_x,exit_y,tip_x,tip_y,bbox_x_min,bbox_y_min,bbox_x_max,bbox_y_max\n\
         a.jpg,1,1,vellus,22.5,300,10,11,12,40,8,9,14,41\n\
         a.jpg,2,1,terminal,70,500,10,11,30,60,9,10,31,61\n",
    )
    .unwrap();
    let s = read_annotations(&p).unwrap();
    assert_eq!(s.format, SourceFormat::HairCsv);
    assert_eq!(s.positions, Some(PositionKind::Points));
    let m = s.records[0].marks.as_ref().unwrap();
    assert_eq!(m.len(), 2);
    assert_eq!(m[0].point, Some([10.0, 11.0]));
    assert_eq!(m[0].bbox, Some([8.0, 9.0, 14.0, 41.0]));
    assert_eq!(m[1].diameter_um, Some(70.0));
    assert!(
        s.records[0].columns.is_empty(),
        "{:?}",
        s.records[0].columns
    );
}
