//! Scoring counts and hair positions against ground truth.
