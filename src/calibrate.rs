//! Calibration: pixel size in µm/px, and the physical area of a field of view.
//!
//! Stage 0b of the pipeline, beside decoding. In: the pixel sizes that the
//! manifest, the command line and the configuration may give for an image.
//! Out: one validated [`PixelScale`] and the [`CalibrationSource`] it came
//! from, or an error. trichometry never guesses a calibration: an image
//! without one gets a `calibration_missing` error record.
//!
//! Units: 1 cm = 10 000 µm, so an area of `n` pixels at `s` µm/px is
//! `n · s² · 1e-8` cm².

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};

/// Smallest accepted pixel size, µm/px (inclusive): about 2 000× optical magnification.
pub const MIN_UM_PER_PX: f64 = 0.5;
/// Largest accepted pixel size, µm/px (inclusive): vellus hairs would be under a pixel wide.
pub const MAX_UM_PER_PX: f64 = 50.0;

/// Square micrometres in one square centimetre.
pub const UM2_PER_CM2: f64 = 1.0e8;

/// Size of one (square) pixel on the scalp, in micrometres.
///
/// Always finite and within [`MIN_UM_PER_PX`]..=[`MAX_UM_PER_PX`].
///
/// ```
/// use trichometry::calibrate::PixelScale;
/// let s = PixelScale::new(5.0).unwrap();
/// assert_eq!(s.um_to_px(100.0), 20.0);
/// // 2000 x 2000 px at 5 µm/px is 1 cm x 1 cm.
/// assert!((s.area_cm2(2000 * 2000) - 1.0).abs() < 1e-12);
/// assert!(PixelScale::new(0.0).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PixelScale {
    um_per_px: f64,
}

impl PixelScale {
    /// Validates a pixel size in µm/px.
    ///
    /// # Errors
    /// [`ErrorKind::CalibrationInvalid`] when the value is NaN, infinite, zero,
    /// negative, or outside [`MIN_UM_PER_PX`]..=[`MAX_UM_PER_PX`].
    pub fn new(um_per_px: f64) -> Result<Self> {
        let reason = if !um_per_px.is_finite() {
            Some("not a finite number".to_string())
        } else if um_per_px <= 0.0 {
            Some("must be positive".to_string())
        } else if !(MIN_UM_PER_PX..=MAX_UM_PER_PX).contains(&um_per_px) {
            Some(format!(
                "outside the valid range {MIN_UM_PER_PX}–{MAX_UM_PER_PX} µm/px"
            ))
        } else {
            None
        };
        match reason {
            Some(reason) => Err(Error::new(ErrorKind::CalibrationInvalid {
                value: um_per_px,
                reason,
            })),
            None => Ok(PixelScale { um_per_px }),
        }
    }

    /// Pixel size in µm/px.
    pub fn um_per_px(self) -> f64 {
        self.um_per_px
    }

    /// Converts a length in µm to pixels.
    pub fn um_to_px(self, um: f64) -> f64 {
        um / self.um_per_px
    }

    /// Converts a length in pixels to µm.
    pub fn px_to_um(self, px: f64) -> f64 {
        px * self.um_per_px
    }

    /// Area of one pixel in cm².
    pub fn pixel_area_cm2(self) -> f64 {
        self.um_per_px * self.um_per_px / UM2_PER_CM2
    }

    /// Area of `n_pixels` pixels in cm².
    pub fn area_cm2(self, n_pixels: u64) -> f64 {
        n_pixels as f64 * self.pixel_area_cm2()
    }

    /// Converts an area in µm² to pixels².
    pub fn um2_to_px2(self, um2: f64) -> f64 {
        um2 / (self.um_per_px * self.um_per_px)
    }
}

/// Where an image's pixel size came from, recorded in every report as `calibration_source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CalibrationSource {
    /// The `pixel_size_um` column of the manifest row (highest precedence).
    Manifest,
    /// The `--pixel-size-um` command-line flag, or the caller's per-batch value in the API.
    Flag,
    /// `calibration.pixel_size_um` in the configuration (lowest precedence).
    Config,
}

impl CalibrationSource {
    /// The snake_case name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            CalibrationSource::Manifest => "manifest",
            CalibrationSource::Flag => "flag",
            CalibrationSource::Config => "config",
        }
    }
}

/// Relative tolerance under which two given pixel sizes count as the same value.
const AGREE_REL_TOL: f64 = 1e-9;

/// Chooses an image's pixel size from the sources that gave one.
///
/// Precedence, highest first: manifest row, command-line flag, configuration.
/// Every given value is validated. Two given values that differ (relative
/// difference above 1e-9) are a conflict and an error, never silently
/// resolved; agreeing values are reported under the highest-precedence source.
///
/// # Errors
/// [`ErrorKind::CalibrationMissing`] when no source gives a value,
/// [`ErrorKind::CalibrationInvalid`] for an invalid value,
/// [`ErrorKind::CalibrationConflict`] when two sources disagree.
///
/// # Examples
/// ```
/// use trichometry::calibrate::{resolve, CalibrationSource};
/// let (s, src) = resolve(Some(4.0), None, Some(4.0)).unwrap();
/// assert_eq!((s.um_per_px(), src), (4.0, CalibrationSource::Manifest));
/// assert_eq!(resolve(Some(4.0), Some(5.0), None).unwrap_err().code(), "calibration_conflict");
/// assert_eq!(resolve(None, None, None).unwrap_err().code(), "calibration_missing");
/// ```
pub fn resolve(
    manifest: Option<f64>,
    flag: Option<f64>,
    config: Option<f64>,
) -> Result<(PixelScale, CalibrationSource)> {
    let given: Vec<(CalibrationSource, f64)> = [
        (CalibrationSource::Manifest, manifest),
        (CalibrationSource::Flag, flag),
        (CalibrationSource::Config, config),
    ]
    .into_iter()
    .filter_map(|(s, v)| v.map(|v| (s, v)))
    .collect();
    let Some(&(first_source, first)) = given.first() else {
        return Err(Error::new(ErrorKind::CalibrationMissing));
    };
    for &(_, v) in &given {
        PixelScale::new(v)?;
    }
    for &(second_source, second) in &given[1..] {
        if (second - first).abs() > AGREE_REL_TOL * first.abs().max(second.abs()) {
            return Err(Error::new(ErrorKind::CalibrationConflict {
                first_source: first_source.as_str(),
                first,
                second_source: second_source.as_str(),
                second,
            }));
        }
    }
    Ok((PixelScale::new(first)?, first_source))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Bounds are inclusive; zero, negative, NaN, infinity and out-of-range values are refused.
    #[test]
    fn validates_range() {
        assert!(PixelScale::new(0.5).is_ok());
        assert!(PixelScale::new(50.0).is_ok());
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 0.49, 50.01, 1e9] {
            let e = PixelScale::new(bad).unwrap_err();
            assert_eq!(e.code(), "calibration_invalid", "{bad}");
        }
    }

    // Area arithmetic: 1 px at 10 µm/px is 100 µm² = 1e-6 cm².
    #[test]
    fn area_arithmetic() {
        let s = PixelScale::new(10.0).unwrap();
        assert!((s.pixel_area_cm2() - 1e-6).abs() < 1e-18);
        assert!((s.area_cm2(1_000_000) - 1.0).abs() < 1e-12);
        assert_eq!(s.px_to_um(3.0), 30.0);
        assert_eq!(s.um2_to_px2(400.0), 4.0);
        // 4000 x 3000 px at 2.5 µm/px = 1.0 cm x 0.75 cm.
        let s = PixelScale::new(2.5).unwrap();
        assert!((s.area_cm2(4000 * 3000) - 0.75).abs() < 1e-12);
    }

    // Precedence: manifest over flag over config; agreement is fine, disagreement an error.
    #[test]
    fn precedence_and_conflict() {
        assert_eq!(
            resolve(None, Some(3.0), None).unwrap().1,
            CalibrationSource::Flag
        );
        assert_eq!(
            resolve(None, None, Some(3.0)).unwrap().1,
            CalibrationSource::Config
        );
        assert_eq!(
            resolve(None, Some(3.0), Some(3.0)).unwrap().1,
            CalibrationSource::Flag
        );
        let e = resolve(None, Some(3.0), Some(3.1)).unwrap_err();
        assert_eq!(e.code(), "calibration_conflict");
        assert!(e.to_string().contains("flag says 3"), "{e}");
        // An invalid lower-precedence value is an error too: never silently ignored.
        assert_eq!(
            resolve(Some(3.0), None, Some(-1.0)).unwrap_err().code(),
            "calibration_invalid"
        );
    }
}
