//! Segmentation: thresholding the flattened map into a hair mask.
//!
//! Stage 2 of the pipeline.

use serde::{Deserialize, Serialize};

use crate::error::Result;

/// Settings of this stage.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SegmentConfig {}

impl SegmentConfig {
    /// Checks the settings.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Config`] naming the invalid field.
    pub fn validate(&self) -> Result<()> {
        Ok(())
    }
}
