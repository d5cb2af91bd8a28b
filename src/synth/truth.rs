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

    /// Bare skin, pixels, between the point `p` (pixels) and the nearest
    /// object drawn: the edge of a hair's shaft (half its diameter from the
    /// centre line, faint vellus shafts included) or of a lookalike (half its
    /// size from its centre; a clipping is taken as a disc as wide as it is
    /// long). Negative inside an object; infinite in a field with none.
    /// Tests and benchmarks use it to place probes (specks, say) on skin
    /// that is clear of everything.
    ///
    /// ```
    /// use trichometry::synth::{generate_with_params, Scenario};
    /// let img = generate_with_params(&Scenario::Isolated.params(), "isolated", 7, 0).unwrap();
    /// let t = &img.truth;
    /// let exit = t.hairs[0].exit;
    /// assert!(t.clearance_px(exit) < 0.0); // on the shaft
    /// ```
    pub fn clearance_px(&self, p: [f64; 2]) -> f64 {
        let um = self.pixel_size_um;
        let hairs = self.hairs.iter().map(|h| {
            let centre_line = match h.path.len() {
                0 => f64::INFINITY,
                1 => distance(p, h.path[0]),
                _ => h
                    .path
                    .windows(2)
                    .map(|w| segment_distance(p, w[0], w[1]))
                    .fold(f64::INFINITY, f64::min),
            };
            centre_line - 0.5 * h.diameter_um / um
        });
        let others = self
            .lookalikes
            .iter()
            .map(|l| distance(p, l.center) - 0.5 * l.size_um / um);
        hairs.chain(others).fold(f64::INFINITY, f64::min)
    }
}

fn distance(p: [f64; 2], q: [f64; 2]) -> f64 {
    (p[0] - q[0]).hypot(p[1] - q[1])
}

/// Distance from `p` to the segment `a`–`b`.
fn segment_distance(p: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    distance(p, [a[0] + t * dx, a[1] + t * dy])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hair(path: Vec<[f64; 2]>, diameter_um: f64) -> HairTruth {
        HairTruth {
            id: 1,
            follicle_id: 1,
            unit_id: 1,
            exit: path[0],
            tip: path[path.len() - 1],
            path,
            diameter_um,
            class: HairClass::Terminal,
            length_um: 0.0,
            exit_in_frame: true,
            in_area: true,
            visible: true,
            bbox: None,
            pigment: super::super::scene::Pigment::Dark,
        }
    }

    #[test]
    fn clearance_is_the_gap_to_the_nearest_edge() {
        let img = crate::synth::generate_with_params(
            &crate::synth::Scenario::Isolated.params(),
            "isolated",
            1,
            0,
        )
        .unwrap();
        let mut t = img.truth;
        t.pixel_size_um = 5.0;
        t.hairs = vec![hair(vec![[10.0, 10.0], [10.0, 50.0], [40.0, 50.0]], 40.0)];
        t.lookalikes = vec![LookalikeTruth {
            kind: "dot".to_string(),
            center: [100.0, 100.0],
            size_um: 100.0,
        }];
        // 4 px half width: 6 px of skin beside the first leg, 3 px past the corner.
        assert!((t.clearance_px([20.0, 30.0]) - 6.0).abs() < 1e-9);
        assert!((t.clearance_px([10.0, 57.0]) - 3.0).abs() < 1e-9);
        assert!((t.clearance_px([50.0, 50.0]) - 6.0).abs() < 1e-9);
        // The dot's edge, 10 px from its centre, is nearer than the hair.
        assert!((t.clearance_px([100.0, 115.0]) - 5.0).abs() < 1e-9);
        assert!(t.clearance_px([10.0, 30.0]) < 0.0);
        t.hairs.clear();
        t.lookalikes.clear();
        assert_eq!(t.clearance_px([0.0, 0.0]), f64::INFINITY);
    }
}
