//! Golden test of the review overlay: a hand-built analysis drawn on a plain
//! field must match `fixtures/truth/overlay_golden.png` pixel for pixel.
//! Refresh deliberately with `REGENERATE=1 cargo test --test overlay_golden`
//! and review the new image in the diff.

use std::path::Path;

use trichometry::pipeline::{Analysis, ComponentDecision};
use trichometry::report::{Hair, HairClass, Roi};
use trichometry::{overlay, PixelScale};

fn hair(id: u32, unit_id: u32, class: Option<HairClass>, exit: [f64; 2], tip: [f64; 2]) -> Hair {
    Hair {
        id,
        unit_id,
        class,
        diameter_um: 50.0,
        length_um: 1000.0,
        exit,
        tip,
        bbox: [
            exit[0].min(tip[0]) as u32,
            exit[1].min(tip[1]) as u32,
            exit[0].max(tip[0]) as u32,
            exit[1].max(tip[1]) as u32,
        ],
    }
}

#[test]
fn overlay_matches_golden() {
    let img = image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
        480,
        360,
        image::Rgb([205, 180, 170]),
    ));
    let analysis = Analysis {
        width: 480,
        height: 360,
        analysed_area_cm2: 0.0432,
        roi: Some(Roi::Circle {
            cx_px: 240.0,
            cy_px: 200.0,
            radius_um: 700.0,
        }),
        hairs: vec![
            hair(
                1,
                1,
                Some(HairClass::Terminal),
                [200.0, 200.0],
                [120.0, 150.0],
            ),
            hair(
                2,
                1,
                Some(HairClass::Intermediate),
                [204.0, 204.0],
                [130.0, 250.0],
            ),
            hair(
                3,
                2,
                Some(HairClass::Vellus),
                [330.0, 220.0],
                [400.0, 300.0],
            ),
            hair(4, 3, None, [300.0, 120.0], [380.0, 110.0]),
        ],
        density_per_cm2: 92.6,
        qc_flags: vec![],
        blur_sigma_um: None,
        components: vec![ComponentDecision {
            bbox: [60, 280, 90, 310],
            area_px: 500,
            hairs: 0,
            reason: "round_dot".into(),
        }],
        three_classes: true,
    };
    let out = overlay::render_overlay(&img, &analysis, PixelScale::new(5.0).unwrap());
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/truth/overlay_golden.png");
    if std::env::var_os("REGENERATE").is_some() {
        out.save(&golden).unwrap();
    }
    let expected = image::open(&golden)
        .expect("golden overlay missing: run with REGENERATE=1")
        .to_rgb8();
    assert_eq!(out.dimensions(), expected.dimensions());
    let differing = out
        .pixels()
        .zip(expected.pixels())
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(
        differing, 0,
        "{differing} pixels differ from the golden overlay"
    );
}
