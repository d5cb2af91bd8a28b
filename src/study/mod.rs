//! Study endpoints: from a manifest of subjects and visits to density tables and plots.
