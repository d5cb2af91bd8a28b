//! Per-hair measurement: length, diameter, class.
//!
//! Stage 4 of the pipeline. In: a shaft's centre line (a polyline in pixels,
//! from the skeleton) and the hairness map. Out: the width profile along the
//! shaft ([`width_profile`]), the contrast profile ([`centre_profile`]), the
//! median diameter in µm, and the diameter class ([`classify`]).
//!
//! Width is the full width at half maximum of the hairness profile across the
//! shaft, perpendicular to the centre line, with sub-pixel interpolation: it
//! does not depend on the threshold that made the mask. Blur widens it; the
//! pipeline corrects it with the image's own point-spread width
//! ([`super::blur`]).

use serde::{Deserialize, Serialize};

use super::preprocess::GrayF32;
use crate::calibrate::PixelScale;
use crate::error::{Error, Result};
use crate::report::HairClass;

/// Two or three diameter classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassMode {
    /// Vellus < `vellus_max_um` ≤ intermediate ≤ `terminal_min_um` < terminal.
    Three,
    /// TrichoScan-compatible: vellus ≤ `two_class_cutoff_um` < terminal.
    Two,
}

/// Diameter class cut-offs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClassConfig {
    /// Two or three classes. Default: `three`.
    pub mode: ClassMode,
    /// Three-class mode: vellus when diameter < this, µm. Default: 30 µm.
    pub vellus_max_um: f64,
    /// Three-class mode: terminal when diameter > this, µm. Default: 60 µm.
    pub terminal_min_um: f64,
    /// Two-class mode: vellus when diameter ≤ this, else terminal, µm. Default: 40 µm.
    pub two_class_cutoff_um: f64,
}

impl Default for ClassConfig {
    fn default() -> Self {
        ClassConfig {
            mode: ClassMode::Three,
            vellus_max_um: 30.0,
            terminal_min_um: 60.0,
            two_class_cutoff_um: 40.0,
        }
    }
}

impl ClassConfig {
    /// The vellus cut-off of the active mode, µm.
    pub fn vellus_cutoff_um(&self) -> f64 {
        match self.mode {
            ClassMode::Three => self.vellus_max_um,
            ClassMode::Two => self.two_class_cutoff_um,
        }
    }

    /// Whether classes can be told at this pixel size: the pixel must be no
    /// coarser than a quarter of the vellus cut-off.
    pub fn resolvable(&self, scale: PixelScale) -> bool {
        scale.um_per_px() <= self.vellus_cutoff_um() / 4.0
    }
}

/// Measurement settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MeasureConfig {
    /// Diameter classes.
    pub classes: ClassConfig,
    /// Spacing of width samples along the shaft, µm (at least 1 px). Default: 10 µm.
    pub sample_step_um: f64,
    /// Widest shaft profile searched on each side of the centre line, µm. Default: 250 µm.
    pub max_half_width_um: f64,
    /// Correct diameters for the image's blur, read from its own shaft edges
    /// (see [`super::blur`]); `false` reports the optical width (FWHM).
    /// Default: true.
    pub correct_blur: bool,
}

impl Default for MeasureConfig {
    fn default() -> Self {
        MeasureConfig {
            classes: ClassConfig::default(),
            sample_step_um: 10.0,
            max_half_width_um: 250.0,
            correct_blur: true,
        }
    }
}

impl MeasureConfig {
    /// Checks the settings.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Config`] naming the invalid field.
    pub fn validate(&self) -> Result<()> {
        let pos = crate::config::require_positive;
        pos(self.classes.vellus_max_um, "measure.classes.vellus_max_um")?;
        pos(
            self.classes.terminal_min_um,
            "measure.classes.terminal_min_um",
        )?;
        pos(
            self.classes.two_class_cutoff_um,
            "measure.classes.two_class_cutoff_um",
        )?;
        pos(self.sample_step_um, "measure.sample_step_um")?;
        pos(self.max_half_width_um, "measure.max_half_width_um")?;
        if self.classes.terminal_min_um < self.classes.vellus_max_um {
            return Err(Error::config(
                "measure.classes.terminal_min_um",
                "must be at least measure.classes.vellus_max_um",
            ));
        }
        Ok(())
    }
}

/// Bilinear sample of `img` at `(x, y)` (pixel centres at integers); 0 outside.
pub fn sample(img: &GrayF32, x: f32, y: f32) -> f32 {
    let (w, h) = img.dimensions();
    if !(x > -1.0 && y > -1.0 && x < w as f32 && y < h as f32) {
        return 0.0;
    }
    let (x0, y0) = (x.floor(), y.floor());
    let (tx, ty) = (x - x0, y - y0);
    let g = |xx: f32, yy: f32| {
        if xx < 0.0 || yy < 0.0 || xx >= w as f32 || yy >= h as f32 {
            0.0
        } else {
            img.get_pixel(xx as u32, yy as u32)[0]
        }
    };
    let top = g(x0, y0) * (1.0 - tx) + g(x0 + 1.0, y0) * tx;
    let bot = g(x0, y0 + 1.0) * (1.0 - tx) + g(x0 + 1.0, y0 + 1.0) * tx;
    top * (1.0 - ty) + bot * ty
}

/// Points every `step_px` along a polyline, each with the unit tangent there.
pub fn walk(poly: &[[f32; 2]], step_px: f32) -> Vec<([f32; 2], [f32; 2])> {
    let mut out = Vec::new();
    let step = step_px.max(0.5);
    let mut carry = 0.0f32;
    for seg in poly.windows(2) {
        let (a, b) = (seg[0], seg[1]);
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        let len = (dx * dx + dy * dy).sqrt();
        if len < 1e-6 {
            continue;
        }
        let t = [dx / len, dy / len];
        let mut s = carry;
        while s <= len {
            out.push(([a[0] + t[0] * s, a[1] + t[1] * s], t));
            s += step;
        }
        carry = s - len;
    }
    out
}

/// Full width at half maximum (pixels) of the hairness profile across the
/// shaft at each point of [`walk`], sampled every 0.25 px up to `max_half_px`
/// on each side. The maximum is taken within ±1 px of the centre line; a side
/// that never falls below half maximum contributes `max_half_px`. Sections
/// with no positive peak are left out ([`width_sections`] keeps their place).
///
/// # Examples
/// ```
/// use trichometry::pipeline::{measure::width_profile, preprocess::GrayF32};
/// // A vertical bar 6 px wide.
/// let img = GrayF32::from_fn(40, 40, |x, _| image::Luma([if (17..23).contains(&x) { 1.0 } else { 0.0 }]));
/// let w = width_profile(&img, &[[19.5, 5.0], [19.5, 35.0]], 2.0, 15.0);
/// assert!(w.iter().all(|v| (v - 6.0).abs() < 0.3));
/// ```
pub fn width_profile(
    hairness: &GrayF32,
    poly: &[[f32; 2]],
    step_px: f32,
    max_half_px: f32,
) -> Vec<f32> {
    width_sections(hairness, poly, step_px, max_half_px)
        .into_iter()
        .flatten()
        .collect()
}

/// The widths of [`width_profile`] aligned with [`walk`]: one entry per
/// sample step, `None` where the cross-section has no positive peak (off the
/// image, or a gap in the shaft), so that the `i`-th width belongs to the
/// `i`-th point of [`centre_profile`].
///
/// # Examples
/// ```
/// use trichometry::pipeline::{measure::width_sections, preprocess::GrayF32};
/// let mut h = GrayF32::new(20, 20);
/// for y in 0..10 { for x in 7..13 { h.put_pixel(x, y, image::Luma([1.0])); } }
/// // Down the bar's centre line and on into empty skin.
/// let w = width_sections(&h, &[[9.5, 2.0], [9.5, 17.0]], 1.0, 8.0);
/// assert_eq!(w.len(), 16);
/// assert!((w[2].unwrap() - 6.0).abs() < 0.6);
/// assert_eq!(w[15], None);
/// ```
pub fn width_sections(
    hairness: &GrayF32,
    poly: &[[f32; 2]],
    step_px: f32,
    max_half_px: f32,
) -> Vec<Option<f32>> {
    walk(poly, step_px)
        .into_iter()
        .map(|(p, t)| {
            super::blur::half_max_section(hairness, p, [-t[1], t[0]], max_half_px).map(|(_, w)| w)
        })
        .collect()
}

/// Hairness along the centre line at each point of [`walk`].
pub fn centre_profile(hairness: &GrayF32, poly: &[[f32; 2]], step_px: f32) -> Vec<f32> {
    walk(poly, step_px)
        .into_iter()
        .map(|(p, _)| sample(hairness, p[0], p[1]))
        .collect()
}

/// Centroid and principal-axis angle (radians, from the x axis) of a point
/// set, from its second moments (Gonzalez R. C., Woods R. E., Digital Image
/// Processing, 4th ed., §11.4): the least-squares line through the points.
/// `None` for no points.
///
/// # Examples
/// ```
/// use trichometry::pipeline::measure::principal_axis;
/// let (c, theta) = principal_axis([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]].into_iter()).unwrap();
/// assert_eq!(c, [1.0, 1.0]);
/// assert!((theta - std::f64::consts::FRAC_PI_4).abs() < 1e-12);
/// ```
pub fn principal_axis(points: impl Iterator<Item = [f64; 2]> + Clone) -> Option<([f64; 2], f64)> {
    let (mut n, mut sx, mut sy) = (0usize, 0f64, 0f64);
    for p in points.clone() {
        n += 1;
        sx += p[0];
        sy += p[1];
    }
    if n == 0 {
        return None;
    }
    let (mx, my) = (sx / n as f64, sy / n as f64);
    let (mut sxx, mut syy, mut sxy) = (0f64, 0f64, 0f64);
    for p in points {
        let (dx, dy) = (p[0] - mx, p[1] - my);
        sxx += dx * dx;
        syy += dy * dy;
        sxy += dx * dy;
    }
    Some(([mx, my], 0.5 * (2.0 * sxy).atan2(sxx - syy)))
}

/// Length of a polyline in pixels.
pub fn polyline_length(poly: &[[f32; 2]]) -> f32 {
    poly.windows(2)
        .map(|s| ((s[1][0] - s[0][0]).powi(2) + (s[1][1] - s[0][1]).powi(2)).sqrt())
        .sum()
}

/// The `q`-quantile (0..=1) of the finite values of a sample (NaN marks a
/// missing one, as in [`width_sections`]), `None` when there are none.
///
/// # Examples
/// ```
/// use trichometry::pipeline::measure::quantile;
/// assert_eq!(quantile(&[3.0, f32::NAN, 1.0, 2.0], 0.5), Some(2.0));
/// assert_eq!(quantile(&[f32::NAN], 0.5), None);
/// ```
pub fn quantile(v: &[f32], q: f32) -> Option<f32> {
    let mut s: Vec<f32> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return None;
    }
    s.sort_by(|a, b| a.total_cmp(b));
    let i = ((s.len() - 1) as f32 * q.clamp(0.0, 1.0)).round() as usize;
    Some(s[i])
}

/// Diameter class of a shaft, or `None` when the pixel size is coarser than a
/// quarter of the vellus cut-off.
///
/// # Examples
/// ```
/// use trichometry::{PixelScale, HairClass, pipeline::measure::{classify, ClassConfig}};
/// let c = ClassConfig::default();
/// let s = PixelScale::new(2.5).unwrap();
/// assert_eq!(classify(20.0, &c, s), Some(HairClass::Vellus));
/// assert_eq!(classify(45.0, &c, s), Some(HairClass::Intermediate));
/// assert_eq!(classify(80.0, &c, s), Some(HairClass::Terminal));
/// assert_eq!(classify(80.0, &c, PixelScale::new(10.0).unwrap()), None);
/// ```
///
/// # References
/// Hoffmann R. (2001) TrichoScan: combining epiluminescence microscopy with
/// digital image analysis for the measurement of hair growth in vivo.
/// Eur J Dermatol 11(4):362–368.
pub fn classify(diameter_um: f64, cfg: &ClassConfig, scale: PixelScale) -> Option<HairClass> {
    if !cfg.resolvable(scale) {
        return None;
    }
    Some(match cfg.mode {
        ClassMode::Three => {
            if diameter_um < cfg.vellus_max_um {
                HairClass::Vellus
            } else if diameter_um > cfg.terminal_min_um {
                HairClass::Terminal
            } else {
                HairClass::Intermediate
            }
        }
        ClassMode::Two => {
            if diameter_um <= cfg.two_class_cutoff_um {
                HairClass::Vellus
            } else {
                HairClass::Terminal
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // The boundaries exactly as documented: vellus < 30 µm ≤ intermediate ≤ 60 µm
    // < terminal; two-class: vellus ≤ 40 µm < terminal; no classes when the
    // pixel is coarser than a quarter of the vellus cut-off.
    #[test]
    fn class_boundaries() {
        let three = ClassConfig::default();
        let s = PixelScale::new(2.5).unwrap();
        assert_eq!(classify(29.999, &three, s), Some(HairClass::Vellus));
        assert_eq!(classify(30.0, &three, s), Some(HairClass::Intermediate));
        assert_eq!(classify(60.0, &three, s), Some(HairClass::Intermediate));
        assert_eq!(classify(60.001, &three, s), Some(HairClass::Terminal));
        let two = ClassConfig {
            mode: ClassMode::Two,
            ..ClassConfig::default()
        };
        assert_eq!(classify(40.0, &two, s), Some(HairClass::Vellus));
        assert_eq!(classify(40.001, &two, s), Some(HairClass::Terminal));
        // Resolution: 7.5 µm/px is a quarter of 30 µm (resolvable), 7.6 is not.
        assert!(classify(50.0, &three, PixelScale::new(7.5).unwrap()).is_some());
        assert!(classify(50.0, &three, PixelScale::new(7.6).unwrap()).is_none());
        // Two-class mode's cut-off is 40 µm: a quarter is 10 µm/px.
        assert!(classify(50.0, &two, PixelScale::new(10.0).unwrap()).is_some());
        assert!(classify(50.0, &two, PixelScale::new(10.1).unwrap()).is_none());
    }
}
