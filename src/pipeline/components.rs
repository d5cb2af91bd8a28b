//! Connected components and look-alike rejection.
//!
//! Stage 3 of the pipeline.

use serde::{Deserialize, Serialize};

use crate::error::Result;

/// Settings of this stage.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ComponentConfig {}

impl ComponentConfig {
    /// Checks the settings.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Config`] naming the invalid field.
    pub fn validate(&self) -> Result<()> {
        Ok(())
    }
}
