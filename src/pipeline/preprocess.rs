//! Preprocessing: colour image to a flattened "hairness" map.
//!
//! Stage 1 of the pipeline. In: the decoded image. Out: a gray image in
//! which hair shafts stand out from a flat background.

use serde::{Deserialize, Serialize};

use crate::error::Result;

/// Preprocessing settings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PreprocessConfig {}

impl PreprocessConfig {
    /// Checks the settings.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Config`] naming the invalid field.
    pub fn validate(&self) -> Result<()> {
        Ok(())
    }
}
