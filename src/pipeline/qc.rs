//! Quality control: flags that tell a reviewer which images to look at.
//!
//! The last stage of the pipeline. In: what the earlier stages measured about
//! the image (exposure, burned-in overlay area, the blur read from the shafts'
//! edges, the hairs' contrast against the noise) and the count. Out: a list of
//! flags. Flags never change the count or the density; each has one test on
//! numbers the report shows or the stages computed, with a threshold in
//! [`QcConfig`]:
//!
//! | flag | raised when |
//! |---|---|
//! | `out_of_focus` | the blur σ read from the shafts' edges exceeds `max_blur_sigma_um` (default 12.5 µm: a blur FWHM of ~29 µm, as wide as a vellus hair) |
//! | `underexposed` | the median luma of the visible field is below `min_median_luma` (0.10), or more than `max_clipped_fraction` (5%) of it is at or below `dark_clip_level` (0.03) |
//! | `overexposed` | the median luma is above `max_median_luma` (0.92), or more than `max_clipped_fraction` of the field is at or above `bright_clip_level` (0.98) |
//! | `low_contrast` | the median counted hair stands less than `min_hair_cnr` (8) noise σ above the skin |
//! | `few_hairs` | fewer than `min_hairs` (10) hairs counted: the density's relative sampling error exceeds ~30% |
//! | `implausible_density` | the density exceeds `max_density_per_cm2` (500 hairs/cm², above any reported human scalp) |
//! | `large_overlay` | burned-in overlay (text, scale bars, measuring circles in saturated colours or white) masks more than `max_overlay_fraction` (5%) of the frame |
//! | `missing_calibration` | on the error record of an image with no pixel size (see [`crate::report::ImageReport::from_error`]) |
//!
//! Other flags come from the stages themselves: `light_hair_polarity`,
//! `mixed_polarity`, `masked_regions`, `roi_centre_assumed`, `roi_clipped`,
//! `unclipped_field`, `no_exit_cues`, `resolution_too_coarse_for_classes`,
//! `overlay_write_failed` (documented in the README).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Thresholds of the quality flags. Every flag's test is in the module docs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QcConfig {
    /// `out_of_focus` above this blur σ, µm. Default: 12.5.
    pub max_blur_sigma_um: f64,
    /// `underexposed` below this median luma (0–1). Default: 0.10.
    pub min_median_luma: f64,
    /// `overexposed` above this median luma (0–1). Default: 0.92.
    pub max_median_luma: f64,
    /// Luma at or below which a pixel is clipped dark. Default: 0.03.
    pub dark_clip_level: f64,
    /// Luma at or above which a pixel is clipped bright. Default: 0.98.
    pub bright_clip_level: f64,
    /// Exposure flag when more than this share of the visible field is clipped. Default: 0.05.
    pub max_clipped_fraction: f64,
    /// `low_contrast` when the median counted hair's contrast is below this
    /// many noise σ. Default: 8.
    pub min_hair_cnr: f64,
    /// `few_hairs` below this many counted hairs. Default: 10.
    pub min_hairs: u32,
    /// `implausible_density` above this density, hairs/cm². Default: 500.
    pub max_density_per_cm2: f64,
    /// `large_overlay` when overlays mask more than this share of the frame. Default: 0.05.
    pub max_overlay_fraction: f64,
}

impl Default for QcConfig {
    fn default() -> Self {
        QcConfig {
            max_blur_sigma_um: 12.5,
            min_median_luma: 0.10,
            max_median_luma: 0.92,
            dark_clip_level: 0.03,
            bright_clip_level: 0.98,
            max_clipped_fraction: 0.05,
            min_hair_cnr: 8.0,
            min_hairs: 10,
            max_density_per_cm2: 500.0,
            max_overlay_fraction: 0.05,
        }
    }
}

impl QcConfig {
    /// Checks the thresholds.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Config`] naming the invalid field.
    pub fn validate(&self) -> Result<()> {
        let pos = crate::config::require_positive;
        pos(self.max_blur_sigma_um, "qc.max_blur_sigma_um")?;
        pos(self.min_hair_cnr, "qc.min_hair_cnr")?;
        pos(self.max_density_per_cm2, "qc.max_density_per_cm2")?;
        for (v, name) in [
            (self.min_median_luma, "qc.min_median_luma"),
            (self.max_median_luma, "qc.max_median_luma"),
            (self.dark_clip_level, "qc.dark_clip_level"),
            (self.bright_clip_level, "qc.bright_clip_level"),
            (self.max_clipped_fraction, "qc.max_clipped_fraction"),
            (self.max_overlay_fraction, "qc.max_overlay_fraction"),
        ] {
            crate::config::require_fraction(v, name)?;
        }
        if self.min_median_luma >= self.max_median_luma {
            return Err(Error::config(
                "qc.min_median_luma",
                "must be below qc.max_median_luma",
            ));
        }
        Ok(())
    }
}

/// Luma statistics of the visible field, from [`exposure`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Exposure {
    /// Median luma (Rec. 601, 0–1) of the visible pixels.
    pub median_luma: f32,
    /// Share of visible pixels at or below the dark clip level.
    pub dark_fraction: f32,
    /// Share of visible pixels at or above the bright clip level.
    pub bright_fraction: f32,
}

/// Histogram of the luma (Rec. 601, 256 bins over 0–1) of `px` where
/// `visible` is non-zero; `px` are RGB triples in 0–1, row-major.
///
/// ```
/// use trichometry::pipeline::qc::luma_histogram;
/// let h = luma_histogram(&[[1.0f32; 3], [0.0; 3]], &[255, 0]);
/// assert_eq!((h[255], h[0]), (1, 0));
/// ```
pub fn luma_histogram(px: &[[f32; 3]], visible: &[u8]) -> [u64; 256] {
    let mut hist = [0u64; 256];
    let luma = px
        .iter()
        .map(|p| 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]);
    add_to_luma_histogram(&mut hist, luma, visible);
    hist
}

/// `(y.clamp(0, 1) · 255).round()` as a histogram bin, rounding half away
/// from zero by truncation and the exact fraction (no libm call).
#[inline]
fn level_255(y: f32) -> usize {
    let v = y.clamp(0.0, 1.0) * 255.0;
    let t = v as usize;
    let r = if v - t as f32 >= 0.5 { t + 1 } else { t };
    r.min(255)
}

/// Adds luma values already computed (one per pixel) where `visible` ≠ 0.
pub(crate) fn add_to_luma_histogram(
    hist: &mut [u64; 256],
    luma: impl IntoIterator<Item = f32>,
    visible: &[u8],
) {
    for (y, &v) in luma.into_iter().zip(visible) {
        if v != 0 {
            hist[level_255(y)] += 1;
        }
    }
}

/// Exposure statistics from a [`luma_histogram`]: the median, and the shares
/// at or below `dark_level` and at or above `bright_level` (luma 0–1, read at
/// the histogram's 1/255 resolution). An empty histogram gives zeros.
///
/// ```
/// use trichometry::pipeline::qc::{exposure, luma_histogram};
/// let px = vec![[0.5f32; 3], [0.5; 3], [1.0; 3], [0.0; 3]];
/// let e = exposure(&luma_histogram(&px, &[255; 4]), 0.03, 0.98);
/// assert!((e.median_luma - 0.5).abs() < 0.003);
/// assert_eq!((e.dark_fraction, e.bright_fraction), (0.25, 0.25));
/// ```
pub fn exposure(hist: &[u64; 256], dark_level: f64, bright_level: f64) -> Exposure {
    let n: u64 = hist.iter().sum();
    if n == 0 {
        return Exposure::default();
    }
    let level = |i: usize| i as f64 / 255.0;
    let dark: u64 = (0..256)
        .filter(|&i| level(i) <= dark_level)
        .map(|i| hist[i])
        .sum();
    let bright: u64 = (0..256)
        .filter(|&i| level(i) >= bright_level)
        .map(|i| hist[i])
        .sum();
    let mut seen = 0;
    let mut median = 0usize;
    for (i, &c) in hist.iter().enumerate() {
        seen += c;
        if 2 * seen >= n {
            median = i;
            break;
        }
    }
    Exposure {
        median_luma: median as f32 / 255.0,
        dark_fraction: dark as f32 / n as f32,
        bright_fraction: bright as f32 / n as f32,
    }
}

/// What the quality flags are computed from.
#[derive(Debug, Clone, Default)]
pub struct QcInputs {
    /// Exposure of the visible field.
    pub exposure: Exposure,
    /// Share of the frame masked as burned-in overlay.
    pub overlay_fraction: f64,
    /// Blur σ read from the shafts' edges, µm, if it could be read.
    pub blur_sigma_um: Option<f64>,
    /// Contrast of each counted hair in noise σ.
    pub hair_cnr: Vec<f32>,
    /// Hairs counted.
    pub hairs: usize,
    /// Density, hairs/cm².
    pub density_per_cm2: f64,
}

/// The quality flags these measurements raise, in a fixed order.
///
/// ```
/// use trichometry::pipeline::qc::{assess, QcConfig, QcInputs};
/// let mut i = QcInputs { hairs: 40, density_per_cm2: 160.0, ..Default::default() };
/// i.exposure.median_luma = 0.6;
/// i.hair_cnr = vec![20.0; 40];
/// assert!(assess(&i, &QcConfig::default()).is_empty());
/// i.blur_sigma_um = Some(20.0);
/// i.hairs = 3;
/// assert_eq!(assess(&i, &QcConfig::default()), ["out_of_focus", "few_hairs"]);
/// ```
pub fn assess(i: &QcInputs, cfg: &QcConfig) -> Vec<&'static str> {
    let mut flags = Vec::new();
    if i.blur_sigma_um.is_some_and(|s| s > cfg.max_blur_sigma_um) {
        flags.push("out_of_focus");
    }
    let e = i.exposure;
    let clipped = cfg.max_clipped_fraction;
    if f64::from(e.median_luma) < cfg.min_median_luma || f64::from(e.dark_fraction) > clipped {
        flags.push("underexposed");
    }
    if f64::from(e.median_luma) > cfg.max_median_luma || f64::from(e.bright_fraction) > clipped {
        flags.push("overexposed");
    }
    if !i.hair_cnr.is_empty() {
        let mut c = i.hair_cnr.clone();
        c.sort_by(f32::total_cmp);
        if f64::from(c[c.len() / 2]) < cfg.min_hair_cnr {
            flags.push("low_contrast");
        }
    }
    if i.hairs < cfg.min_hairs as usize {
        flags.push("few_hairs");
    }
    if i.density_per_cm2 > cfg.max_density_per_cm2 {
        flags.push("implausible_density");
    }
    if i.overlay_fraction > cfg.max_overlay_fraction {
        flags.push("large_overlay");
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean() -> QcInputs {
        QcInputs {
            exposure: Exposure {
                median_luma: 0.6,
                dark_fraction: 0.0,
                bright_fraction: 0.01,
            },
            overlay_fraction: 0.0,
            blur_sigma_um: Some(3.0),
            hair_cnr: vec![15.0, 30.0, 9.0],
            hairs: 60,
            density_per_cm2: 150.0,
        }
    }

    // Each flag at its boundary: the threshold itself does not raise it.
    #[test]
    fn each_flag_and_its_boundary() {
        let c = QcConfig::default();
        assert!(assess(&clean(), &c).is_empty());
        let one = |f: &dyn Fn(&mut QcInputs)| {
            let mut i = clean();
            f(&mut i);
            assess(&i, &c)
        };
        assert!(one(&|i| i.blur_sigma_um = Some(12.5)).is_empty());
        assert_eq!(one(&|i| i.blur_sigma_um = Some(12.6)), ["out_of_focus"]);
        assert!(one(&|i| i.blur_sigma_um = None).is_empty());
        assert_eq!(one(&|i| i.exposure.median_luma = 0.05), ["underexposed"]);
        assert_eq!(one(&|i| i.exposure.dark_fraction = 0.2), ["underexposed"]);
        assert_eq!(one(&|i| i.exposure.median_luma = 0.95), ["overexposed"]);
        assert_eq!(one(&|i| i.exposure.bright_fraction = 0.06), ["overexposed"]);
        assert_eq!(
            one(&|i| i.hair_cnr = vec![5.0, 7.0, 30.0]),
            ["low_contrast"]
        );
        assert!(one(&|i| i.hair_cnr.clear()).is_empty());
        assert!(one(&|i| i.hairs = 10).is_empty());
        assert_eq!(one(&|i| i.hairs = 9), ["few_hairs"]);
        assert!(one(&|i| i.density_per_cm2 = 500.0).is_empty());
        assert_eq!(one(&|i| i.density_per_cm2 = 501.0), ["implausible_density"]);
        assert_eq!(one(&|i| i.overlay_fraction = 0.08), ["large_overlay"]);
    }

    #[test]
    fn config_checks() {
        assert!(QcConfig::default().validate().is_ok());
        let bad = QcConfig {
            max_clipped_fraction: 1.5,
            ..QcConfig::default()
        };
        assert!(bad.validate().is_err());
        let crossed = QcConfig {
            min_median_luma: 0.95,
            ..QcConfig::default()
        };
        assert!(crossed.validate().is_err());
    }

    #[test]
    fn exposure_ignores_masked_pixels_and_empty_fields() {
        let px = vec![[0.0f32; 3], [0.8; 3], [0.8; 3]];
        let e = exposure(&luma_histogram(&px, &[0, 255, 255]), 0.03, 0.98);
        assert_eq!(e.dark_fraction, 0.0);
        assert!((e.median_luma - 0.8).abs() < 0.003);
        let none = luma_histogram(&px, &[0, 0, 0]);
        assert_eq!(exposure(&none, 0.03, 0.98), Exposure::default());
    }

    // The bin rounding equals `round()` on every f32 in and around 0..=1.
    proptest::proptest! {
        #[test]
        fn level_matches_round(y in proptest::prelude::any::<f32>()) {
            let want = ((y.clamp(0.0, 1.0) * 255.0).round() as usize).min(255);
            proptest::prop_assert_eq!(level_255(y), want);
        }
    }

    #[test]
    fn level_rounds_half_away() {
        for k in 0..=255u32 {
            for d in [-0.5f32, -0.25, 0.0, 0.25, 0.4999, 0.5] {
                let y = (k as f32 + d) / 255.0;
                assert_eq!(
                    level_255(y),
                    ((y.clamp(0.0, 1.0) * 255.0).round() as usize).min(255)
                );
            }
        }
    }
}
