//! Synthetic phototrichogram images with exact ground truth.
