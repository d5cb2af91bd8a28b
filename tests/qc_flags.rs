//! Each quality flag on an image made to trigger it, and none on a clean one.
//!
//! The scenes are drawn here (tests/common/scene.rs) with known geometry; the
//! degradations (blur, exposure, contrast, overlay) are applied to the clean
//! scene's pixels, so each test changes one thing.

use image::{DynamicImage, Rgb, RgbImage};
use trichometry::batch::{self, BatchInput, BatchOptions};
use trichometry::{Config, Pipeline, PixelScale};

mod common;
use common::scene::Scene;

/// Every flag raised by `pipeline::qc`.
const QC: [&str; 7] = [
    "out_of_focus",
    "underexposed",
    "overexposed",
    "low_contrast",
    "few_hairs",
    "implausible_density",
    "large_overlay",
];

/// A 3 mm × 3 mm field at 5 µm/px with `n × n` clipped terminal hairs on a grid.
fn grid(n: u32, len_mm: f32, width_um: f32) -> Scene {
    let mut s = Scene::new(3.0, 3.0, 5.0);
    let cell = 3.0 / n as f32;
    for i in 0..n * n {
        let (cx, cy) = (
            (i % n) as f32 * cell + cell / 2.0,
            (i / n) as f32 * cell + cell / 2.0,
        );
        let a = (37.0 * i as f32).to_radians();
        let (dx, dy) = (0.5 * len_mm * a.cos(), 0.5 * len_mm * a.sin());
        s.hair((cx - dx, cy - dy), (cx + dx, cy + dy), width_um);
    }
    s
}

fn clean() -> Scene {
    grid(5, 0.35, 70.0) // 25 hairs in 0.09 cm²: 278 hairs/cm²
}

fn flags_of(img: RgbImage) -> Vec<String> {
    let a = Pipeline::new(Config::default())
        .unwrap()
        .analyse(
            &DynamicImage::ImageRgb8(img),
            PixelScale::new(5.0).unwrap(),
            None,
        )
        .unwrap();
    eprintln!(
        "{} hairs, blur {:?} µm, flags {:?}",
        a.hairs.len(),
        a.blur_sigma_um,
        a.qc_flags
    );
    a.qc_flags
        .into_iter()
        .filter(|f| QC.contains(&f.as_str()))
        .collect()
}

fn map(img: &RgbImage, f: impl Fn(f32) -> f32) -> RgbImage {
    RgbImage::from_fn(img.width(), img.height(), |x, y| {
        Rgb(img
            .get_pixel(x, y)
            .0
            .map(|v| f(f32::from(v)).clamp(0.0, 255.0).round() as u8))
    })
}

#[test]
fn clean_field_raises_no_flag() {
    assert_eq!(flags_of(clean().img), Vec::<String>::new());
}

// A Gaussian blur of σ = 20 µm: the blur read from the shafts' edges is
// above 12.5 µm.
#[test]
fn blurred_field_is_out_of_focus() {
    let img = image::imageops::blur(&clean().img, 4.0);
    assert_eq!(flags_of(img), ["out_of_focus"]);
}

#[test]
fn dark_and_bright_fields_are_badly_exposed() {
    let img = clean().img;
    assert!(flags_of(map(&img, |v| v * 0.1)).contains(&"underexposed".to_string()));
    assert!(flags_of(map(&img, |v| v * 1.6)).contains(&"overexposed".to_string()));
}

// Hairs at 8% of their contrast over extra noise: still counted, but close
// to the noise.
#[test]
fn faded_field_has_low_contrast() {
    let img = clean().img;
    let mut state = 99u32;
    let faded = RgbImage::from_fn(img.width(), img.height(), |x, y| {
        let p = img.get_pixel(x, y).0;
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let n = ((state >> 24) as f32 / 255.0 - 0.5) * 7.0;
        Rgb([0, 1, 2].map(|k| {
            let skin = common::scene::SKIN[k];
            (skin + 0.08 * (f32::from(p[k]) - skin) + n)
                .clamp(0.0, 255.0)
                .round() as u8
        }))
    });
    let flags = flags_of(faded);
    assert!(flags.contains(&"low_contrast".to_string()), "{flags:?}");
}

#[test]
fn three_hairs_are_few() {
    let mut s = Scene::new(3.0, 3.0, 5.0);
    for i in 0..3 {
        let y = 0.7 + 0.8 * i as f32;
        s.hair((0.8, y), (1.2, y + 0.1), 70.0);
    }
    assert_eq!(flags_of(s.img), ["few_hairs"]);
}

// 64 hairs in 0.09 cm²: 711 hairs/cm².
#[test]
fn crowded_field_is_implausible() {
    let flags = flags_of(grid(8, 0.22, 50.0).img);
    assert!(
        flags.contains(&"implausible_density".to_string()),
        "{flags:?}"
    );
}

// A saturated green caption box over 9% of the frame.
#[test]
fn burned_in_box_is_a_large_overlay() {
    let mut img = clean().img;
    for y in 0..180 {
        for x in 0..180 {
            img.put_pixel(x, y, Rgb([0, 255, 0]));
        }
    }
    let flags = flags_of(img);
    assert!(flags.contains(&"large_overlay".to_string()), "{flags:?}");
}

// No pixel size anywhere: an error record, flagged.
#[test]
fn uncalibrated_image_is_flagged_on_its_error_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("field.png");
    clean().img.save(&path).unwrap();
    let pipeline = Pipeline::new(Config::default()).unwrap();
    let reports = batch::run_collect(
        &pipeline,
        &[BatchInput::from_path(&path)],
        &BatchOptions::default(),
    );
    assert_eq!(
        reports[0].error_kind.as_deref(),
        Some("calibration_missing")
    );
    assert_eq!(reports[0].qc_flags, ["missing_calibration"]);
}
