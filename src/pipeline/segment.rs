//! Segmentation: thresholding the flattened map into a hair mask.
//!
//! Stage 2 of the pipeline. In: a [`Preprocessed`] hairness map (relative
//! contrast, hair positive). Out: a [`HairMask`].
//!
//! Threshold functions return a level, as in scikit-image: [`otsu_level`]
//! (global), [`sauvola_levels`] (local/adaptive, a level per pixel) and
//! [`noise_levels`] (hysteresis levels from the robust background noise).
//! The default method is hysteresis ([`hysteresis`]) on the hairness map,
//! united with a multi-scale ridge filter ([`ridge_response`]) that recovers
//! faint, thin or blurred hairs a plain threshold misses. [`round_blobs`]
//! finds tattoo dots and other round ink blobs in the mask, whose ink the
//! pipeline takes out of the mask, keeping the shafts that lie on it.

use image::{GrayImage, Luma};
use serde::{Deserialize, Serialize};

use super::preprocess::{GrayF32, Preprocessed};
use crate::calibrate::PixelScale;
use crate::error::{Error, Result};

/// How the hairness map is thresholded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdMethod {
    /// Hysteresis between `low_sigma` and `high_sigma` noise units (default).
    Hysteresis,
    /// Global Otsu level on the hairness map.
    Otsu,
    /// Sauvola local levels over `sauvola_window_um`.
    Sauvola,
}

/// Segmentation settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SegmentConfig {
    /// Threshold method. Default: `hysteresis`.
    pub method: ThresholdMethod,
    /// Seed level in robust noise units (σ of the flattened background). Default: 6.
    pub high_sigma: f64,
    /// Growth level in noise units. Default: 3.5.
    pub low_sigma: f64,
    /// Smallest seed relative contrast whatever the noise (a noise-free image
    /// still needs a level). Default: 0.08.
    pub min_contrast: f64,
    /// Recover thin faint hairs with the multi-scale ridge filter. Default: true.
    pub ridge: bool,
    /// Hair radii the ridge filter is tuned to, µm (σ = radius/√3 per scale,
    /// at least 1 px). Default: [4, 8, 16].
    pub ridge_radii_um: Vec<f64>,
    /// Ridge seed level in robust noise units of the ridge response. Default: 8.
    pub ridge_high_sigma: f64,
    /// Ridge growth level in noise units of the ridge response. Default: 4.
    pub ridge_low_sigma: f64,
    /// Sauvola window side, µm (method `sauvola` only). Default: 400 µm.
    pub sauvola_window_um: f64,
    /// Sauvola k (method `sauvola` only). Default: 0.2.
    pub sauvola_k: f64,
    /// Round, evenly dark blobs of the mask at least this wide (tattoo dots,
    /// which mark trial target areas and are about 1 mm across; ink; large
    /// pigment patches), µm, are ink ([`round_blobs`]): the ink leaves the
    /// mask and the shafts lying on it stay, so that they no longer join
    /// the dot into one tangle. The dot stays in the analysed area (hairs
    /// leave the skin there too), marked [`super::preprocess::ON_INK`]: no
    /// shaft width is read across it, and a shaft end on it reads as
    /// neither exit nor tip. Smaller than 500 µm, bundles of crossing dark
    /// hairs qualify: on the generated `edge` fields, at 300 µm, seven of
    /// 100 images lost 1–9 hairs to them. 0 turns it off. Default: 500 µm.
    pub blob_min_diameter_um: f64,
    /// Longest axis over shortest axis (second moments) of a blob; longer
    /// regions are bands of touching hairs. Default: 2.
    pub blob_max_elongation: f64,
    /// Lowest ratio of a blob's 10th-percentile hairness to its median
    /// (inside, in the mask throughout): ink is evenly dark, while a
    /// follicular unit of thick hairs with the shadow of its opening, or a
    /// fan of touching hairs, which can be as round and as wide, is dark
    /// shafts on fainter ground. Measured: 0.80–0.89 on generated tattoo
    /// dots, 0.54–0.59 on a real 70× unit with its shadow, 0.3–0.6 on
    /// generated fans. Default: 0.75.
    pub blob_min_evenness: f64,
}

impl Default for SegmentConfig {
    fn default() -> Self {
        SegmentConfig {
            method: ThresholdMethod::Hysteresis,
            high_sigma: 6.0,
            low_sigma: 3.5,
            min_contrast: 0.08,
            ridge: true,
            ridge_radii_um: vec![4.0, 8.0, 16.0],
            ridge_high_sigma: 8.0,
            ridge_low_sigma: 4.0,
            sauvola_window_um: 400.0,
            sauvola_k: 0.2,
            blob_min_diameter_um: 500.0,
            blob_max_elongation: 2.0,
            blob_min_evenness: 0.75,
        }
    }
}

impl SegmentConfig {
    /// Checks the settings.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Config`] naming the invalid field.
    pub fn validate(&self) -> Result<()> {
        let pos = crate::config::require_positive;
        pos(self.high_sigma, "segment.high_sigma")?;
        pos(self.low_sigma, "segment.low_sigma")?;
        pos(self.min_contrast, "segment.min_contrast")?;
        pos(self.ridge_high_sigma, "segment.ridge_high_sigma")?;
        pos(self.ridge_low_sigma, "segment.ridge_low_sigma")?;
        pos(self.sauvola_window_um, "segment.sauvola_window_um")?;
        pos(self.sauvola_k, "segment.sauvola_k")?;
        crate::config::require_non_negative(
            self.blob_min_diameter_um,
            "segment.blob_min_diameter_um",
        )?;
        crate::config::require_fraction(self.blob_min_evenness, "segment.blob_min_evenness")?;
        if !(self.blob_max_elongation >= 1.0 && self.blob_max_elongation.is_finite()) {
            return Err(Error::config(
                "segment.blob_max_elongation",
                "must be at least 1",
            ));
        }
        if self.low_sigma > self.high_sigma {
            return Err(Error::config(
                "segment.low_sigma",
                "must not exceed segment.high_sigma",
            ));
        }
        if self.ridge_low_sigma > self.ridge_high_sigma {
            return Err(Error::config(
                "segment.ridge_low_sigma",
                "must not exceed segment.ridge_high_sigma",
            ));
        }
        if self.ridge_radii_um.len() > 8
            || self
                .ridge_radii_um
                .iter()
                .any(|r| !(r.is_finite() && *r > 0.0))
        {
            return Err(Error::config(
                "segment.ridge_radii_um",
                "must hold at most 8 positive radii",
            ));
        }
        Ok(())
    }
}

/// Where round blobs of a mask lie, on a grid of square cells.
#[derive(Debug, Clone, PartialEq)]
pub struct BlobMap {
    /// Side of a cell, pixels.
    pub cell: u32,
    /// Cells per row of the grid.
    pub grid_width: u32,
    /// Each blob's centre (pixels) and area (pixels), largest first.
    pub blobs: Vec<([f64; 2], f64)>,
    /// Per cell (row-major), the hairness above which a pixel of the blob
    /// is a shaft lying on the ink rather than ink; 0 outside blobs (a
    /// blob's level is always positive).
    pub levels: Vec<f32>,
}

impl BlobMap {
    /// The ink level of the blob covering pixel `(x, y)`, if any: a pixel
    /// of the blob with a hairness above it is a shaft lying on the ink.
    pub fn ink_level(&self, x: u32, y: u32) -> Option<f32> {
        let (cx, cy) = (x / self.cell, y / self.cell);
        if cx >= self.grid_width {
            return None;
        }
        let l = *self.levels.get((cy * self.grid_width + cx) as usize)?;
        (l > 0.0).then_some(l)
    }

    /// Whether pixel `(x, y)` lies in a blob.
    pub fn covers(&self, x: u32, y: u32) -> bool {
        self.ink_level(x, y).is_some()
    }
}

/// Finds round, evenly dark blobs of `mask` at least
/// `cfg.blob_min_diameter_um` across: tattoo dots, ink and large pigment
/// patches, which hairs lying on them join into one component whose
/// skeleton is a tangle of spurious lines.
///
/// A morphological opening (Serra 1982) by a disc of 0.8 × the smallest
/// diameter keeps what a disc that wide fits in: blobs and the widest bands
/// of touching hairs, not single shafts. It is run on a grid of cells a
/// quarter of the disc's radius wide (a cell is on when at least half its
/// pixels are), which keeps it cheap at any resolution. An opened region is
/// a blob when
/// - its area reaches that of a disc of the smallest diameter,
/// - its second moments are round (axis ratio at most
///   `cfg.blob_max_elongation`; a band of hairs is long),
/// - at least 95% of its pixels are in the mask, and its `hairness` is
///   even: the 10th percentile at least `cfg.blob_min_evenness` × the
///   median (hairs lying on ink only raise the upper tail).
///
/// The map covers each blob with a margin of one cell, so its rim goes with
/// it, and gives each blob's ink level: a pixel of the blob with a hairness
/// above it (the median plus twice the median's distance to the 10th
/// percentile, at least 15% above the median) is a shaft lying on the ink.
/// `None` when `cfg.blob_min_diameter_um` is 0 or no blob is found.
///
/// # Examples
/// ```
/// use image::{GrayImage, Luma};
/// use trichometry::{PixelScale, pipeline::segment::{round_blobs, SegmentConfig}};
/// use trichometry::pipeline::preprocess::GrayF32;
/// let (mut mask, mut hn) = (GrayImage::new(200, 200), GrayF32::new(200, 200));
/// for (x, y, p) in mask.enumerate_pixels_mut() {
///     let r2 = (x as i32 - 100).pow(2) + (y as i32 - 100).pow(2);
///     // A disc 120 px (600 µm) across and a shaft 10 px wide.
///     if r2 <= 60 * 60 || y / 10 == 3 {
///         *p = Luma([255]);
///         hn.put_pixel(x, y, Luma([0.4]));
///     }
/// }
/// let scale = PixelScale::new(5.0).unwrap();
/// let blobs = round_blobs(&mask, &hn, scale, &SegmentConfig::default()).unwrap();
/// assert!(blobs.covers(100, 100));
/// assert!(!blobs.covers(10, 35) && !blobs.covers(199, 35));
/// assert_eq!(blobs.blobs.len(), 1);
/// ```
pub fn round_blobs(
    mask: &GrayImage,
    hairness: &GrayF32,
    scale: PixelScale,
    cfg: &SegmentConfig,
) -> Option<BlobMap> {
    if cfg.blob_min_diameter_um <= 0.0 || mask.dimensions() != hairness.dimensions() {
        return None;
    }
    let radius_px = 0.4 * scale.um_to_px(cfg.blob_min_diameter_um);
    let cell = ((radius_px / 4.0).floor() as u32).max(1);
    let (w, h) = mask.dimensions();
    if w == 0 || h == 0 {
        return None;
    }
    let (gw, gh) = (w.div_ceil(cell), h.div_ceil(cell));
    let mut on = vec![0u32; (gw * gh) as usize];
    for (y, row) in mask.as_raw().chunks_exact(w as usize).enumerate() {
        let gy = y as u32 / cell;
        for (x, &v) in row.iter().enumerate() {
            if v != 0 {
                on[(gy * gw + x as u32 / cell) as usize] += 1;
            }
        }
    }
    let grid = GrayImage::from_fn(gw, gh, |gx, gy| {
        let cw = (w - gx * cell).min(cell);
        let ch = (h - gy * cell).min(cell);
        Luma([if 2 * on[(gy * gw + gx) as usize] >= cw * ch {
            255
        } else {
            0
        }])
    });
    let k = (radius_px / f64::from(cell)).round().clamp(1.0, 255.0) as u8;
    let opened = imageproc::morphology::open(&grid, imageproc::distance_transform::Norm::L2, k);
    let labels = imageproc::region_labelling::connected_components(
        &opened,
        imageproc::region_labelling::Connectivity::Eight,
        Luma([0u8]),
    );
    let n = labels.pixels().map(|p| p[0]).max().unwrap_or(0) as usize;
    if n == 0 {
        return None;
    }
    // Moments per region: count, Σx, Σy, Σxx, Σyy, Σxy (cell units).
    let mut m = vec![[0f64; 6]; n + 1];
    for (x, y, l) in labels.enumerate_pixels() {
        let l = l[0] as usize;
        if l == 0 {
            continue;
        }
        let (x, y) = (f64::from(x), f64::from(y));
        let r = &mut m[l];
        r[0] += 1.0;
        r[1] += x;
        r[2] += y;
        r[3] += x * x;
        r[4] += y * y;
        r[5] += x * y;
    }
    let c = f64::from(cell);
    let min_area_px =
        std::f64::consts::FRAC_PI_4 * scale.um_to_px(cfg.blob_min_diameter_um).powi(2);
    let mut round = vec![false; n + 1];
    for (l, r) in m.iter().enumerate().skip(1) {
        if r[0] == 0.0 || r[0] * c * c < min_area_px {
            continue;
        }
        let (mx, my) = (r[1] / r[0], r[2] / r[0]);
        let sxx = r[3] / r[0] - mx * mx + 1.0 / 12.0;
        let syy = r[4] / r[0] - my * my + 1.0 / 12.0;
        let sxy = r[5] / r[0] - mx * my;
        let half_tr = 0.5 * (sxx + syy);
        let disc = (half_tr * half_tr - (sxx * syy - sxy * sxy))
            .max(0.0)
            .sqrt();
        let (l1, l2) = (half_tr + disc, (half_tr - disc).max(1e-12));
        round[l] = (l1 / l2).sqrt() <= cfg.blob_max_elongation;
    }
    if !round.iter().any(|&r| r) {
        return None;
    }
    // Hairness and mask of the round regions' pixels.
    let mut values: Vec<Vec<f32>> = vec![Vec::new(); n + 1];
    let mut in_mask = vec![0usize; n + 1];
    for (y, (mrow, hrow)) in mask
        .as_raw()
        .chunks_exact(w as usize)
        .zip(hairness.as_raw().chunks_exact(w as usize))
        .enumerate()
    {
        let gy = y as u32 / cell;
        for (x, (&mv, &hv)) in mrow.iter().zip(hrow).enumerate() {
            let l = labels.get_pixel(x as u32 / cell, gy)[0] as usize;
            if round[l] {
                values[l].push(hv);
                in_mask[l] += usize::from(mv != 0);
            }
        }
    }
    let mut level = vec![0f32; n + 1];
    let mut blobs = Vec::new();
    for l in 1..=n {
        let v = &mut values[l];
        if !round[l] || v.is_empty() || (in_mask[l] as f64) < 0.95 * v.len() as f64 {
            continue;
        }
        v.sort_unstable_by(f32::total_cmp);
        let q = |f: f64| f64::from(v[((v.len() - 1) as f64 * f) as usize]);
        let (q10, q50) = (q(0.1), q(0.5));
        if !(q50 > 0.0 && q10 >= cfg.blob_min_evenness * q50) {
            continue;
        }
        // Above the ink's own spread (twice the median's distance to the
        // 10th percentile), and at least 15% above its median.
        level[l] = (q50 + (2.0 * (q50 - q10)).max(0.15 * q50)) as f32;
        let r = &m[l];
        blobs.push((
            [(r[1] / r[0] + 0.5) * c, (r[2] / r[0] + 0.5) * c],
            v.len() as f64,
        ));
    }
    if blobs.is_empty() {
        return None;
    }
    blobs.sort_by(|a, b| b.1.total_cmp(&a.1));
    // Each cell's level: its blob's, and on a rim one cell wide around the
    // blob its neighbours' highest.
    let level_at = |x: i64, y: i64| -> f32 {
        if x < 0 || y < 0 || x >= i64::from(gw) || y >= i64::from(gh) {
            return 0.0;
        }
        level[labels.get_pixel(x as u32, y as u32)[0] as usize]
    };
    let mut levels = vec![0f32; (gw * gh) as usize];
    for y in 0..i64::from(gh) {
        for x in 0..i64::from(gw) {
            let mut l = 0f32;
            for dy in -1..=1 {
                for dx in -1..=1 {
                    l = l.max(level_at(x + dx, y + dy));
                }
            }
            levels[(y * i64::from(gw) + x) as usize] = l;
        }
    }
    Some(BlobMap {
        cell,
        grid_width: gw,
        blobs,
        levels,
    })
}

/// A binary hair mask: 255 = hair, 0 = background.
#[derive(Debug, Clone, PartialEq)]
pub struct HairMask(pub GrayImage);

/// Otsu's level on an `f32` image (256-bin histogram between its min and max):
/// pixels `> level` are the brighter class.
///
/// # Examples
/// ```
/// use trichometry::pipeline::{preprocess::GrayF32, segment::otsu_level};
/// let img = GrayF32::from_fn(10, 1, |x, _| image::Luma([if x < 5 { 0.1 } else { 0.9 }]));
/// let t = otsu_level(&img);
/// assert!(t >= 0.1 && t < 0.9);
/// ```
///
/// # References
/// Otsu N. (1979) A threshold selection method from gray-level histograms.
/// IEEE Trans. SMC 9(1):62–66. doi:10.1109/TSMC.1979.4310076
pub fn otsu_level(image: &GrayF32) -> f32 {
    let v = image.as_raw();
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    for &x in v.iter().filter(|x| x.is_finite()) {
        lo = lo.min(x);
        hi = hi.max(x);
    }
    if lo >= hi || !lo.is_finite() {
        return if lo.is_finite() { lo } else { 0.0 };
    }
    let bins = 256usize;
    let scale = (bins - 1) as f32 / (hi - lo);
    let mut hist = vec![0u64; bins];
    for &x in v.iter().filter(|x| x.is_finite()) {
        hist[((x - lo) * scale) as usize] += 1;
    }
    let total: u64 = hist.iter().sum();
    let sum_all: f64 = hist
        .iter()
        .enumerate()
        .map(|(i, &c)| i as f64 * c as f64)
        .sum();
    let (mut w0, mut sum0, mut best, mut best_i) = (0u64, 0f64, -1f64, 0usize);
    for (i, &c) in hist.iter().enumerate() {
        w0 += c;
        sum0 += i as f64 * c as f64;
        let w1 = total - w0;
        if w0 == 0 || w1 == 0 {
            continue;
        }
        let m0 = sum0 / w0 as f64;
        let m1 = (sum_all - sum0) / w1 as f64;
        let between = w0 as f64 * w1 as f64 * (m0 - m1) * (m0 - m1);
        if between > best {
            best = between;
            best_i = i;
        }
    }
    lo + (best_i as f32 + 1.0) / scale
}

/// Sauvola local levels `m · (1 + k · (s / r − 1))` over a square window of
/// side `2·radius_px + 1` (clipped at the border), with `r` the maximum local
/// standard deviation. Pixels `> level` are foreground.
///
/// The image is hairness (hair bright), so the level rises with local contrast.
///
/// # Examples
/// ```
/// use trichometry::pipeline::{preprocess::GrayF32, segment::sauvola_levels};
/// let img = GrayF32::from_pixel(5, 5, image::Luma([0.5]));
/// let t = sauvola_levels(&img, 1, 0.2);
/// assert!((t.get_pixel(2, 2)[0] - 0.4).abs() < 1e-5); // s = 0 → m·(1 − k)
/// ```
///
/// # References
/// Sauvola J., Pietikäinen M. (2000) Adaptive document image binarization.
/// Pattern Recognition 33(2):225–236. doi:10.1016/S0031-3203(99)00055-2
pub fn sauvola_levels(image: &GrayF32, radius_px: u32, k: f32) -> GrayF32 {
    let (w, h) = image.dimensions();
    let (wu, hu) = (w as usize, h as usize);
    let mut s1 = vec![0f64; (wu + 1) * (hu + 1)];
    let mut s2 = vec![0f64; (wu + 1) * (hu + 1)];
    for y in 0..hu {
        let (mut r1, mut r2) = (0f64, 0f64);
        for x in 0..wu {
            let v = f64::from(image.as_raw()[y * wu + x]);
            r1 += v;
            r2 += v * v;
            s1[(y + 1) * (wu + 1) + x + 1] = s1[y * (wu + 1) + x + 1] + r1;
            s2[(y + 1) * (wu + 1) + x + 1] = s2[y * (wu + 1) + x + 1] + r2;
        }
    }
    let r = radius_px as usize;
    let mut mean = vec![0f32; wu * hu];
    let mut sd = vec![0f32; wu * hu];
    let mut max_sd = 0f32;
    for y in 0..hu {
        let (y0, y1) = (y.saturating_sub(r), (y + r + 1).min(hu));
        for x in 0..wu {
            let (x0, x1) = (x.saturating_sub(r), (x + r + 1).min(wu));
            let n = ((y1 - y0) * (x1 - x0)) as f64;
            let rect = |s: &[f64]| {
                s[y1 * (wu + 1) + x1] - s[y0 * (wu + 1) + x1] - s[y1 * (wu + 1) + x0]
                    + s[y0 * (wu + 1) + x0]
            };
            let m = rect(&s1) / n;
            let var = (rect(&s2) / n - m * m).max(0.0);
            mean[y * wu + x] = m as f32;
            sd[y * wu + x] = var.sqrt() as f32;
            max_sd = max_sd.max(var.sqrt() as f32);
        }
    }
    let rr = max_sd.max(1e-6);
    let out: Vec<f32> = mean
        .iter()
        .zip(&sd)
        .map(|(&m, &s)| m * (1.0 + k * (s / rr - 1.0)))
        .collect();
    GrayF32::from_raw(w, h, out).unwrap_or_else(|| GrayF32::new(w, h))
}

/// Hysteresis levels `(low, high)` from the robust noise σ:
/// `high = max(high_sigma·σ, min_contrast)`, `low = max(low_sigma·σ, min_contrast/2)`.
///
/// # Examples
/// ```
/// use trichometry::pipeline::segment::noise_levels;
/// assert_eq!(noise_levels(0.02, 6.0, 3.0, 0.08), (0.06, 0.12));
/// ```
pub fn noise_levels(sigma: f32, high_sigma: f64, low_sigma: f64, min_contrast: f64) -> (f32, f32) {
    let high = (high_sigma as f32 * sigma).max(min_contrast as f32);
    let low = (low_sigma as f32 * sigma)
        .max(min_contrast as f32 / 2.0)
        .min(high);
    (low, high)
}

/// Hysteresis thresholding: pixels `>= high` seed, 8-connected pixels `>= low` grow.
///
/// # Examples
/// ```
/// use trichometry::pipeline::{preprocess::GrayF32, segment::hysteresis};
/// let img = GrayF32::from_raw(5, 1, vec![0.0, 0.5, 1.0, 0.5, 0.2]).unwrap();
/// let m = hysteresis(&img, 0.4, 0.9);
/// assert_eq!(m.0.as_raw(), &vec![0, 255, 255, 255, 0]);
/// ```
///
/// # References
/// Canny J. (1986) A computational approach to edge detection. IEEE TPAMI
/// 8(6):679–698. doi:10.1109/TPAMI.1986.4767851
pub fn hysteresis(image: &GrayF32, low: f32, high: f32) -> HairMask {
    let (w, h) = image.dimensions();
    let (wu, hu) = (w as usize, h as usize);
    // A one-pixel frame of zeros around a copy of the classes (0: below
    // `low`, 1: grows, 2: seeds, 3: taken) lets the flood fill step to all
    // eight neighbours by index arithmetic alone.
    let pw = wu + 2;
    let mut class = vec![0u8; pw * (hu + 2)];
    for (y, row) in image.as_raw().chunks_exact(wu.max(1)).enumerate().take(hu) {
        let dst = &mut class[(y + 1) * pw + 1..(y + 1) * pw + 1 + wu];
        for (c, &v) in dst.iter_mut().zip(row) {
            *c = if v >= high {
                2
            } else if v >= low {
                1
            } else {
                0
            };
        }
    }
    let offsets = [
        -(pw as isize) - 1,
        -(pw as isize),
        -(pw as isize) + 1,
        -1,
        1,
        pw as isize - 1,
        pw as isize,
        pw as isize + 1,
    ];
    let mut stack: Vec<usize> = Vec::new();
    for i in 0..class.len() {
        if class[i] != 2 {
            continue;
        }
        class[i] = 3;
        stack.push(i);
        while let Some(j) = stack.pop() {
            for d in offsets {
                let k = j.wrapping_add_signed(d);
                if class[k] == 1 || class[k] == 2 {
                    class[k] = 3;
                    stack.push(k);
                }
            }
        }
    }
    // The frame dropped in place (each row moves to a lower index, so rows
    // already moved are never overwritten): no second full-size buffer.
    for y in 0..hu {
        let src = (y + 1) * pw + 1;
        class.copy_within(src..src + wu, y * wu);
    }
    class.truncate(wu * hu);
    for c in &mut class {
        *c = if *c == 3 { 255 } else { 0 };
    }
    HairMask(GrayImage::from_raw(w, h, class).unwrap_or_else(|| GrayImage::new(w, h)))
}

/// Multi-scale ridge (line) filter for bright ridges of `image` (hair is
/// positive in a hairness map): at each σ, the Hessian of the Gaussian-smoothed
/// image gives eigenvalues |λ1| ≤ |λ2|; the response is
/// `σ² · (−λ2) · exp(−(λ1/λ2)² / (2·0.5²))` where λ2 < 0 (Frangi's blobness
/// term suppresses round dots), else 0; the maximum over scales is returned.
///
/// # Examples
/// ```
/// use trichometry::pipeline::{preprocess::GrayF32, segment::ridge_response};
/// let img = GrayF32::from_fn(21, 21, |x, _| image::Luma([if x == 10 { 1.0 } else { 0.0 }]));
/// let r = ridge_response(&img, &[1.0]);
/// assert!(r.get_pixel(10, 10)[0] > r.get_pixel(5, 10)[0]);
/// ```
///
/// # References
/// Frangi A. F., Niessen W. J., Vincken K. L., Viergever M. A. (1998)
/// Multiscale vessel enhancement filtering. MICCAI 1998, LNCS 1496:130–137.
/// doi:10.1007/BFb0056195
pub fn ridge_response(image: &GrayF32, sigmas_px: &[f32]) -> GrayF32 {
    ridge_responses(image, sigmas_px, false).0
}

/// [`ridge_response`] of `image` and, when `both`, of its negation (the
/// bright ridges of `−image`: the other polarity), from one Gaussian blur per
/// scale. The blur of `−image` is exactly `−blur(image)` in floating point,
/// so the second map has the same bits as `ridge_response` of the negated
/// image.
///
/// # Examples
/// ```
/// use trichometry::pipeline::{preprocess::GrayF32, segment::{ridge_response, ridge_responses}};
/// let img = GrayF32::from_fn(21, 21, |x, _| image::Luma([if x == 10 { 1.0 } else { 0.0 }]));
/// let neg = GrayF32::from_fn(21, 21, |x, _| image::Luma([if x == 10 { -1.0 } else { 0.0 }]));
/// let (pos, other) = ridge_responses(&img, &[1.0], true);
/// assert_eq!(pos, ridge_response(&img, &[1.0]));
/// assert_eq!(other.unwrap(), ridge_response(&neg, &[1.0]));
/// ```
pub fn ridge_responses(
    image: &GrayF32,
    sigmas_px: &[f32],
    both: bool,
) -> (GrayF32, Option<GrayF32>) {
    let (w, h) = image.dimensions();
    let mut out = GrayF32::new(w, h);
    let mut neg = both.then(|| GrayF32::new(w, h));
    if w < 3 || h < 3 {
        return (out, neg);
    }
    let wu = w as usize;
    let n = wu - 2;
    // Per row: the bound σ²·(−λ2) (−∞ where λ2 ≥ 0) and the exponent
    // −(λ1/λ2)²/0.5, for each polarity. The first loop has no branch and
    // vectorises; the second takes the exponential only where it can matter.
    let mut bound = [vec![0f32; n], vec![0f32; n]];
    let mut expo = [vec![0f32; n], vec![0f32; n]];
    // The blurred image streams through a ring of three rows: row y − 1's
    // Hessian needs rows y − 2, y − 1 and y.
    let mut g = vec![0f32; 3 * wu];
    for &s in sigmas_px {
        if s.is_nan() || s <= 0.0 {
            continue;
        }
        let mut rows = super::filter::BlurRows::new(image, s);
        let s2 = s * s;
        for y in 0..h as usize {
            rows.next_into(&mut g[(y % 3) * wu..(y % 3 + 1) * wu]);
            if y < 2 {
                continue;
            }
            let yc = y - 1;
            let up = &g[((yc - 1) % 3) * wu..((yc - 1) % 3 + 1) * wu];
            let cu = &g[(yc % 3) * wu..(yc % 3 + 1) * wu];
            let dn = &g[(y % 3) * wu..(y % 3 + 1) * wu];
            let [bp, bn] = &mut bound;
            let [qp, qn] = &mut expo;
            if both {
                hessian_row::<true>([up, cu, dn], s2, [bp, bn], [qp, qn]);
            } else {
                hessian_row::<false>([up, cu, dn], s2, [bp, bn], [qp, qn]);
            }
            let row = yc * wu + 1;
            raise(&mut out.as_mut()[row..row + n], &bound[0], &expo[0]);
            if let Some(ng) = neg.as_mut() {
                raise(&mut ng.as_mut()[row..row + n], &bound[1], &expo[1]);
            }
        }
    }
    (out, neg)
}

/// One row of [`ridge_responses`]: from three consecutive rows of the
/// blurred image (`rows[1]` is the centre), the bound `σ²·(−λ2)` (−∞ where
/// λ2 ≥ 0) and the exponent `−(λ1/λ2)²/0.5` of each interior pixel, for the
/// image and, when `BOTH`, for its negation. Every slice is cut to its exact
/// length first, so the loop has no bounds checks and vectorises; the
/// arithmetic is the same IEEE operations in the same order, so the bits are
/// those of a scalar loop.
#[inline]
fn hessian_row<const BOTH: bool>(
    rows: [&[f32]; 3],
    s2: f32,
    bound: [&mut [f32]; 2],
    expo: [&mut [f32]; 2],
) {
    let [up, cu, dn] = rows;
    let n = cu.len().saturating_sub(2);
    let [bp, bn] = bound;
    let [qp, qn] = expo;
    let (bp, bn, qp, qn) = (&mut bp[..n], &mut bn[..n], &mut qp[..n], &mut qn[..n]);
    let (ul, uc, ur) = (&up[..n], &up[1..=n], &up[2..n + 2]);
    let (cl, cc, cr) = (&cu[..n], &cu[1..=n], &cu[2..n + 2]);
    let (dl, dc, dr) = (&dn[..n], &dn[1..=n], &dn[2..n + 2]);
    for k in 0..n {
        let c = cc[k];
        let dxx = cr[k] - 2.0 * c + cl[k];
        let dyy = dc[k] - 2.0 * c + uc[k];
        let dxy = (dr[k] - dl[k] - ur[k] + ul[k]) / 4.0;
        let tr = dxx + dyy;
        let disc = ((dxx - dyy) * (dxx - dyy) + 4.0 * dxy * dxy).sqrt();
        let (e1, e2) = ((tr + disc) / 2.0, (tr - disc) / 2.0);
        // |λ1| ≤ |λ2|. The negated image has eigenvalues −e2 ≥ −e1.
        let (l1, l2) = if e1.abs() <= e2.abs() {
            (e1, e2)
        } else {
            (e2, e1)
        };
        bp[k] = if l2 >= 0.0 {
            f32::NEG_INFINITY
        } else {
            s2 * (-l2)
        };
        let rb = l1 / l2;
        qp[k] = -(rb * rb) / 0.5;
        if BOTH {
            let (m1, m2) = if e2.abs() <= e1.abs() {
                (-e2, -e1)
            } else {
                (-e1, -e2)
            };
            bn[k] = if m2 >= 0.0 {
                f32::NEG_INFINITY
            } else {
                s2 * (-m2)
            };
            let rm = m1 / m2;
            qn[k] = -(rm * rm) / 0.5;
        }
    }
}

/// `o = max(o, bound·exp(expo))` for `expo ≤ 0`, skipping the exponential
/// where an upper bound of the product (`bound`, and `bound / (1 − expo)`)
/// cannot beat `o`.
#[inline]
fn raise(o: &mut [f32], bound: &[f32], expo: &[f32]) {
    for ((o, &b), &q) in o.iter_mut().zip(bound).zip(expo) {
        // exp(q) ≤ 1 / (1 − q) for q ≤ 0: where b / (1 − q) falls short of
        // `o` by more than rounding could make up (0.1%), `b·exp(q)` cannot
        // beat it either, and the exponential is skipped.
        if b > *o && b >= *o * (1.0 - q) * 0.999 {
            let v = b * q.exp();
            if v > *o {
                *o = v;
            }
        }
    }
}

/// Runs stage 2 with the configured method; the ridge mask (if enabled) is
/// added to the threshold mask. Masked (invisible) pixels are never hair.
///
/// # Examples
/// ```
/// use trichometry::{PixelScale, pipeline::{preprocess::*, segment::*}};
/// let mut img = image::GrayImage::from_pixel(100, 100, image::Luma([200]));
/// for y in 10..90 { for x in 48..52 { img.put_pixel(x, y, image::Luma([60])); } }
/// let s = PixelScale::new(5.0).unwrap();
/// let p = preprocess(&image::DynamicImage::ImageLuma8(img), s, &PreprocessConfig::default()).unwrap();
/// let m = segment(&p, s, &SegmentConfig::default()).unwrap();
/// assert_eq!(m.0.get_pixel(50, 50)[0], 255);
/// assert_eq!(m.0.get_pixel(20, 50)[0], 0);
/// ```
///
/// # Errors
/// [`crate::ErrorKind::Config`] on an invalid configuration.
pub fn segment(pre: &Preprocessed, scale: PixelScale, cfg: &SegmentConfig) -> Result<HairMask> {
    cfg.validate()?;
    let ridge = ridge_scales(pre, scale, cfg).map(|s| ridge_response(&pre.hairness, &s));
    segment_with_ridge(pre, ridge.as_ref(), scale, cfg)
}

/// The Gaussian scales (pixels) of the ridge filter [`segment`] runs on
/// `pre`, or `None` when the ridge mask is disabled or the image is too small.
///
/// # Examples
/// ```
/// use trichometry::{PixelScale, pipeline::{preprocess::*, segment::*}};
/// let img = image::DynamicImage::ImageLuma8(image::GrayImage::from_pixel(64, 64, image::Luma([200])));
/// let s = PixelScale::new(5.0).unwrap();
/// let p = preprocess(&img, s, &PreprocessConfig::default()).unwrap();
/// // radii 4, 8, 16 µm at 5 µm/px: σ = r/√3 floored at 1 px, near-equal scales merged
/// assert_eq!(ridge_scales(&p, s, &SegmentConfig::default()).unwrap().len(), 2);
/// ```
pub fn ridge_scales(
    pre: &Preprocessed,
    scale: PixelScale,
    cfg: &SegmentConfig,
) -> Option<Vec<f32>> {
    let (w, h) = pre.hairness.dimensions();
    if !(cfg.ridge && !cfg.ridge_radii_um.is_empty() && w >= 8 && h >= 8) {
        return None;
    }
    let mut sig: Vec<f32> = cfg
        .ridge_radii_um
        .iter()
        .map(|r| (scale.um_to_px(*r) / 3f64.sqrt()).max(1.0) as f32)
        .collect();
    sig.dedup_by(|a, b| (*a - *b).abs() < 0.25);
    Some(sig)
}

/// [`segment`] with the ridge map already computed: `ridge_response` of
/// `pre.hairness` at [`ridge_scales`], or `None` where those are `None`
/// (ridge mask disabled or image too small). One blur then serves both
/// polarities (see [`ridge_responses`]).
///
/// # Errors
/// [`crate::ErrorKind::Config`] on an invalid configuration.
pub fn segment_with_ridge(
    pre: &Preprocessed,
    ridge: Option<&GrayF32>,
    scale: PixelScale,
    cfg: &SegmentConfig,
) -> Result<HairMask> {
    cfg.validate()?;
    let hn = &pre.hairness;
    let (w, h) = hn.dimensions();
    let mut mask = match cfg.method {
        ThresholdMethod::Hysteresis => {
            let (low, high) = noise_levels(
                pre.noise_sigma,
                cfg.high_sigma,
                cfg.low_sigma,
                cfg.min_contrast,
            );
            hysteresis(hn, low, high)
        }
        ThresholdMethod::Otsu => {
            let t = otsu_level(hn).max(cfg.min_contrast as f32);
            HairMask(GrayImage::from_fn(w, h, |x, y| {
                Luma([if hn.get_pixel(x, y)[0] > t { 255 } else { 0 }])
            }))
        }
        ThresholdMethod::Sauvola => {
            let r = (scale.um_to_px(cfg.sauvola_window_um) / 2.0)
                .round()
                .max(1.0) as u32;
            let t = sauvola_levels(hn, r, cfg.sauvola_k as f32);
            let floor = cfg.min_contrast as f32;
            HairMask(GrayImage::from_fn(w, h, |x, y| {
                let v = hn.get_pixel(x, y)[0];
                Luma([if v > t.get_pixel(x, y)[0] && v > floor {
                    255
                } else {
                    0
                }])
            }))
        }
    };
    if let Some(r) = ridge {
        // Noise of the ridge response: robust spread over visible pixels.
        let rs = super::preprocess::robust_sigma(r.as_raw(), |i| pre.visible.as_raw()[i] != 0);
        let med = {
            let stride = (r.as_raw().len() / 200_000).max(1);
            let s: Vec<f32> = r.as_raw().iter().step_by(stride).copied().collect();
            super::preprocess::median(s).unwrap_or(0.0)
        };
        let floor = 1e-4f32;
        let high = med + (cfg.ridge_high_sigma as f32 * rs).max(floor);
        let low = med + (cfg.ridge_low_sigma as f32 * rs).max(floor / 2.0);
        let rm = hysteresis(r, low, high);
        // A ridge pixel must also be at least faintly hair-like in contrast.
        let (lowc, _) = noise_levels(
            pre.noise_sigma,
            cfg.high_sigma,
            cfg.low_sigma,
            cfg.min_contrast,
        );
        for (i, m) in mask.0.as_mut().iter_mut().enumerate() {
            if rm.0.as_raw()[i] != 0 && hn.as_raw()[i] >= lowc * 0.5 {
                *m = 255;
            }
        }
    }
    for (m, &v) in mask.0.as_mut().iter_mut().zip(pre.visible.as_raw()) {
        if v == 0 {
            *m = 0;
        }
    }
    Ok(mask)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::testing::noise_image;
    use proptest::prelude::*;

    /// A mask and hairness map of `w` × `h` pixels, with `paint(x, y)`
    /// giving each masked pixel's hairness (`None`: background).
    fn scene(w: u32, h: u32, paint: impl Fn(u32, u32) -> Option<f32>) -> (GrayImage, GrayF32) {
        let mut mask = GrayImage::new(w, h);
        let mut hn = GrayF32::new(w, h);
        for y in 0..h {
            for x in 0..w {
                if let Some(v) = paint(x, y) {
                    mask.put_pixel(x, y, Luma([255]));
                    hn.put_pixel(x, y, Luma([v]));
                }
            }
        }
        (mask, hn)
    }

    #[test]
    fn round_blobs_keeps_even_round_ink_only() {
        let scale = PixelScale::new(5.0).unwrap();
        let cfg = SegmentConfig::default();
        let disc = |x: u32, y: u32, cx: i64, cy: i64, r: i64| {
            (i64::from(x) - cx).pow(2) + (i64::from(y) - cy).pow(2) <= r * r
        };
        // An evenly dark disc 700 µm across, a hair lying on it (darker).
        let (m, hn) = scene(300, 300, |x, y| {
            if y.abs_diff(150) <= 6 {
                Some(0.8)
            } else {
                disc(x, y, 150, 150, 70).then_some(0.4)
            }
        });
        let b = round_blobs(&m, &hn, scale, &cfg).expect("a blob");
        assert_eq!(b.blobs.len(), 1);
        let [cx, cy] = b.blobs[0].0;
        assert!(
            (cx - 150.0).abs() < 5.0 && (cy - 150.0).abs() < 5.0,
            "{cx},{cy}"
        );
        assert!(b.covers(150, 150) && b.covers(150, 219) && !b.covers(150, 240));
        assert!(!b.covers(5, 150), "the hair beyond the disc stays");
        // The hair on the ink is above the ink's level, the ink below it.
        let level = b.ink_level(150, 100).unwrap();
        assert!(level > 0.4 && level < 0.8, "{level}");
        assert_eq!(b.ink_level(5, 5), None);
        // The same disc as dark shafts on a faint ground (a unit with the
        // shadow of its opening): uneven.
        let (m, hn) = scene(300, 300, |x, y| {
            disc(x, y, 150, 150, 70).then_some(if x % 20 < 12 { 0.8 } else { 0.2 })
        });
        assert!(round_blobs(&m, &hn, scale, &cfg).is_none());
        // A band 700 µm wide and 2.5 mm long: not round.
        let (m, hn) = scene(600, 300, |x, y| {
            (x.abs_diff(300) <= 250 && y.abs_diff(150) <= 70).then_some(0.4)
        });
        assert!(round_blobs(&m, &hn, scale, &cfg).is_none());
        // A disc 400 µm across: smaller than a blob.
        let (m, hn) = scene(300, 300, |x, y| disc(x, y, 150, 150, 40).then_some(0.4));
        assert!(round_blobs(&m, &hn, scale, &cfg).is_none());
        // Turned off.
        let (m, hn) = scene(300, 300, |x, y| disc(x, y, 150, 150, 70).then_some(0.4));
        let off = SegmentConfig {
            blob_min_diameter_um: 0.0,
            ..SegmentConfig::default()
        };
        assert!(round_blobs(&m, &hn, scale, &off).is_none());
        assert!(round_blobs(&m, &hn, scale, &cfg).is_some());
    }

    /// The ridge filter written pixel by pixel, as in its definition, with
    /// the crate's Gaussian blur: the reference the fast path must equal.
    fn ridge_reference(image: &GrayF32, sigmas_px: &[f32]) -> GrayF32 {
        let (w, h) = image.dimensions();
        let mut out = GrayF32::new(w, h);
        for &s in sigmas_px {
            let g = imageproc::filter::gaussian_blur_f32(image, s);
            for y in 1..h - 1 {
                for x in 1..w - 1 {
                    let p = |dx: i32, dy: i32| {
                        g.get_pixel((x as i32 + dx) as u32, (y as i32 + dy) as u32)[0]
                    };
                    let c = p(0, 0);
                    let dxx = p(1, 0) - 2.0 * c + p(-1, 0);
                    let dyy = p(0, 1) - 2.0 * c + p(0, -1);
                    let dxy = (p(1, 1) - p(-1, 1) - p(1, -1) + p(-1, -1)) / 4.0;
                    let tr = dxx + dyy;
                    let disc = ((dxx - dyy) * (dxx - dyy) + 4.0 * dxy * dxy).sqrt();
                    let (e1, e2) = ((tr + disc) / 2.0, (tr - disc) / 2.0);
                    let (l1, l2) = if e1.abs() <= e2.abs() {
                        (e1, e2)
                    } else {
                        (e2, e1)
                    };
                    if l2 >= 0.0 {
                        continue;
                    }
                    let rb = l1 / l2;
                    let v = s * s * (-l2) * (-(rb * rb) / 0.5).exp();
                    let o = &mut out.get_pixel_mut(x, y)[0];
                    if v > *o {
                        *o = v;
                    }
                }
            }
        }
        out
    }

    /// Hysteresis as a breadth-first search over (x, y) with bounds checks.
    fn hysteresis_reference(image: &GrayF32, low: f32, high: f32) -> Vec<u8> {
        let (w, h) = image.dimensions();
        let mut out = vec![0u8; (w * h) as usize];
        let mut queue = std::collections::VecDeque::new();
        for (x, y, v) in image.enumerate_pixels() {
            if v[0] >= high {
                out[(y * w + x) as usize] = 255;
                queue.push_back((x as i64, y as i64));
            }
        }
        while let Some((x, y)) = queue.pop_front() {
            for (dx, dy) in [
                (-1, -1),
                (0, -1),
                (1, -1),
                (-1, 0),
                (1, 0),
                (-1, 1),
                (0, 1),
                (1, 1),
            ] {
                let (nx, ny) = (x + dx, y + dy);
                if nx < 0 || ny < 0 || nx >= i64::from(w) || ny >= i64::from(h) {
                    continue;
                }
                let k = (ny as u32 * w + nx as u32) as usize;
                if out[k] == 0 && image.get_pixel(nx as u32, ny as u32)[0] >= low {
                    out[k] = 255;
                    queue.push_back((nx, ny));
                }
            }
        }
        out
    }

    proptest! {
        #[test]
        fn hysteresis_matches_reference(w in 1u32..25, h in 1u32..25, seed in any::<u64>(),
                                        low in 0.0f32..0.6, span in 0.0f32..0.4) {
            let img = noise_image(w, h, seed, 0.0, 1.0);
            let m = hysteresis(&img, low, low + span);
            prop_assert_eq!(m.0.as_raw(), &hysteresis_reference(&img, low, low + span));
        }

        // Both polarities of the fast filter have the reference's bits.
        #[test]
        fn ridge_matches_reference(w in 3u32..30, h in 3u32..30, seed in any::<u64>(),
                                   s1 in 0.5f32..3.0, s2 in 0.5f32..3.0) {
            let img = noise_image(w, h, seed, -1.0, 1.0);
            let mut negated = img.clone();
            negated.iter_mut().for_each(|v| *v = -*v);
            let (pos, neg) = ridge_responses(&img, &[s1, s2], true);
            let (want_pos, want_neg) = (ridge_reference(&img, &[s1, s2]), ridge_reference(&negated, &[s1, s2]));
            prop_assert_eq!(pos.as_raw(), want_pos.as_raw());
            let single = ridge_response(&img, &[s1, s2]);
            prop_assert_eq!(single.as_raw(), want_pos.as_raw());
            let neg = neg.unwrap();
            prop_assert_eq!(neg.as_raw(), want_neg.as_raw());
        }
    }
}
