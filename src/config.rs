//! Configuration: one [`Config`] for the whole pipeline, one section per stage.
//!
//! Every size is a physical quantity (µm, µm², cm²) converted to pixels with
//! each image's calibration, so one configuration serves 2.5 µm/px and
//! 12 µm/px images alike. Configurations load from TOML or JSON; an unknown
//! key is an error (a typo must not silently fall back to a default).
//! Defaults are documented on each field and are what `trichometry count`
//! uses without `--config`.

use serde::{Deserialize, Serialize};

use crate::decode::DecodeLimits;
use crate::error::{Error, Result};
pub use crate::pipeline::components::ComponentConfig;
pub use crate::pipeline::count::CountConfig;
pub use crate::pipeline::measure::MeasureConfig;
pub use crate::pipeline::preprocess::PreprocessConfig;
pub use crate::pipeline::qc::QcConfig;
pub use crate::pipeline::segment::SegmentConfig;

/// Current version of the configuration schema; bumped on breaking semantic change.
pub const CONFIG_SCHEMA_VERSION: u32 = 1;

/// Checks that a configuration value is a finite positive number.
///
/// # Errors
/// [`crate::ErrorKind::Config`] naming `field` (its dotted path, e.g. `count.unit_radius_um`).
pub(crate) fn require_positive(value: f64, field: &'static str) -> Result<()> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(Error::config(
            field,
            format!("must be a positive number, got {value}"),
        ))
    }
}

/// `Ok` when `value` is finite and at least 0 (0 usually turns a rule off),
/// otherwise a [`crate::ErrorKind::Config`] error naming `field`.
pub(crate) fn require_non_negative(value: f64, field: &'static str) -> Result<()> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(Error::config(
            field,
            format!("must be finite and at least 0, got {value}"),
        ))
    }
}

/// `Ok` when `value` lies in [0, 1] (a share or a weight), otherwise a
/// [`crate::ErrorKind::Config`] error naming `field`.
pub(crate) fn require_fraction(value: f64, field: &'static str) -> Result<()> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(Error::config(
            field,
            format!("must be in [0, 1], got {value}"),
        ))
    }
}

/// Calibration settings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CalibrationConfig {
    /// Pixel size in µm/px used when neither the manifest nor the command line
    /// gives one (lowest precedence). Default: none, so an uncalibrated image
    /// is an error record rather than a guess.
    pub pixel_size_um: Option<f64>,
}

/// The whole pipeline's configuration.
///
/// ```
/// use trichometry::Config;
/// let cfg = Config::from_toml_str("[calibration]\npixel_size_um = 5.0\n").unwrap();
/// assert_eq!(cfg.calibration.pixel_size_um, Some(5.0));
/// assert!(Config::from_toml_str("[calibration]\npixel_size = 5.0\n").is_err()); // typo
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Config {
    /// Schema version of this configuration ([`CONFIG_SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// Decoding limits.
    pub limits: DecodeLimits,
    /// Calibration fallback.
    pub calibration: CalibrationConfig,
    /// Gray conversion and background flattening.
    pub preprocess: PreprocessConfig,
    /// Thresholding.
    pub segment: SegmentConfig,
    /// Connected components and look-alike rejection.
    pub components: ComponentConfig,
    /// Per-hair measurement and diameter classes.
    pub measure: MeasureConfig,
    /// Splitting, exit points, border rule and density.
    pub count: CountConfig,
    /// Thresholds of the quality flags.
    pub qc: QcConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            schema_version: CONFIG_SCHEMA_VERSION,
            limits: DecodeLimits::default(),
            calibration: CalibrationConfig::default(),
            preprocess: PreprocessConfig::default(),
            segment: SegmentConfig::default(),
            components: ComponentConfig::default(),
            measure: MeasureConfig::default(),
            count: CountConfig::default(),
            qc: QcConfig::default(),
        }
    }
}

impl Config {
    /// Checks every section; called by [`crate::Pipeline::new`].
    ///
    /// # Errors
    /// [`crate::ErrorKind::Config`] naming the first invalid field.
    pub fn validate(&self) -> Result<()> {
        if self.schema_version != CONFIG_SCHEMA_VERSION {
            return Err(Error::config(
                "schema_version",
                format!(
                    "this trichometry reads configuration schema {CONFIG_SCHEMA_VERSION}, not {}",
                    self.schema_version
                ),
            ));
        }
        self.limits.validate()?;
        if let Some(p) = self.calibration.pixel_size_um {
            crate::calibrate::PixelScale::new(p)
                .map_err(|e| Error::config("calibration.pixel_size_um", e.to_string()))?;
        }
        self.preprocess.validate()?;
        self.segment.validate()?;
        self.components.validate()?;
        self.measure.validate()?;
        self.count.validate()?;
        self.qc.validate()?;
        Ok(())
    }

    /// Parses a TOML configuration (missing keys take their defaults) and validates it.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Config`] on a syntax error, unknown key or invalid value.
    pub fn from_toml_str(s: &str) -> Result<Self> {
        let cfg: Config = toml::from_str(s).map_err(|e| Error::config("(toml)", e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Parses a JSON configuration (missing keys take their defaults) and validates it.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Config`] on a syntax error, unknown key or invalid value.
    pub fn from_json_str(s: &str) -> Result<Self> {
        let cfg: Config =
            serde_json::from_str(s).map_err(|e| Error::config("(json)", e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Loads a configuration file: JSON if its name ends in `.json`, TOML otherwise.
    ///
    /// # Errors
    /// `not_found` / `io_error` when the file cannot be read, then as the parsers.
    pub fn from_path(path: &std::path::Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::from_io(e, path))?;
        let is_json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let parsed = if is_json {
            Self::from_json_str(&text)
        } else {
            Self::from_toml_str(&text)
        };
        parsed.map_err(|e| e.with_path(path))
    }

    /// The configuration as pretty TOML (every field, defaults included).
    pub fn to_toml_string(&self) -> String {
        toml::to_string_pretty(self).expect("Config serialises to TOML")
    }

    /// First 16 hex digits of the SHA-256 of the configuration's canonical JSON.
    ///
    /// Two configurations with the same hash give the same results.
    pub fn hash(&self) -> String {
        let json = serde_json::to_string(self).expect("Config serialises to JSON");
        crate::decode::sha256_hex(json.as_bytes())[..16].to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // TOML and JSON round trips give back the same configuration, and the hash is stable.
    #[test]
    fn round_trips() {
        let mut cfg = Config::default();
        cfg.calibration.pixel_size_um = Some(4.2);
        let toml = cfg.to_toml_string();
        let back = Config::from_toml_str(&toml).unwrap();
        assert_eq!(back, cfg);
        let json = serde_json::to_string(&cfg).unwrap();
        assert_eq!(Config::from_json_str(&json).unwrap(), cfg);
        assert_eq!(back.hash(), cfg.hash());
        assert_ne!(Config::default().hash(), cfg.hash());
    }

    // Unknown keys and invalid values are errors naming the field.
    #[test]
    fn rejects_unknown_and_invalid() {
        assert!(Config::from_toml_str("bogus = 1").is_err());
        let e = Config::from_toml_str("[calibration]\npixel_size_um = -2.0").unwrap_err();
        assert!(e.to_string().contains("calibration.pixel_size_um"), "{e}");
        let e = Config::from_toml_str("[limits]\nmax_width_px = 0").unwrap_err();
        assert!(e.to_string().contains("limits.max_width_px"), "{e}");
        // An empty file is the default configuration.
        assert_eq!(Config::from_toml_str("").unwrap(), Config::default());
    }
}
