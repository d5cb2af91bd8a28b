//! The per-image pipeline: decoded image and calibration in, counted hairs out.
//!
//! ```text
//! DynamicImage ─▶ preprocess ─▶ segment ─▶ components ─▶ measure ─▶ count ─▶ Analysis
//!                 (gray, flat)  (mask)     (labels,      (length,   (split, exit
//!                                          reject)       diameter)  points, density)
//! ```
//!
//! [`Pipeline`] holds a validated [`Config`]; it is `Send + Sync`, so a batch
//! shares one `&Pipeline` across worker threads. Stages take images by
//! reference and return values; none reads the file system.

pub mod components;
pub mod count;
pub mod measure;
pub mod naive;
pub mod preprocess;
pub mod segment;

use image::DynamicImage;
use serde::{Deserialize, Serialize};

use crate::calibrate::PixelScale;
use crate::config::Config;
use crate::error::Result;
use crate::report::{Hair, Roi};

/// Why a connected component was counted as some number of hairs, or rejected.
///
/// Kept for review (`--detail` output and overlays); never changes the count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentDecision {
    /// `[x_min, y_min, x_max, y_max]` in pixels, inclusive.
    pub bbox: [u32; 4],
    /// Area in pixels.
    pub area_px: u64,
    /// Hairs counted from this component (0 when rejected).
    pub hairs: u32,
    /// Short machine-readable reason, e.g. `round_dot`, `too_short`, `split_2_fan`.
    pub reason: String,
}

/// Result of analysing one image: what a report needs, before provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    /// Width after orientation, pixels.
    pub width: u32,
    /// Height after orientation, pixels.
    pub height: u32,
    /// Analysed area (ROI, less what cannot be seen), cm².
    pub analysed_area_cm2: f64,
    /// The ROI as applied (clipped to the image), if any.
    pub roi: Option<Roi>,
    /// Counted hairs, numbered 1.. in report order.
    pub hairs: Vec<Hair>,
    /// Hairs per cm² of analysed area, including any fractional edge correction.
    pub density_per_cm2: f64,
    /// Quality flags.
    pub qc_flags: Vec<String>,
    /// Decision trail, one entry per candidate component.
    pub components: Vec<ComponentDecision>,
    /// True when classes are vellus/intermediate/terminal; false in the
    /// two-class (TrichoScan-compatible) mode, where `intermediate_count` is null.
    pub three_classes: bool,
}

/// A validated, immutable pipeline configuration; runs the stages on one image.
///
/// ```
/// use trichometry::{Config, Pipeline, calibrate::PixelScale};
/// let pipeline = Pipeline::new(Config::default()).unwrap();
/// let blank = image::DynamicImage::new_rgb8(200, 200);
/// let a = pipeline.analyse(&blank, PixelScale::new(5.0).unwrap(), None).unwrap();
/// assert_eq!(a.hairs.len(), 0); // an empty field is a valid result
/// ```
#[derive(Debug, Clone)]
pub struct Pipeline {
    cfg: Config,
}

impl Pipeline {
    /// Validates `cfg` and builds the pipeline. The configuration cannot change afterwards.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Config`] naming the first invalid field.
    pub fn new(cfg: Config) -> Result<Self> {
        cfg.validate()?;
        Ok(Pipeline { cfg })
    }

    /// The configuration this pipeline runs with.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Analyses one decoded, oriented image at the given calibration.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Roi`] when `roi` cannot be applied to this image.
    pub fn analyse(
        &self,
        image: &DynamicImage,
        scale: PixelScale,
        roi: Option<&Roi>,
    ) -> Result<Analysis> {
        // First version: the naive baseline, replaced stage by stage.
        let _ = roi;
        let _ = image;
        let _ = scale;
        todo!()
    }
}
