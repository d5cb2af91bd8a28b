//! A short tutorial: from a photograph to hairs/cm², and what each number means.
//!
//! # 1. Calibration
//!
//! Every size trichometry reports is physical, so it needs the size of one
//! pixel on the scalp, in µm/px ([`crate::calibrate::PixelScale`]). Get it
//! from the device's documentation for the magnification used, or better,
//! photograph a calibration target (a ruler or a stage micrometer) with the
//! same settings and divide a known length by its length in pixels:
//!
//! ```
//! use trichometry::PixelScale;
//! // A 1 mm division of a stage micrometer spans 400 px: 1000 µm / 400 px.
//! let scale = PixelScale::new(1000.0 / 400.0)?;
//! assert_eq!(scale.um_per_px(), 2.5);
//! // A 1280 x 1024 frame then covers 3.2 mm x 2.56 mm = 0.0819 cm².
//! assert!((scale.area_cm2(1280 * 1024) - 0.08192).abs() < 1e-9);
//! # Ok::<(), trichometry::Error>(())
//! ```
//!
//! An image can take its pixel size from a manifest row, the command line, or
//! the configuration; trichometry refuses to guess one
//! ([`crate::calibrate::resolve`]).
//!
//! # 2. Density
//!
//! A hair counts for an area when its exit point (the follicular opening)
//! lies inside it. The density is the number of such hairs divided by the
//! analysed area:
//!
//! ```text
//! density (hairs/cm²) = hair_count / analysed_area_cm2
//! analysed_area_cm2   = (visible pixels inside the ROI) × (µm/px)² × 1e-8
//! ```
//!
//! Counting by exit point keeps the estimate unbiased at the frame edge: a
//! hair entering from outside has its exit outside and is not counted, while
//! a hair of this area that leaves the frame is counted once. A naive count of
//! visible shafts over-counts by roughly (perimeter × mean hair length) /
//! (π × area) — 10–20% for 1 mm hairs in a 1 cm² field.
//!
//! # 3. Uncertainty
//!
//! Hairs grow in follicular units of 1–4, so they are clustered, and a count
//! in a small field varies more than a Poisson count of the same mean. The
//! report's `density_ci95` is the sampling interval of a compound-Poisson
//! count ([`crate::report::density_ci95`]): it says how much the density of
//! this scalp could differ from what one field of this size shows, and leaves
//! detection error out.
//!
//! ```
//! use trichometry::report::density_ci95;
//! // 80 hairs in 40 two-hair units in 0.5 cm²: 160 hairs/cm², interval ±~50.
//! let [lo, hi] = density_ci95(&[2; 40], 0.5);
//! assert!(lo < 160.0 && 160.0 < hi);
//! ```
//!
//! # 4. Checking against a physical standard
//!
//! To check calibration and diameters, photograph a wire or fibre of known
//! diameter (e.g. a 50 µm or 80 µm calibration wire, or a nylon monofilament
//! measured with a micrometer) on skin-coloured paper at the same settings,
//! run `trichometry count` on it and compare `hairs[].diameter_um` with the
//! known value. The ratio of known to measured length of a ruler checks the
//! pixel size itself.
