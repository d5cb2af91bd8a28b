//! Fast linear filters on `f32` images for the hot path.
//!
//! [`gaussian_blur`] gives the same bits as `imageproc::filter::gaussian_blur_f32`
//! (same kernel, same clamped border, same order of accumulation per pixel)
//! but runs the vertical pass row by row instead of pixel by pixel and the
//! horizontal pass over a padded copy of the row, so both inner loops run over
//! contiguous memory and vectorise; it keeps only as many horizontally
//! filtered rows as the kernel has taps, not a second full-size image. Being bit-identical, it can replace the
//! crate function without moving any count; `tests` check it against the
//! crate on random images and kernel sizes.

use super::preprocess::GrayF32;

/// The normalised 1-D Gaussian kernel of `imageproc::filter::gaussian_blur_f32`:
/// radius ⌈2σ⌉ px, taps `exp(−i²/2σ²)/(σ√(2π))` divided by their sum.
///
/// # Examples
/// ```
/// use trichometry::pipeline::filter::gaussian_kernel;
/// let k = gaussian_kernel(1.0);
/// assert_eq!(k.len(), 5);
/// assert!((k.iter().sum::<f32>() - 1.0).abs() < 1e-6);
/// ```
pub fn gaussian_kernel(sigma: f32) -> Vec<f32> {
    let radius = (2.0 * sigma).ceil() as usize;
    let pdf = |x: f32| {
        (sigma * (2.0 * std::f32::consts::PI).sqrt()).recip()
            * (-x.powi(2) / (2.0 * sigma.powi(2))).exp()
    };
    let mut k = vec![0.0f32; 2 * radius + 1];
    for i in 0..=radius {
        let v = pdf(i as f32);
        k[radius + i] = v;
        k[radius - i] = v;
    }
    let sum: f32 = k.iter().sum();
    k.iter_mut().for_each(|x| *x /= sum);
    k
}

/// Gaussian blur of standard deviation `sigma_px` (pixels), borders clamped
/// (the edge pixel is repeated). Returns a copy of `image` when `sigma_px` is
/// not positive.
///
/// Separable correlation with [`gaussian_kernel`]: horizontal pass, then
/// vertical; each output is `Σ_i k[i]·p[i]` accumulated in `f32` in kernel
/// order, as the `imageproc` function does, so the result is bit-identical.
///
/// # Examples
/// ```
/// use trichometry::pipeline::{filter::gaussian_blur, preprocess::GrayF32};
/// let mut img = GrayF32::new(9, 9);
/// img.put_pixel(4, 4, image::Luma([1.0]));
/// let b = gaussian_blur(&img, 1.0);
/// assert!(b.get_pixel(4, 4)[0] > b.get_pixel(5, 4)[0]);
/// assert!((b.iter().sum::<f32>() - 1.0).abs() < 1e-5);
/// ```
///
/// # References
/// Gonzalez R. C., Woods R. E. (2018) *Digital Image Processing*, 4th ed.,
/// §3.5 (separable spatial filters).
pub fn gaussian_blur(image: &GrayF32, sigma_px: f32) -> GrayF32 {
    if sigma_px.is_nan() || sigma_px <= 0.0 || image.width() == 0 || image.height() == 0 {
        return image.clone();
    }
    let mut rows = BlurRows::new(image, sigma_px);
    let mut out = vec![0.0f32; image.as_raw().len()];
    for row in out.chunks_exact_mut(image.width() as usize) {
        rows.next_into(row);
    }
    GrayF32::from_raw(image.width(), image.height(), out)
        .unwrap_or_else(|| GrayF32::new(image.width(), image.height()))
}

/// The rows of [`gaussian_blur`], produced top to bottom from a ring of
/// horizontally filtered rows (one per kernel tap), so a caller that
/// consumes rows as they come never holds a blurred image, or the
/// intermediate one, in full. Each output row is bit-identical to the
/// corresponding row of [`gaussian_blur`].
pub(crate) struct BlurRows<'a> {
    src: &'a [f32],
    w: usize,
    h: usize,
    kernel: Vec<f32>,
    /// `kernel.len()` horizontally filtered rows; slot `sy % len` holds row `sy`.
    ring: Vec<f32>,
    /// Source row held by each slot (`usize::MAX`: none yet).
    held: Vec<usize>,
    pad: Vec<f32>,
    next: usize,
}

impl<'a> BlurRows<'a> {
    /// Rows of `image` (non-empty) blurred with σ = `sigma_px` > 0.
    pub(crate) fn new(image: &'a GrayF32, sigma_px: f32) -> BlurRows<'a> {
        let kernel = gaussian_kernel(sigma_px);
        let (w, h) = (image.width() as usize, image.height() as usize);
        let k = kernel.len();
        BlurRows {
            src: image.as_raw(),
            w,
            h,
            ring: vec![0.0; k * w],
            held: vec![usize::MAX; k],
            pad: vec![0.0; w + k - 1],
            kernel,
            next: 0,
        }
    }

    /// Writes the next blurred row into `out` (length: the image width).
    pub(crate) fn next_into(&mut self, out: &mut [f32]) {
        let (w, k) = (self.w, self.kernel.len());
        let half = k as i64 / 2;
        let y = self.next as i64;
        self.next += 1;
        out.fill(0.0);
        for i in 0..k {
            let sy = (y + i as i64 - half).clamp(0, self.h as i64 - 1) as usize;
            let slot = sy % k;
            if self.held[slot] != sy {
                let dst = &mut self.ring[slot * w..(slot + 1) * w];
                horizontal_row(
                    &self.src[sy * w..(sy + 1) * w],
                    &self.kernel,
                    &mut self.pad,
                    dst,
                );
                self.held[slot] = sy;
            }
            let kv = self.kernel[i];
            for (d, &p) in out.iter_mut().zip(&self.ring[slot * w..(slot + 1) * w]) {
                *d += p * kv;
            }
        }
    }
}

/// Horizontal correlation of one row with a clamped border, accumulated in
/// kernel order; `pad` is scratch of length `row.len() + kernel.len() − 1`.
fn horizontal_row(row: &[f32], kernel: &[f32], pad: &mut [f32], dst: &mut [f32]) {
    let (w, half) = (row.len(), kernel.len() / 2);
    pad[..half].fill(row[0]);
    pad[half..half + w].copy_from_slice(row);
    pad[half + w..].fill(row[w - 1]);
    dst.fill(0.0);
    for (i, &k) in kernel.iter().enumerate() {
        for (d, &p) in dst.iter_mut().zip(&pad[i..i + w]) {
            *d += p * k;
        }
    }
}

/// Binary dilation of `mask` (non-zero = set) by the square of side
/// `2r + 1` (the chessboard / L∞ ball of radius `r`): 255 where any set pixel
/// lies within `r` in both x and y, else 0. Same output as
/// `imageproc::morphology::dilate(mask, Norm::LInf, r)` except on an empty
/// mask no larger than `r`, which that function sets everywhere.
///
/// Separable: a sliding count along each row, then a sliding count of those
/// rows down each column, so the cost does not grow with `r`.
///
/// # Examples
/// ```
/// use trichometry::pipeline::filter::dilate_square;
/// let mut m = image::GrayImage::new(7, 7);
/// m.put_pixel(3, 3, image::Luma([255]));
/// let d = dilate_square(&m, 1);
/// assert_eq!(d.as_raw().iter().filter(|&&v| v == 255).count(), 9);
/// ```
///
/// # References
/// van Herk M. (1992) A fast algorithm for local minimum and maximum filters
/// on rectangular and octagonal kernels. Pattern Recognit. Lett.
/// 13(7):517–521 (separability of the rectangular max filter).
pub fn dilate_square(mask: &image::GrayImage, r: u32) -> image::GrayImage {
    let (w, h) = mask.dimensions();
    let (wu, hu, r) = (w as usize, h as usize, r as usize);
    let mut out = image::GrayImage::new(w, h);
    if wu == 0 || hu == 0 {
        return out;
    }
    // Rows: 1 where a set pixel lies within r along the row.
    let mut rows = vec![0u8; wu * hu];
    for (src, dst) in mask
        .as_raw()
        .chunks_exact(wu)
        .zip(rows.chunks_exact_mut(wu))
    {
        let mut count = src[..r.min(wu)].iter().filter(|&&v| v != 0).count();
        for x in 0..wu {
            if x + r < wu && src[x + r] != 0 {
                count += 1;
            }
            if x > r && src[x - r - 1] != 0 {
                count -= 1;
            }
            dst[x] = u8::from(count > 0);
        }
    }
    // Columns: a running count per column over rows y − r ..= y + r.
    let mut count = vec![0u32; wu];
    for row in rows.chunks_exact(wu).take(r) {
        for (c, &v) in count.iter_mut().zip(row) {
            *c += u32::from(v);
        }
    }
    for (y, dst) in out.as_mut().chunks_exact_mut(wu).enumerate() {
        if y + r < hu {
            for (c, &v) in count.iter_mut().zip(&rows[(y + r) * wu..(y + r + 1) * wu]) {
                *c += u32::from(v);
            }
        }
        if y > r {
            for (c, &v) in count.iter_mut().zip(&rows[(y - r - 1) * wu..(y - r) * wu]) {
                *c -= u32::from(v);
            }
        }
        for (d, &c) in dst.iter_mut().zip(&count) {
            *d = if c > 0 { 255 } else { 0 };
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::testing::{noise_image, XorShift};
    use proptest::prelude::*;

    proptest! {
        // Same bits as the crate function, including images narrower or
        // shorter than the kernel (where imageproc takes its clamped path).
        #[test]
        fn blur_matches_imageproc(w in 1u32..40, h in 1u32..40, sigma in 0.3f32..6.0, seed in any::<u64>()) {
            let img = noise_image(w, h, seed, -1.0, 1.0);
            let fast = gaussian_blur(&img, sigma);
            let slow = imageproc::filter::gaussian_blur_f32(&img, sigma);
            prop_assert_eq!(fast.as_raw(), slow.as_raw());
        }
    }

    proptest! {
        #[test]
        fn dilation_matches_imageproc(w in 1u32..30, h in 1u32..30, r in 0u8..6, seed in any::<u64>()) {
            let mut rng = XorShift::new(seed);
            let m = image::GrayImage::from_fn(w, h, |_, _| {
                image::Luma([if rng.next_u64().is_multiple_of(9) { 255 } else { 0 }])
            });
            let fast = dilate_square(&m, u32::from(r));
            let brute = image::GrayImage::from_fn(w, h, |x, y| {
                let r = u32::from(r);
                let hit = (y.saturating_sub(r)..=(y + r).min(h - 1)).any(|yy| {
                    (x.saturating_sub(r)..=(x + r).min(w - 1)).any(|xx| m.get_pixel(xx, yy)[0] != 0)
                });
                image::Luma([if hit { 255 } else { 0 }])
            });
            prop_assert_eq!(fast.as_raw(), brute.as_raw());
            // imageproc agrees whenever something is set (on an empty image
            // no larger than the radius it marks every pixel).
            if m.as_raw().iter().any(|&v| v != 0) {
                let slow = imageproc::morphology::dilate(&m, imageproc::distance_transform::Norm::LInf, r);
                prop_assert_eq!(fast.as_raw(), slow.as_raw());
            }
        }
    }

    #[test]
    fn blur_of_negated_is_negated() {
        let img = noise_image(31, 17, 5, -1.0, 1.0);
        let mut neg = img.clone();
        neg.iter_mut().for_each(|v| *v = -*v);
        let a = gaussian_blur(&img, 1.7);
        let b = gaussian_blur(&neg, 1.7);
        assert!(a.as_raw().iter().zip(b.as_raw()).all(|(x, y)| *x == -*y));
    }
}
