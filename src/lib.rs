//! # trichometry
//!
//! Hair density (hairs/cm²) from calibrated trichoscopy and phototrichogram
//! images of clipped scalp: decoding and calibration, segmentation of hair
//! shafts, rejection of look-alikes, splitting of follicular units and
//! crossings, counting with an unbiased border rule, per-hair measurement,
//! batch processing, study endpoints, and benchmark ground truth.
//!
//! ## Quick start
//!
//! ```
//! use trichometry::{Config, Pipeline, calibrate::PixelScale};
//!
//! let pipeline = Pipeline::new(Config::default())?;
//! let image = image::DynamicImage::new_rgb8(400, 300); // or decode::decode_path(...)
//! let scale = PixelScale::new(5.0)?;                  // µm per pixel
//! let analysis = pipeline.analyse(&image, scale, None)?;
//! println!("{} hairs, {:.1} hairs/cm²", analysis.hairs.len(), analysis.density_per_cm2);
//! # Ok::<(), trichometry::Error>(())
//! ```
//!
//! ## The counting convention
//!
//! One hair is one shaft leaving the skin at its exit point (follicular
//! opening). A hair counts for an area when its exit point lies inside the
//! area. Density is hairs counted divided by the analysed area in cm², where
//! the analysed area leaves out what cannot be seen. Coordinates are pixels
//! after EXIF orientation, origin top-left; sizes are µm.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod assets;
pub mod batch;
pub mod calibrate;
pub mod config;
pub mod decode;
pub mod error;
pub mod eval;
pub mod overlay;
pub mod pipeline;
pub mod report;
pub mod study;
pub mod synth;
pub mod tutorial;

pub use calibrate::PixelScale;
pub use config::Config;
pub use error::{Error, ErrorKind, Result};
pub use pipeline::{Analysis, Pipeline};
pub use report::{Hair, HairClass, ImageReport};
