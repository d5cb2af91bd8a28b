//! Per-hair measurement: length, diameter, class.
//!
//! Stage 4 of the pipeline.

use serde::{Deserialize, Serialize};

use crate::error::Result;

/// Settings of this stage.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MeasureConfig {}

impl MeasureConfig {
    /// Checks the settings.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Config`] naming the invalid field.
    pub fn validate(&self) -> Result<()> {
        Ok(())
    }
}
