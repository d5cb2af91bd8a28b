//! The naive baseline: threshold + connected-component count.
//!
//! What a researcher would write first, and what `shared/bench/opencv_reference.py`
//! does: luma → morphological black-hat with a disk of radius 75 µm → Otsu
//! threshold → 8-connected components → count components of at least
//! 4 000 µm². No splitting, no look-alike rejection, no border rule. It is kept
//! as the contrast row of the accuracy tables (`docs/accuracy.md`), never used
//! by [`crate::Pipeline`].

use image::{DynamicImage, GrayImage, Luma};
use imageproc::contrast::{otsu_level, threshold, ThresholdType};
use imageproc::morphology::{grayscale_close, Mask};
use imageproc::region_labelling::{connected_components, Connectivity};

use crate::calibrate::PixelScale;

/// Radius of the black-hat disk, µm.
pub const BLACKHAT_RADIUS_UM: f64 = 75.0;
/// Smallest component counted, µm² (inclusive).
pub const MIN_AREA_UM2: f64 = 4000.0;

/// Counts hairs the naive way: the number of dark components of at least
/// [`MIN_AREA_UM2`] after a black-hat and an Otsu threshold.
///
/// # Examples
/// ```
/// use trichometry::{PixelScale, pipeline::naive::naive_count};
/// let mut img = image::GrayImage::from_pixel(100, 100, image::Luma([200]));
/// for y in 20..80 { for x in 48..52 { img.put_pixel(x, y, image::Luma([40])); } }
/// let n = naive_count(&image::DynamicImage::ImageLuma8(img), PixelScale::new(5.0).unwrap());
/// assert_eq!(n, 1);
/// ```
///
/// # References
/// Otsu N. (1979) A threshold selection method from gray-level histograms.
/// IEEE Trans. SMC 9(1):62–66. doi:10.1109/TSMC.1979.4310076
pub fn naive_count(image: &DynamicImage, scale: PixelScale) -> u32 {
    let gray = image.to_luma8();
    let r = scale.um_to_px(BLACKHAT_RADIUS_UM).round().clamp(1.0, 255.0) as u8;
    let closed = grayscale_close(&gray, &Mask::disk(r));
    let mut blackhat = GrayImage::new(gray.width(), gray.height());
    for ((o, c), g) in blackhat
        .pixels_mut()
        .zip(closed.pixels())
        .zip(gray.pixels())
    {
        *o = Luma([c[0].saturating_sub(g[0])]);
    }
    let level = otsu_level(&blackhat);
    let binary = threshold(&blackhat, level, ThresholdType::Binary);
    let labels = connected_components(&binary, Connectivity::Eight, Luma([0u8]));
    let mut areas: Vec<u64> = Vec::new();
    for p in labels.pixels() {
        let l = p[0] as usize;
        if l == 0 {
            continue;
        }
        if areas.len() < l {
            areas.resize(l, 0);
        }
        areas[l - 1] += 1;
    }
    let min_area = scale.um2_to_px2(MIN_AREA_UM2);
    areas.iter().filter(|&&a| a as f64 >= min_area).count() as u32
}
