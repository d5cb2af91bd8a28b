//! Property tests of the counting pipeline's invariants on small generated
//! fields (`trichometry::synth`, clean and with capture effects):
//!
//! * the count does not change under 90° rotation or mirroring;
//! * isolated specks smaller than `components.min_area_um2` change nothing;
//! * an empty (uniform) field counts 0;
//! * scale equivariance: the same scene downsampled 2× (2 × 2 box average)
//!   with the pixel size doubled gives the same density within a stated
//!   tolerance;
//! * determinism: the same image twice gives the same analysis, and a batch
//!   gives byte-identical reports on 1 and 2 threads;
//! * labels stay within `0..=count`, every label is used, and the number of
//!   components matches a reference flood fill.
//!
//! Seeds are pinned so a failure reproduces; `PROPTEST_CASES=N` runs longer.
//!
//! Two invariants do not hold on the current counting pipeline; their tests
//! are `#[ignore]`d, each naming the smallest failing case proptest found, and
//! run with `cargo test --test pipeline_props -- --ignored` (they are the
//! acceptance checks for the pipeline work under way).

use image::{DynamicImage, GrayImage, Luma, Rgb, RgbImage};
use proptest::prelude::*;
use trichometry::batch::{self, BatchInput, BatchOptions};
use trichometry::pipeline::components::{label, Connectivity};
use trichometry::pipeline::segment::HairMask;
use trichometry::synth::{generate_with_params, Scenario, SynthImage};
use trichometry::{Analysis, Config, Pipeline, PixelScale};

mod common;
use common::proptest_config as cfg;

fn pipeline() -> Pipeline {
    Pipeline::new(Config::default()).unwrap()
}

/// A small generated field, described by what the strategy draws.
#[derive(Debug, Clone, Copy)]
struct Field {
    scenario: Scenario,
    seed: u64,
    pixel_size_um: f64,
    field_cm2: f64,
    clean: bool,
}

impl Field {
    /// Renders the field (at most 400 × 400 pixels for the drawn ranges).
    fn render(&self) -> RgbImage {
        self.render_with_truth().image
    }

    /// The rendered field with its ground truth.
    fn render_with_truth(&self) -> SynthImage {
        let mut params = self.scenario.params();
        if self.clean {
            params = params.clean();
        }
        params.pixel_size_um = [self.pixel_size_um; 2];
        params.field_cm2 = [self.field_cm2; 2];
        params.jpeg_quality = None;
        let img = generate_with_params(&params, self.scenario.name(), self.seed, 0).unwrap();
        assert!(img.image.width() <= 400 && img.image.height() <= 400);
        img
    }

    fn scale(&self) -> PixelScale {
        PixelScale::new(self.pixel_size_um).unwrap()
    }
}

/// Fields of 5 µm/px, 0.01–0.03 cm² (about 220 × 180 to 390 × 310 pixels).
fn field() -> impl Strategy<Value = Field> {
    (
        prop_oneof![
            Just(Scenario::Isolated),
            Just(Scenario::UnitsCrossings),
            Just(Scenario::Mixed),
        ],
        0u64..10_000,
        0.01f64..0.03,
        any::<bool>(),
    )
        .prop_map(|(scenario, seed, field_cm2, clean)| Field {
            scenario,
            seed,
            pixel_size_um: 5.0,
            field_cm2,
            clean,
        })
}

fn analyse(p: &Pipeline, img: &RgbImage, scale: PixelScale) -> Analysis {
    p.analyse(&DynamicImage::ImageRgb8(img.clone()), scale, None)
        .unwrap()
}

// Rotating by 90° (and 180°, 270°) or mirroring the field never changes its
// count: the counting convention is symmetric. The whole analysis follows the
// transform: each hair's exit, tip and box are the original's, transformed.
proptest! {
    #![proptest_config(cfg(16))]
    #[test]
    fn count_unchanged_by_rotation_and_mirror(f in field()) {
        let p = pipeline();
        let img = f.render();
        let a = analyse(&p, &img, f.scale());
        let (w, h) = (f64::from(img.width()), f64::from(img.height()));
        // Where a point of the field lands in each transformed copy.
        type Map = Box<dyn Fn([f64; 2]) -> [f64; 2]>;
        let turned: [(&str, RgbImage, Map); 5] = [
            ("rotate90", image::imageops::rotate90(&img), Box::new(move |[x, y]| [h - 1.0 - y, x])),
            ("rotate180", image::imageops::rotate180(&img), Box::new(move |[x, y]| [w - 1.0 - x, h - 1.0 - y])),
            ("rotate270", image::imageops::rotate270(&img), Box::new(move |[x, y]| [y, w - 1.0 - x])),
            ("flip_horizontal", image::imageops::flip_horizontal(&img), Box::new(move |[x, y]| [w - 1.0 - x, y])),
            ("flip_vertical", image::imageops::flip_vertical(&img), Box::new(move |[x, y]| [x, h - 1.0 - y])),
        ];
        for (name, t, map) in &turned {
            let b = analyse(&p, t, f.scale());
            prop_assert_eq!(b.hairs.len(), a.hairs.len(), "{} changed the count of {:?}", name, f);
            prop_assert_eq!(b.density_per_cm2, a.density_per_cm2);
            prop_assert_eq!(&b.qc_flags, &a.qc_flags);
            for (hb, ha) in b.hairs.iter().zip(&a.hairs) {
                let near = |p: [f64; 2], q: [f64; 2]| (p[0] - q[0]).abs() < 1e-9 && (p[1] - q[1]).abs() < 1e-9;
                prop_assert!(near(hb.exit, map(ha.exit)) && near(hb.tip, map(ha.tip)), "{}: {:?} vs {:?}", name, hb, ha);
                prop_assert_eq!(hb.diameter_um, ha.diameter_um);
                prop_assert_eq!(hb.length_um, ha.length_um);
            }
        }
    }
}

/// Darkest-neighbourhood test for speck placement: true when every pixel in
/// the `(2r+1)²` window around `(x, y)` is within 30 levels of the median
/// gray of the field (so nothing dark is near: no hair, dot or opening).
fn quiet_around(gray: &GrayImage, median: u8, x: u32, y: u32, r: u32) -> bool {
    let (w, h) = gray.dimensions();
    if x < r || y < r || x + r >= w || y + r >= h {
        return false;
    }
    (y - r..=y + r).all(|yy| {
        (x - r..=x + r).all(|xx| {
            let v = gray.get_pixel(xx, yy)[0];
            v.abs_diff(median) <= 30
        })
    })
}

// Isolated specks of 1–4 pixels (25–100 µm² at 5 µm/px, far below the
// default `components.min_area_um2` of 500 µm²) on quiet skin, at least
// 12 pixels from anything dark and with more than 12 pixels of skin between
// them and every object of the truth (a faint vellus tip hardly darkens the
// image, but a speck beside it is not isolated), change neither the count,
// the density nor where the hairs are (exits and tips within a quarter of
// the shaft's diameter, at least 1.5 px: a speck nudges the robust noise
// level, and with it the mask's edge and the skeleton's ends by a pixel,
// never the decisions).
proptest! {
    #![proptest_config(cfg(16))]
    #[test]
    #[ignore = "fails on the current pipeline: one 1-px speck on quiet skin of UnitsCrossings seed 4780 with capture effects (0.0117 cm², 5 µm/px) touches the mask of a band of parallel shafts (area +1 px), and the band, read as four shafts without it, is read as one"]
    fn small_specks_change_nothing(
        f in field(),
        specks in prop::collection::vec((0.0f64..1.0, 0.0f64..1.0, 1u32..=2, 1u32..=2), 1..16),
    ) {
        let p = pipeline();
        assert!(p.config().components.min_area_um2 > 4.0 * 25.0);
        let SynthImage { image: img, truth, .. } = f.render_with_truth();
        let before = analyse(&p, &img, f.scale());
        let gray = image::imageops::grayscale(&img);
        let mut values: Vec<u8> = gray.as_raw().clone();
        values.sort_unstable();
        let median = values[values.len() / 2];
        let (w, h) = img.dimensions();
        let mut spotted = img.clone();
        let mut placed: Vec<(u32, u32)> = Vec::new();
        for (fx, fy, sw, sh) in specks {
            let x = (fx * f64::from(w)) as u32;
            let y = (fy * f64::from(h)) as u32;
            // Far from anything dark, from every object and from the other specks.
            let centre = [f64::from(x) + 0.5 * f64::from(sw), f64::from(y) + 0.5 * f64::from(sh)];
            if !quiet_around(&gray, median, x, y, 12)
                || truth.clearance_px(centre) <= 12.0
                || placed.iter().any(|&(px, py)| px.abs_diff(x) < 12 && py.abs_diff(y) < 12)
            {
                continue;
            }
            placed.push((x, y));
            for yy in y..y + sh {
                for xx in x..x + sw {
                    spotted.put_pixel(xx, yy, Rgb([40, 30, 25]));
                }
            }
        }
        let after = analyse(&p, &spotted, f.scale());
        prop_assert_eq!(after.hairs.len(), before.hairs.len(), "{:?} specks at {:?}", f, placed);
        prop_assert_eq!(after.density_per_cm2, before.density_per_cm2);
        for (a, b) in after.hairs.iter().zip(&before.hairs) {
            let tol = (0.25 * b.diameter_um / f.pixel_size_um).max(1.5);
            let near = |p: [f64; 2], q: [f64; 2]| (p[0] - q[0]).hypot(p[1] - q[1]) <= tol;
            prop_assert!(near(a.exit, b.exit) && near(a.tip, b.tip), "{:?}: {:?} vs {:?}", f, a, b);
        }
    }
}

// A uniform field of any colour and size counts 0 hairs, with a finite density of 0.
proptest! {
    #![proptest_config(cfg(32))]
    #[test]
    fn uniform_field_counts_zero(
        w in 1u32..=400,
        h in 1u32..=400,
        rgb in any::<[u8; 3]>(),
        um in prop_oneof![Just(2.5), Just(5.0), Just(12.0)],
    ) {
        let p = pipeline();
        let img = RgbImage::from_pixel(w, h, Rgb(rgb));
        let a = analyse(&p, &img, PixelScale::new(um).unwrap());
        prop_assert_eq!(a.hairs.len(), 0);
        prop_assert_eq!(a.density_per_cm2, 0.0);
    }
}

/// 2 × 2 box average: what a sensor with pixels twice as large would record.
fn downsample2(img: &RgbImage) -> RgbImage {
    let (w, h) = (img.width() / 2, img.height() / 2);
    RgbImage::from_fn(w, h, |x, y| {
        let mut s = [0u32; 3];
        for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
            let px = img.get_pixel(2 * x + dx, 2 * y + dy);
            for c in 0..3 {
                s[c] += u32::from(px[c]);
            }
        }
        Rgb(s.map(|v| ((v + 2) / 4) as u8))
    })
}

/// Allowed difference, in hairs, between the full-resolution and the 2×
/// downsampled count of the same scene: one hair, or 20% of the full count,
/// whichever is larger. Halving the resolution merges near-touching shafts,
/// moves exit points by up to a pixel across the frame edge and thins vellus
/// hairs below the resolvable width, so an exact match is not expected.
fn scale_tolerance(n_full: usize) -> f64 {
    (0.2 * n_full as f64).max(1.0)
}

// Downsampling 2× with the pixel size doubled (2.5 → 5 µm/px) keeps the
// density within `scale_tolerance` hairs over the same analysed area.
proptest! {
    #![proptest_config(cfg(16))]
    #[test]
    #[ignore = "fails on the current pipeline: clean Mixed seed 1700, 0.0050 cm², reads 4 hairs at 2.5 µm/px and 2 after 2x downsampling with the pixel size doubled (tolerance max(1 hair, 20%)); 18 of 300 such fields (isolated and mixed, 0.005-0.008 cm²) fail, all mixed; in the two examined, the 2.5 µm/px count was high: a band of crossing shafts read as four parallel hairs, and the skin's network as faint shafts"]
    fn density_equivariant_under_2x_downsampling(
        scenario in prop_oneof![Just(Scenario::Isolated), Just(Scenario::Mixed)],
        seed in 0u64..10_000,
        field_cm2 in 0.005f64..0.008,
    ) {
        let f = Field { scenario, seed, pixel_size_um: 2.5, field_cm2, clean: true };
        let p = pipeline();
        let mut img = f.render();
        // Even sides, so that both images cover exactly the same area.
        img = image::imageops::crop_imm(&img, 0, 0, img.width() & !1, img.height() & !1).to_image();
        let full = analyse(&p, &img, f.scale());
        let half = analyse(&p, &downsample2(&img), PixelScale::new(5.0).unwrap());
        prop_assert!((full.analysed_area_cm2 - half.analysed_area_cm2).abs() <= 1e-9 + 0.01 * full.analysed_area_cm2);
        let diff_hairs = (full.density_per_cm2 - half.density_per_cm2).abs() * full.analysed_area_cm2;
        prop_assert!(
            diff_hairs <= scale_tolerance(full.hairs.len()) + 1e-9,
            "{:?}: {} hairs ({:.1}/cm²) at 2.5 µm/px, {} ({:.1}/cm²) at 5 µm/px",
            f, full.hairs.len(), full.density_per_cm2, half.hairs.len(), half.density_per_cm2
        );
    }
}

// The same image analysed twice gives an identical analysis, decision trail included.
proptest! {
    #![proptest_config(cfg(16))]
    #[test]
    fn analysis_is_repeatable(f in field()) {
        let p = pipeline();
        let img = f.render();
        let a = analyse(&p, &img, f.scale());
        let b = analyse(&p, &img, f.scale());
        prop_assert_eq!(a, b);
    }
}

// A batch of random fields gives byte-identical JSON reports on 1 and 2
// threads (reports carry no timing fields).
proptest! {
    #![proptest_config(cfg(8))]
    #[test]
    fn batch_identical_on_1_and_2_threads(fields in prop::collection::vec(field(), 2..6)) {
        let dir = tempfile::tempdir().unwrap();
        let inputs: Vec<BatchInput> = fields
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let path = dir.path().join(format!("f{i}.png"));
                f.render().save(&path).unwrap();
                BatchInput::from_path(path)
            })
            .collect();
        let p = pipeline();
        let opts = BatchOptions { pixel_size_um: Some(5.0), ..Default::default() };
        let json_with = |threads: usize| -> Vec<String> {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| batch::run_collect(&p, &inputs, &opts))
                .iter()
                .map(|r| serde_json::to_string(r).unwrap())
                .collect()
        };
        let one = json_with(1);
        let two = json_with(2);
        prop_assert_eq!(one.len(), inputs.len());
        prop_assert_eq!(one, two);
    }
}

/// Reference labelling: number of components by breadth-first flood fill.
fn reference_component_count(mask: &GrayImage, conn: Connectivity) -> u32 {
    let (w, h) = mask.dimensions();
    let mut seen = vec![false; (w * h) as usize];
    let mut n = 0;
    let offsets: &[(i64, i64)] = match conn {
        Connectivity::Four => &[(1, 0), (-1, 0), (0, 1), (0, -1)],
        Connectivity::Eight => &[
            (1, 0),
            (-1, 0),
            (0, 1),
            (0, -1),
            (1, 1),
            (1, -1),
            (-1, 1),
            (-1, -1),
        ],
    };
    for start in 0..w * h {
        if mask.as_raw()[start as usize] == 0 || seen[start as usize] {
            continue;
        }
        n += 1;
        seen[start as usize] = true;
        let mut queue = std::collections::VecDeque::from([start]);
        while let Some(i) = queue.pop_front() {
            let (x, y) = (i64::from(i % w), i64::from(i / w));
            for &(dx, dy) in offsets {
                let (nx, ny) = (x + dx, y + dy);
                if nx < 0 || ny < 0 || nx >= i64::from(w) || ny >= i64::from(h) {
                    continue;
                }
                let j = (ny as u32 * w + nx as u32) as usize;
                if mask.as_raw()[j] != 0 && !seen[j] {
                    seen[j] = true;
                    queue.push_back(j as u32);
                }
            }
        }
    }
    n
}

// Labels stay within 0..=count, background is exactly label 0, labels are
// numbered in raster order of each component's first pixel, and the count
// matches a reference flood fill, for both connectivities.
proptest! {
    #![proptest_config(cfg(64))]
    #[test]
    fn labels_within_range(
        w in 1u32..40,
        h in 1u32..40,
        fill in 0.0f64..1.0,
        bits in prop::collection::vec(any::<u16>(), 1600),
    ) {
        let mask = GrayImage::from_fn(w, h, |x, y| {
            let v = f64::from(bits[(y * 40 + x) as usize]) / 65535.0;
            Luma([if v < fill { 255 } else { 0 }])
        });
        for conn in [Connectivity::Four, Connectivity::Eight] {
            let labels = label(&HairMask(mask.clone()), conn);
            prop_assert_eq!(labels.image.dimensions(), (w, h));
            prop_assert_eq!(labels.count, reference_component_count(&mask, conn));
            let mut next = 1u32;
            for (l, m) in labels.image.as_raw().iter().zip(mask.as_raw()) {
                prop_assert_eq!(*l == 0, *m == 0);
                prop_assert!(*l <= labels.count);
                // First appearance of each label is in increasing order.
                if *l == next {
                    next += 1;
                } else {
                    prop_assert!(*l < next, "label {} appears before {}", l, next);
                }
            }
            prop_assert_eq!(next - 1, labels.count);
        }
    }
}
