//! Synthetic trichoscopy / phototrichogram images with exact ground truth.
//!
//! Beside the pipeline, never part of it: this module does not import
//! [`crate::pipeline`], so the truth cannot share a bias with detection.
//! In: a [`Scenario`] (or [`SynthParams`]), a seed and an image index.
//! Out: an sRGB image and its [`Truth`] (the sidecar of `docs/truth-format.md`).
//!
//! # Model
//! A [`Patch`] of scalp (µm, centred on the origin) holds follicular units of
//! 1–4 hairs whose shafts leave one opening side by side, run a clipped length
//! along a smoothly varying growth direction with spread and mild curvature,
//! and end in a blunt (square or slightly oblique) cut. Diameter classes follow
//! the counting convention: vellus below 30 µm, intermediate 30–60 µm,
//! terminal above 60 µm. A [`Capture`] frames the patch (pixel size, shift, rotation) and
//! adds optics and sensor effects; [`render_patch`] draws it.
//!
//! # Truth convention
//! A hair's **exit** is where its shaft leaves the skin (the start of the
//! drawn shaft, inside the follicular opening). Hairs are counted for an area
//! when their exit point lies inside it:
//! `count_exit_in_frame` counts exits in the frame (pixel `x` covers
//! `[x - 0.5, x + 0.5)`), and `count_exit_in_area` — **the truth for counting
//! and density** — counts exits whose pixel is analysed (not under a masked
//! corner of a round field of view or a burned-in band). `density_per_cm2 =
//! count_exit_in_area / analysed_area_cm2`, where the analysed area is the
//! number of unmasked pixels × pixel area. Hairs whose exit is outside the
//! frame but whose shaft enters it are listed with `exit_in_frame = false`.
//! Look-alikes (openings, dots, tattoo ink, flakes, pigment, clippings,
//! bubbles, glare) are listed separately and are never hairs.
//!
//! # Determinism
//! Each image draws from its own ChaCha8 stream keyed by
//! `SHA-256("trichometry-synth\0" ‖ scenario ‖ "\0" ‖ seed_le ‖ index_le)`
//! ([`rng::derive_seed`]), with the samplers of [`rng`] written from raw
//! bits. Images do not depend on each other, so parallel and sequential runs
//! give the same bytes. Any change to pixels or truth bumps
//! [`GENERATOR_VERSION`]; the golden test `tests/synth_golden.rs` pins a
//! SHA-256 of the decoded pixels per scenario.
//!
//! ```
//! use trichometry::synth::{generate, Scenario};
//! let img = generate(Scenario::Isolated, 42, 0)?;
//! let t = &img.truth;
//! assert_eq!((img.image.width(), img.image.height()), (t.width, t.height));
//! assert!((t.density_per_cm2 - t.count_exit_in_area as f64 / t.analysed_area_cm2).abs() < 1e-9);
//! # Ok::<(), trichometry::Error>(())
//! ```
//!
//! # References
//! \[1\] L. Rudnicka, M. Olszewska, A. Rakowska, M. Slowinska (2011),
//!     "Trichoscopy update 2011", J. Dermatol. Case Rep. 5(4):82-88. doi:10.3315/jdcr.2011.1083
//! \[2\] R. Hoffmann (2001), "TrichoScan: combining epiluminescence microscopy with
//!     digital image analysis for the measurement of hair growth in vivo",
//!     Eur. J. Dermatol. 11(4):362-368.
//! \[3\] D. A. Whiting (1993), "Diagnostic and predictive value of horizontal sections
//!     of scalp biopsy specimens in male pattern androgenetic alopecia",
//!     J. Am. Acad. Dermatol. 28(5):755-763 (follicular units, terminal/vellus cut-offs).

pub mod capture;
pub mod cohort;
pub mod longitudinal;
mod render;
pub mod rng;
pub mod scenario;
pub mod scene;
pub mod truth;

use std::io::Write;
use std::path::{Path, PathBuf};

use image::RgbImage;
use serde::{Deserialize, Serialize};

pub use capture::{Capture, Mask};
pub use longitudinal::{RepeatJitter, VisitChange};
pub use scenario::{LookalikeRates, Scenario, SynthParams};
pub use scene::{Lookalike, LookalikeKind, Patch, PatchHair, Pigment};
pub use truth::{CaptureTruth, HairTruth, LookalikeTruth, Truth};

use crate::error::{Error, Result};
use rng::SynthRng;

/// Version of the generator written into every sidecar. Any change to the
/// images or the truth bumps it (and the golden hashes).
pub const GENERATOR_VERSION: &str = "synth-5";

/// One generated image with its truth.
#[derive(Debug, Clone)]
pub struct SynthImage {
    /// The image as captured, before any JPEG compression.
    pub image: RgbImage,
    /// Its ground truth.
    pub truth: Truth,
    /// JPEG quality the image should be written with (`None` = lossless PNG).
    pub jpeg_quality: Option<u8>,
}

/// Renders a patch as one capture sees it, with its truth.
///
/// The truth's `seed`, `scenario`, `index` and `image` are left empty (0, `""`);
/// [`generate`] and [`write_dataset`] fill them in.
///
/// ```
/// use trichometry::synth::{render_patch, Capture, Patch, Scenario, rng::SynthRng};
/// let mut rng = SynthRng::from_label("doc", &[2]);
/// let patch = Patch::random(&Scenario::Isolated.params(), [3000.0, 3000.0], &mut rng);
/// let a = render_patch(&patch, &Capture::clean(400, 300, 5.0));
/// // Re-imaging with a shift keeps follicle ids: hairs link across images.
/// let b = render_patch(&patch, &Capture::clean(400, 300, 5.0).moved([50.0, 0.0], 0.02, 1));
/// let ids_a: Vec<u64> = a.truth.hairs.iter().map(|h| h.follicle_id).collect();
/// assert!(b.truth.hairs.iter().any(|h| ids_a.contains(&h.follicle_id)));
/// ```
pub fn render_patch(patch: &Patch, capture: &Capture) -> SynthImage {
    render_layers(
        patch,
        capture,
        render::Layers {
            hairs: true,
            capture_effects: true,
        },
    )
}

/// Renders without capture effects (no illumination changes, blur, noise or
/// masks) and optionally without hairs: the references that truth tests compare with.
pub fn render_reference(patch: &Patch, capture: &Capture, with_hairs: bool) -> SynthImage {
    render_layers(
        patch,
        capture,
        render::Layers {
            hairs: with_hairs,
            capture_effects: false,
        },
    )
}

fn render_layers(patch: &Patch, capture: &Capture, layers: render::Layers) -> SynthImage {
    let (image, rasters) = render::render(patch, capture, layers);
    let (w, h) = (capture.width_px, capture.height_px);
    let mut hairs = Vec::new();
    for (ph, r) in patch.hairs.iter().zip(rasters) {
        let Some(r) = r else { continue };
        let exit = r.path_px[0];
        let tip = *r.path_px.last().unwrap_or(&exit);
        let id = u32::try_from(ph.follicle_id).unwrap_or(0);
        hairs.push(HairTruth {
            id,
            follicle_id: ph.follicle_id,
            unit_id: ph.unit_id,
            exit,
            tip,
            path: r
                .path_px
                .iter()
                .map(|p| [round3(p[0]), round3(p[1])])
                .collect(),
            diameter_um: ph.diameter_um,
            class: ph.class(),
            length_um: ph.length_um,
            exit_in_frame: capture::pixel_of(exit, w, h).is_some(),
            in_area: capture.mask.point_analysed(exit, w, h),
            visible: r.bbox.is_some(),
            bbox: r.bbox,
            pigment: ph.pigment,
        });
    }
    hairs.sort_by_key(|h| h.follicle_id);
    // Ids are the follicle ids when they fit (stable across re-imaging), else 1..=n.
    if hairs.iter().any(|h| h.id == 0) {
        for (i, h) in hairs.iter_mut().enumerate() {
            h.id = i as u32 + 1;
        }
    }
    let mut lookalikes = Vec::new();
    let in_view = |c: [f64; 2], size_um: f64| {
        let r = 0.5 * size_um / capture.pixel_size_um;
        c[0] >= -r && c[1] >= -r && c[0] <= f64::from(w) - 1.0 + r && c[1] <= f64::from(h) - 1.0 + r
    };
    for l in &patch.lookalikes {
        let c = capture.to_px(l.center_um);
        if in_view(c, l.size_um) {
            lookalikes.push(LookalikeTruth {
                kind: l.kind.name().to_string(),
                center: [round3(c[0]), round3(c[1])],
                size_um: l.size_um,
            });
        }
    }
    if layers.capture_effects {
        for l in &capture.overlays {
            let c = capture.frame_um_to_px(l.center_um);
            lookalikes.push(LookalikeTruth {
                kind: l.kind.name().to_string(),
                center: [round3(c[0]), round3(c[1])],
                size_um: l.size_um,
            });
        }
    }
    let (mask, analysed_area_cm2) = if layers.capture_effects && !capture.mask.is_empty() {
        (Some(capture.mask.clone()), capture.analysed_area_cm2())
    } else {
        (None, capture.field_area_cm2())
    };
    let mut truth = Truth {
        generator_version: GENERATOR_VERSION.to_string(),
        seed: 0,
        scenario: String::new(),
        index: 0,
        image: String::new(),
        width: w,
        height: h,
        pixel_size_um: capture.pixel_size_um,
        field_area_cm2: capture.field_area_cm2(),
        analysed_area_cm2,
        count_exit_in_frame: 0,
        count_exit_in_area: 0,
        count_visible: 0,
        density_per_cm2: 0.0,
        vellus_count: 0,
        intermediate_count: 0,
        terminal_count: 0,
        follicular_units: 0,
        mean_diameter_um: None,
        hairs,
        lookalikes,
        mask,
        capture: CaptureTruth {
            blur_sigma_px: capture.blur_sigma_px,
            noise_sd: capture.noise_sd,
            jpeg_quality: capture.jpeg_quality,
            polarised: capture.polarised,
            immersion: capture.immersion,
            brightness: capture.brightness,
            vignetting: capture.vignetting,
            gradient: capture.gradient,
            colour_gain: capture.colour_gain,
            rotation_deg: capture.rotation_rad.to_degrees(),
            center_um: capture.center_um,
            skin_tone: patch.skin.tone,
        },
    };
    if !layers.capture_effects {
        // A reference render has no masks: every exit in the frame is in the area.
        for hr in &mut truth.hairs {
            hr.in_area = hr.exit_in_frame;
        }
    }
    truth.recount();
    SynthImage {
        image,
        truth,
        jpeg_quality: if layers.capture_effects {
            capture.jpeg_quality
        } else {
            None
        },
    }
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// Margin of patch around the frame, µm: the longest shaft plus its sub-surface
/// shadow, so that hairs entering from outside the frame are drawn.
fn patch_margin_um(params: &SynthParams) -> f64 {
    params.length_um[1] + 600.0
}

/// Draws the patch and capture of image `index` of a run.
///
/// # Errors
/// [`crate::ErrorKind::Config`] when `params` do not validate.
pub fn scene_for(
    params: &SynthParams,
    label: &str,
    seed: u64,
    index: u32,
) -> Result<(Patch, Capture)> {
    params.validate()?;
    let mut root = SynthRng::from_label(label, &[seed, u64::from(index)]);
    let mut cap_rng = root.fork();
    let mut patch_rng = root.fork();
    let capture = Capture::random(params, &mut cap_rng);
    let m = patch_margin_um(params);
    let extent = [
        f64::from(capture.width_px) * capture.pixel_size_um + 2.0 * m,
        f64::from(capture.height_px) * capture.pixel_size_um + 2.0 * m,
    ];
    let patch = Patch::random(params, extent, &mut patch_rng);
    Ok((patch, capture))
}

/// Generates image `index` of scenario `scenario` for `seed`.
///
/// # Errors
/// None for the built-in scenarios; the `Result` is kept for [`generate_with_params`].
pub fn generate(scenario: Scenario, seed: u64, index: u32) -> Result<SynthImage> {
    generate_with_params(&scenario.params(), scenario.name(), seed, index)
}

/// Generates one image from explicit parameters; `label` names the scenario
/// in the truth and keys the random stream.
///
/// # Errors
/// [`crate::ErrorKind::Config`] when `params` do not validate.
pub fn generate_with_params(
    params: &SynthParams,
    label: &str,
    seed: u64,
    index: u32,
) -> Result<SynthImage> {
    let (patch, capture) = scene_for(params, label, seed, index)?;
    let mut img = render_patch(&patch, &capture);
    img.truth.seed = seed;
    img.truth.scenario = label.to_string();
    img.truth.index = index;
    Ok(img)
}

/// File format of written images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageFormat {
    /// JPEG when the capture has a JPEG quality, else PNG.
    #[default]
    Auto,
    /// Always PNG (lossless; the capture's JPEG quality is ignored).
    Png,
    /// Always JPEG (at the capture's quality, or 92).
    Jpeg,
}

/// What [`write_dataset_with`] writes.
#[derive(Debug, Clone)]
pub struct DatasetOptions {
    /// Scenarios, each written as `n` images named `{scenario}_{index:04}`.
    pub scenarios: Vec<Scenario>,
    /// Images per scenario.
    pub n: u32,
    /// Seed.
    pub seed: u64,
    /// Image format.
    pub format: ImageFormat,
    /// Override of the field area range, cm² (`None` = scenario default).
    pub field_cm2: Option<[f64; 2]>,
}

/// Writes `n` images of `scenario` with sidecars and `manifest.csv` into `out`.
///
/// Returns the image paths in order. See [`write_dataset_with`].
///
/// # Errors
/// `io` errors naming the file; [`crate::ErrorKind::Config`] for bad parameters.
pub fn write_dataset(out: &Path, scenario: Scenario, n: u32, seed: u64) -> Result<Vec<PathBuf>> {
    write_dataset_with(
        out,
        &DatasetOptions {
            scenarios: vec![scenario],
            n,
            seed,
            format: ImageFormat::Auto,
            field_cm2: None,
        },
    )
}

/// One row of `manifest.csv`.
#[derive(Debug, Clone, Serialize)]
struct ManifestRow {
    image: String,
    pixel_size_um: f64,
    scenario: String,
    seed: u64,
    index: u32,
    width: u32,
    height: u32,
    generator_version: &'static str,
}

/// Writes images (`NAME.png`/`NAME.jpg`), sidecars (`NAME.truth.json`) and one
/// `manifest.csv` (`image,pixel_size_um,scenario,seed,index,width,height,generator_version`)
/// into `out`, creating it. Every file is written to a temporary name and
/// renamed, so a reader never sees a half-written file. Images are rendered in
/// parallel with the `rayon` feature; the bytes are the same either way.
///
/// # Errors
/// `io` errors naming the file; [`crate::ErrorKind::Config`] for bad parameters.
pub fn write_dataset_with(out: &Path, opts: &DatasetOptions) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out).map_err(|e| Error::from_io(e, out))?;
    let mut jobs: Vec<(Scenario, SynthParams, u32)> = Vec::new();
    for &s in &opts.scenarios {
        let mut p = s.params();
        if let Some(f) = opts.field_cm2 {
            p.field_cm2 = f;
        }
        p.validate()?;
        for i in 0..opts.n {
            jobs.push((s, p.clone(), i));
        }
    }
    let work = |(s, p, i): &(Scenario, SynthParams, u32)| -> Result<(PathBuf, ManifestRow)> {
        let img = generate_with_params(p, s.name(), opts.seed, *i)?;
        write_one(out, img, opts.format)
    };
    #[cfg(feature = "rayon")]
    let rows: Vec<Result<(PathBuf, ManifestRow)>> = {
        use rayon::prelude::*;
        jobs.par_iter().map(work).collect()
    };
    #[cfg(not(feature = "rayon"))]
    let rows: Vec<Result<(PathBuf, ManifestRow)>> = jobs.iter().map(work).collect();
    let mut paths = Vec::with_capacity(rows.len());
    let mut wtr = csv::Writer::from_writer(Vec::new());
    for r in rows {
        let (path, row) = r?;
        wtr.serialize(&row)
            .map_err(|e| Error::invalid_input(e.to_string()))?;
        paths.push(path);
    }
    let bytes = wtr
        .into_inner()
        .map_err(|e| Error::invalid_input(e.to_string()))?;
    write_atomic(&out.join("manifest.csv"), &bytes)?;
    Ok(paths)
}

fn write_one(
    out: &Path,
    mut img: SynthImage,
    format: ImageFormat,
) -> Result<(PathBuf, ManifestRow)> {
    let stem = format!("{}_{:04}", img.truth.scenario, img.truth.index);
    let quality = match format {
        ImageFormat::Auto => img.jpeg_quality,
        ImageFormat::Png => None,
        ImageFormat::Jpeg => Some(img.jpeg_quality.unwrap_or(92)),
    };
    let name = if quality.is_some() {
        format!("{stem}.jpg")
    } else {
        format!("{stem}.png")
    };
    let path = out.join(&name);
    let mut bytes = Vec::new();
    match quality {
        Some(q) => {
            let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, q);
            img.image.write_with_encoder(enc)
        }
        None => {
            let enc = image::codecs::png::PngEncoder::new(&mut bytes);
            img.image.write_with_encoder(enc)
        }
    }
    .map_err(|e| Error::invalid_input(format!("encoding {name}: {e}")).with_path(&path))?;
    write_atomic(&path, &bytes)?;
    img.truth.image = name.clone();
    img.truth.capture.jpeg_quality = quality;
    let json = serde_json::to_vec(&img.truth).map_err(|e| Error::invalid_input(e.to_string()))?;
    write_atomic(&out.join(format!("{stem}.truth.json")), &json)?;
    let row = ManifestRow {
        image: name,
        pixel_size_um: img.truth.pixel_size_um,
        scenario: img.truth.scenario.clone(),
        seed: img.truth.seed,
        index: img.truth.index,
        width: img.truth.width,
        height: img.truth.height,
        generator_version: GENERATOR_VERSION,
    };
    Ok((path, row))
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name()
            .map(|s| s.to_string_lossy())
            .unwrap_or_default()
    ));
    let mut f = std::fs::File::create(&tmp).map_err(|e| Error::from_io(e, &tmp))?;
    f.write_all(bytes).map_err(|e| Error::from_io(e, &tmp))?;
    f.sync_all().map_err(|e| Error::from_io(e, &tmp))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| Error::from_io(e, path))
}
