//! The ground-truth sidecar (`NAME.truth.json`), as fixed by `docs/truth-format.md`.

use serde::{Deserialize, Serialize};

use super::capture::Mask;
use crate::report::HairClass;

/// One hair drawn in an image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HairTruth {
    /// 1-based, unique in the image. Equal to `follicle_id` when it fits in a u32,
    /// so that it is stable across re-imaging of the same patch.
    pub id: u32,
    /// Follicle identity across images of the same patch.
    pub follicle_id: u64,
    /// Follicular unit (hairs sharing an exit point share it).
    pub unit_id: u32,
    /// Exit point (start of the shaft at the follicular opening), pixels.
    pub exit: [f64; 2],
    /// Cut tip (centre of the cut face), pixels.
    pub tip: [f64; 2],
    /// Centre line from exit to tip, pixels.
    pub path: Vec<[f64; 2]>,
    /// Shaft diameter, µm.
    pub diameter_um: f64,
    /// Diameter class (vellus < 30 µm, terminal > 60 µm).
    pub class: HairClass,
    /// Centre-line length exit → tip, µm.
    pub length_um: f64,
    /// Exit point inside the image frame.
    pub exit_in_frame: bool,
    /// Exit point inside the analysed area (counted).
    pub in_area: bool,
    /// Some of the shaft (coverage ≥ 0.25 of a pixel) lies in the analysed area.
    /// Occlusion by other hairs is not considered.
    pub visible: bool,
    /// `[x_min, y_min, x_max, y_max]` inclusive around the visible shaft pixels; null when not visible.
    pub bbox: Option<[u32; 4]>,
    /// Pigmentation (`dark`, `brown`, `grey`, `blond`, `white`).
    pub pigment: super::scene::Pigment,
}

/// One non-hair object drawn in an image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LookalikeTruth {
    /// `opening`, `dot`, `tattoo`, `flake`, `pigment`, `clipping`, `bubble`, `glare`.
    pub kind: String,
    /// Centre, pixels.
    pub center: [f64; 2],
    /// Size (diameter; length for clippings), µm.
    pub size_um: f64,
}

/// Capture parameters recorded for reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaptureTruth {
    /// Gaussian defocus σ, pixels.
    pub blur_sigma_px: f64,
    /// Noise standard deviation at mid-grey, 8-bit levels.
    pub noise_sd: f64,
    /// JPEG quality, or null for PNG.
    pub jpeg_quality: Option<u8>,
    /// Cross-polarised light.
    pub polarised: bool,
    /// Immersion fluid.
    pub immersion: bool,
    /// Brightness factor.
    pub brightness: f64,
    /// Vignetting strength.
    pub vignetting: f64,
    /// Illumination gradient strength.
    pub gradient: f64,
    /// White-balance gains R, G, B.
    pub colour_gain: [f64; 3],
    /// Frame rotation against the patch, degrees.
    pub rotation_deg: f64,
    /// Frame centre in patch coordinates, µm.
    pub center_um: [f64; 2],
    /// Skin tone 0 (very light) … 1 (very dark).
    pub skin_tone: f64,
}

/// The ground truth of one image (see `docs/truth-format.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    /// Generator version; any change to pixels or truth bumps it.
    pub generator_version: String,
    /// The seed given.
    pub seed: u64,
    /// Scenario name.
    pub scenario: String,
    /// Image number within the run (0-based).
    pub index: u32,
    /// File name of the image, relative to the sidecar's folder.
    pub image: String,
    /// Width, pixels.
    pub width: u32,
    /// Height, pixels.
    pub height: u32,
    /// µm per pixel.
    pub pixel_size_um: f64,
    /// `width · height · pixel_size_um² · 1e-8`.
    pub field_area_cm2: f64,
    /// Analysed (unmasked) area, cm².
    pub analysed_area_cm2: f64,
    /// Hairs whose exit lies in the frame.
    pub count_exit_in_frame: u32,
    /// Hairs whose exit lies in the analysed area: the truth for counting.
    pub count_exit_in_area: u32,
    /// Hairs with some shaft visible in the analysed area.
    pub count_visible: u32,
    /// `count_exit_in_area / analysed_area_cm2`.
    pub density_per_cm2: f64,
    /// Counted vellus hairs (< 30 µm).
    pub vellus_count: u32,
    /// Counted intermediate hairs (30–60 µm).
    pub intermediate_count: u32,
    /// Counted terminal hairs (> 60 µm).
    pub terminal_count: u32,
    /// Units with at least one counted hair.
    pub follicular_units: u32,
    /// Mean diameter of the counted hairs, µm.
    pub mean_diameter_um: Option<f64>,
    /// Every hair drawn.
    pub hairs: Vec<HairTruth>,
    /// Every non-hair object drawn.
    pub lookalikes: Vec<LookalikeTruth>,
    /// Masked regions, or null when the whole frame is analysed.
    pub mask: Option<Mask>,
    /// Capture parameters.
    pub capture: CaptureTruth,
}

impl Truth {
    /// Recomputes the summary counts from `hairs` (and the density from the area).
    pub fn recount(&mut self) {
        let counted: Vec<&HairTruth> = self.hairs.iter().filter(|h| h.in_area).collect();
        self.count_exit_in_frame = self.hairs.iter().filter(|h| h.exit_in_frame).count() as u32;
        self.count_exit_in_area = counted.len() as u32;
        self.count_visible = self.hairs.iter().filter(|h| h.visible).count() as u32;
        self.density_per_cm2 = if self.analysed_area_cm2 > 0.0 {
            f64::from(self.count_exit_in_area) / self.analysed_area_cm2
        } else {
            0.0
        };
        let by = |c: HairClass| counted.iter().filter(|h| h.class == c).count() as u32;
        self.vellus_count = by(HairClass::Vellus);
        self.intermediate_count = by(HairClass::Intermediate);
        self.terminal_count = by(HairClass::Terminal);
        let units: std::collections::BTreeSet<u32> = counted.iter().map(|h| h.unit_id).collect();
        self.follicular_units = units.len() as u32;
        self.mean_diameter_um = if counted.is_empty() {
            None
        } else {
            Some(counted.iter().map(|h| h.diameter_um).sum::<f64>() / counted.len() as f64)
        };
    }
}
