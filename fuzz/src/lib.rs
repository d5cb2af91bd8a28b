//! Entry points shared by the fuzz targets (`fuzz/fuzz_targets/`) and by the
//! stable replay test (`tests/fuzz_replay.rs`, which includes this file as a
//! module), so that a corpus file or crash reproducer exercises exactly the
//! same code in both places.
//!
//! Each entry takes arbitrary bytes and must return normally: an error from
//! trichometry is an expected outcome, a panic is a bug. The few `assert!`s
//! check promises the public API makes (limits honoured, a validated
//! configuration builds a pipeline, finite densities).

use std::path::Path;
use std::sync::OnceLock;

use trichometry::calibrate::PixelScale;
use trichometry::decode::{decode_bytes, DecodeLimits};
use trichometry::report::{fill_from_analysis, ImageReport, Provenance, Roi};
use trichometry::{Config, Pipeline};

/// Decoding limits of the `decode_analyse` target: small, so that one input
/// never takes more than a few milliseconds and a mutated header cannot make
/// the fuzzer spend its time allocating.
pub fn fuzz_limits() -> DecodeLimits {
    DecodeLimits {
        max_width_px: 512,
        max_height_px: 512,
        max_alloc_bytes: 2 << 20,
        max_pixels: 256 * 256,
    }
}

fn default_pipeline() -> &'static Pipeline {
    static PIPELINE: OnceLock<Pipeline> = OnceLock::new();
    PIPELINE.get_or_init(|| Pipeline::new(Config::default()).expect("default config is valid"))
}

/// Pixel sizes the first input byte chooses from, µm/px.
const SCALES_UM: [f64; 4] = [2.5, 5.0, 10.0, 20.0];

/// Arbitrary bytes through decoding and, when they decode, the whole
/// pipeline and the report.
///
/// Input layout: one selector byte, then the file bytes. Bits 0–1 of the
/// selector choose the pixel size from [`SCALES_UM`]; bits 2–3 the region of
/// interest (none, none, a 0.01 cm² circle centred on the tattoo dot or the
/// image centre, or a 300 µm circle at the image centre).
pub fn decode_analyse(data: &[u8]) {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let limits = fuzz_limits();
    let Ok(decoded) = decode_bytes(bytes, &limits) else {
        return;
    };
    let (w, h) = (decoded.image.width(), decoded.image.height());
    assert!(
        w <= limits.max_width_px && h <= limits.max_height_px,
        "decoded {w} x {h} beyond the limits"
    );
    let scale = PixelScale::new(SCALES_UM[usize::from(selector & 3)]).expect("valid scale");
    let roi = match (selector >> 2) & 3 {
        2 => Some(Roi::CentredArea { area_cm2: 0.01 }),
        3 => Some(Roi::Circle {
            cx_px: f64::from(w) / 2.0,
            cy_px: f64::from(h) / 2.0,
            radius_um: 300.0,
        }),
        _ => None,
    };
    let pipeline = default_pipeline();
    let Ok(analysis) = pipeline.analyse(&decoded.image, scale, roi.as_ref()) else {
        return;
    };
    assert!(
        analysis.density_per_cm2.is_finite() && analysis.density_per_cm2 >= 0.0,
        "density {}",
        analysis.density_per_cm2
    );
    for hair in &analysis.hairs {
        let [x0, y0, x1, y1] = hair.bbox;
        assert!(
            x0 <= x1 && y0 <= y1 && x1 < w && y1 < h,
            "hair {} bbox {:?} outside {w} x {h}",
            hair.id,
            hair.bbox
        );
    }
    let mut report = ImageReport::empty(
        "fuzz".to_string(),
        Default::default(),
        Provenance {
            crate_version: String::new(),
            config_hash: String::new(),
            calibration_source: None,
        },
    );
    fill_from_analysis(&mut report, &analysis, scale, pipeline.config());
    assert_eq!(report.hair_count, Some(analysis.hairs.len() as u32));
    serde_json::to_string(&report).expect("a report serialises to JSON");
}

/// Arbitrary bytes through the count manifest parser and the study manifest
/// parser (which share the CSV reader).
pub fn manifest(data: &[u8]) {
    let base = Path::new("base");
    if let Ok(rows) = trichometry::batch::parse_manifest(data, base) {
        for row in &rows {
            assert!(
                row.problem.is_some() || !row.image.is_empty(),
                "a row without image and without problem"
            );
        }
    }
    if let Ok(mut m) = trichometry::study::manifest::parse_manifest(data, base) {
        let _ = m.batch_inputs();
        if let Ok(b) = m.baseline(None) {
            m.check_baseline(&b);
        }
    }
}

/// A small fixed field (two dark strokes on light skin) that a fuzzed
/// configuration is run on.
fn small_field() -> &'static image::DynamicImage {
    static FIELD: OnceLock<image::DynamicImage> = OnceLock::new();
    FIELD.get_or_init(|| {
        let mut img = image::RgbImage::from_pixel(96, 72, image::Rgb([214, 186, 172]));
        for t in 0..40u32 {
            for d in 0..3u32 {
                img.put_pixel(20 + d + t / 3, 10 + t, image::Rgb([45, 35, 30]));
                img.put_pixel(60 + d, 20 + t, image::Rgb([60, 45, 40]));
            }
        }
        image::DynamicImage::ImageRgb8(img)
    })
}

/// Arbitrary text through the TOML and JSON configuration parsers; a
/// configuration that parses must validate, round-trip through TOML, build a
/// pipeline, and analyse a small field without panicking.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for parsed in [Config::from_toml_str(text), Config::from_json_str(text)] {
        let Ok(cfg) = parsed else { continue };
        let _ = cfg.hash();
        let toml = cfg.to_toml_string();
        if let Err(e) = Config::from_toml_str(&toml) {
            panic!("a valid configuration does not re-read from its own TOML: {e}\n{toml}");
        }
        let pipeline = match Pipeline::new(cfg) {
            Ok(p) => p,
            Err(e) => panic!("a parsed configuration does not build a pipeline: {e}"),
        };
        let scale = PixelScale::new(5.0).expect("valid scale");
        let _ = pipeline.analyse(small_field(), scale, None);
    }
}
