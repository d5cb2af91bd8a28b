//! Preprocessing: colour image to a flattened "hairness" map.
//!
//! Stage 1 of the pipeline. In: the decoded image in its native type (8/16-bit,
//! gray/RGB/RGBA) and the calibration. Out: a [`Preprocessed`] map in `f32`
//! where hair shafts are positive (relative contrast against the local
//! background, with the image's polarity applied), a robust noise level, and
//! the visibility mask (black corners of a round field of view, blank bands
//! and burned-in pure-colour overlays are not visible).
//!
//! The background is a median over a window much larger than the widest hair,
//! computed on a coarse grid of cell means and interpolated bilinearly, so it
//! is polarity-free, ignores masked pixels, and costs little at 4 MP. Known
//! weakness: within half a window of the frame edge the clipped window is
//! centred off the pixel, so a steep illumination gradient leaves a residual
//! there (a local plane fit would remove it).

use image::{DynamicImage, GrayImage, ImageBuffer, Luma};
use serde::{Deserialize, Serialize};

use crate::calibrate::PixelScale;
use crate::error::{Error, Result};

/// A single-channel `f32` image (values are relative contrast or intensity in 0..=1).
pub type GrayF32 = ImageBuffer<Luma<f32>, Vec<f32>>;

/// Which channel (or combination) of a colour image becomes the gray image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The channel (red, green, blue or luma) with the highest ratio of
    /// strong-structure contrast to background noise, judged per image.
    Auto,
    /// Rec. 601 luma (0.299 R + 0.587 G + 0.114 B).
    Luma,
    /// Red channel.
    Red,
    /// Green channel.
    Green,
    /// Blue channel.
    Blue,
}

/// Whether hairs are darker or lighter than the skin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Polarity {
    /// Decided per image from which tail of the flattened contrast holds more structure.
    Auto,
    /// Dark hair on lighter skin.
    Dark,
    /// Light (white/grey) hair on darker skin.
    Light,
}

/// Preprocessing settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PreprocessConfig {
    /// Gray channel. Default: `auto`.
    pub channel: Channel,
    /// Hair polarity. Default: `auto`.
    pub polarity: Polarity,
    /// Side of the square background window, µm; hairs, units and tattoo dots
    /// must cover well under half of it. Default: 1 600 µm.
    pub background_window_um: f64,
    /// Side of the coarse grid cells the background is estimated on, µm
    /// (enlarged to a twentieth of the window, and on very large images). Default: 40 µm.
    pub background_cell_um: f64,
    /// Intensity (0..=1) at or below which a pixel is blank (black corner or
    /// band). Default: 0.03.
    pub blank_level: f64,
    /// Blank regions smaller than this are kept visible (a very dark hair is
    /// not a blank band), µm². Default: 250 000 µm² (0.25 mm²).
    pub min_blank_area_um2: f64,
    /// With `polarity = auto`, also look for hairs of the other polarity (a
    /// white or grey hair among dark ones), away from the main polarity's
    /// shafts (whose specular highlights are not hairs). Default: true.
    pub both_polarities: bool,
    /// Mask burned-in pure-colour graphics (saturated primaries/secondaries
    /// and pure white, such as scale bars, text and markers; saturated glare
    /// cannot be seen through either). Default: true.
    pub mask_overlays: bool,
}

impl Default for PreprocessConfig {
    fn default() -> Self {
        PreprocessConfig {
            channel: Channel::Auto,
            polarity: Polarity::Auto,
            background_window_um: 1600.0,
            background_cell_um: 40.0,
            blank_level: 0.03,
            min_blank_area_um2: 250_000.0,
            mask_overlays: true,
            both_polarities: true,
        }
    }
}

impl PreprocessConfig {
    /// Checks the settings.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Config`] naming the invalid field.
    pub fn validate(&self) -> Result<()> {
        let pos = crate::config::require_positive;
        pos(self.background_window_um, "preprocess.background_window_um")?;
        pos(self.background_cell_um, "preprocess.background_cell_um")?;
        pos(self.min_blank_area_um2, "preprocess.min_blank_area_um2")?;
        if self.background_cell_um * 2.0 > self.background_window_um {
            return Err(Error::config(
                "preprocess.background_cell_um",
                "must be at most half of preprocess.background_window_um",
            ));
        }
        if !(0.0..1.0).contains(&self.blank_level) {
            return Err(Error::config(
                "preprocess.blank_level",
                format!("must be in [0, 1), got {}", self.blank_level),
            ));
        }
        Ok(())
    }
}

impl Preprocessed {
    /// The same map seen with the other polarity: hairness negated, so the
    /// structures of the opposite tail (light hairs on a dark-hair field, or
    /// dark ones on a light-hair field) become positive.
    pub fn opposite(&self) -> Preprocessed {
        let mut hairness = self.hairness.clone();
        hairness.iter_mut().for_each(|v| *v = -*v);
        Preprocessed {
            hairness,
            noise_sigma: self.noise_sigma,
            polarity: match self.polarity {
                Polarity::Light => Polarity::Dark,
                _ => Polarity::Light,
            },
            channel: self.channel,
            visible: self.visible.clone(),
            luma_histogram: self.luma_histogram,
            overlay_fraction: self.overlay_fraction,
        }
    }
}

/// Output of [`preprocess`].
#[derive(Debug, Clone)]
pub struct Preprocessed {
    /// Relative contrast against the local background with polarity applied:
    /// `± (I − B) / B`, positive where the pixel looks like hair.
    pub hairness: GrayF32,
    /// Robust standard deviation (1.4826 × MAD) of `hairness` over visible pixels.
    pub noise_sigma: f32,
    /// The polarity used (`Dark` or `Light`, never `Auto`).
    pub polarity: Polarity,
    /// The channel used (never `Auto`).
    pub channel: Channel,
    /// 255 where the pixel is visible (analysable), 0 where masked.
    pub visible: GrayImage,
    /// Luma histogram of the visible pixels (see [`super::qc::luma_histogram`]).
    pub luma_histogram: [u64; 256],
    /// Share of the frame masked as burned-in overlay (saturated colours, white).
    pub overlay_fraction: f64,
}

/// The image's three colour planes (or one gray plane) as `f32` in 0..=1,
/// keeping 16-bit precision.
fn planes(image: &DynamicImage) -> (u32, u32, Vec<[f32; 3]>) {
    let (w, h) = (image.width(), image.height());
    match image {
        DynamicImage::ImageLuma8(_)
        | DynamicImage::ImageLumaA8(_)
        | DynamicImage::ImageLuma16(_)
        | DynamicImage::ImageLumaA16(_) => {
            let g = image.to_luma16();
            let v = g
                .pixels()
                .map(|p| {
                    let x = f32::from(p[0]) / 65535.0;
                    [x, x, x]
                })
                .collect();
            (w, h, v)
        }
        DynamicImage::ImageRgb8(img) => (
            w,
            h,
            img.pixels()
                .map(|p| p.0.map(|c| f32::from(c) / 255.0))
                .collect(),
        ),
        _ => {
            let img = image.to_rgb32f();
            (w, h, img.pixels().map(|p| p.0).collect())
        }
    }
}

/// Converts the image to one `f32` plane (0..=1) with the given channel.
///
/// `Channel::Auto` falls back to luma here; [`preprocess`] resolves `Auto` per image.
///
/// # Examples
/// ```
/// use trichometry::pipeline::preprocess::{gray_f32, Channel};
/// let img = image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(2, 2, image::Rgb([255, 0, 0])));
/// assert_eq!(gray_f32(&img, Channel::Red).get_pixel(0, 0)[0], 1.0);
/// assert_eq!(gray_f32(&img, Channel::Green).get_pixel(0, 0)[0], 0.0);
/// ```
pub fn gray_f32(image: &DynamicImage, channel: Channel) -> GrayF32 {
    let (w, h, px) = planes(image);
    plane(w, h, &px, channel)
}

fn plane(w: u32, h: u32, px: &[[f32; 3]], channel: Channel) -> GrayF32 {
    let f = |p: &[f32; 3]| match channel {
        Channel::Red => p[0],
        Channel::Green => p[1],
        Channel::Blue => p[2],
        Channel::Luma | Channel::Auto => 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2],
    };
    GrayF32::from_raw(w, h, px.iter().map(f).collect()).unwrap_or_else(|| GrayF32::new(w, h))
}

/// Visibility mask: 0 on large blank (near-black) regions touching nothing
/// but themselves (black corners of a round field of view, blank bands) and,
/// if enabled, on pure-colour overlay pixels (dilated by 2 px); 255 elsewhere.
/// Also returns the number of overlay pixels found (before dilation).
fn visibility(
    w: u32,
    h: u32,
    px: &[[f32; 3]],
    scale: PixelScale,
    cfg: &PreprocessConfig,
) -> (GrayImage, u64) {
    let n = px.len();
    let blank_level = cfg.blank_level as f32;
    let mut blank = GrayImage::new(w, h);
    for (i, p) in px.iter().enumerate() {
        if p[0].max(p[1]).max(p[2]) <= blank_level {
            blank.as_mut()[i] = 255;
        }
    }
    let mut visible = GrayImage::from_pixel(w, h, Luma([255]));
    let labels = super::components::label(
        &super::segment::HairMask(blank),
        super::components::Connectivity::Four,
    )
    .image;
    let mut areas: Vec<u64> = Vec::new();
    for l in labels.as_raw() {
        let l = *l as usize;
        if l > 0 {
            if areas.len() < l {
                areas.resize(l, 0);
            }
            areas[l - 1] += 1;
        }
    }
    let min_blank = scale.um2_to_px2(cfg.min_blank_area_um2).max(1.0);
    for i in 0..n {
        let l = labels.as_raw()[i] as usize;
        if l > 0 && areas[l - 1] as f64 >= min_blank {
            visible.as_mut()[i] = 0;
        }
    }
    let mut overlay_px = 0u64;
    if cfg.mask_overlays {
        let mut overlay = Vec::new();
        for (i, p) in px.iter().enumerate() {
            let mx = p[0].max(p[1]).max(p[2]);
            let mn = p[0].min(p[1]).min(p[2]);
            // Saturated primary or secondary colour: no skin or hair looks like this.
            let pure = (mx >= 0.97 && mn <= 0.03 && p.iter().all(|&c| !(0.1..=0.9).contains(&c)))
                || mn >= 0.995;
            if pure {
                overlay.push(i);
            }
        }
        let r = 2i64;
        for &i in &overlay {
            let (x, y) = ((i as u32 % w) as i64, (i as u32 / w) as i64);
            for dy in -r..=r {
                for dx in -r..=r {
                    let (xx, yy) = (x + dx, y + dy);
                    if xx >= 0 && yy >= 0 && xx < i64::from(w) && yy < i64::from(h) {
                        visible.put_pixel(xx as u32, yy as u32, Luma([0]));
                    }
                }
            }
        }
        overlay_px = overlay.len() as u64;
    }
    (visible, overlay_px)
}

/// Estimates the smooth background of `gray` by a median of coarse cell means
/// over a `window_um` square, ignoring pixels where `visible` is 0, and
/// interpolating bilinearly back to full resolution.
///
/// The median makes it polarity-free: it follows skin whether hairs are dark
/// or light, provided hairs cover less than half of any window.
///
/// # Examples
/// ```
/// use trichometry::{PixelScale, pipeline::preprocess::{estimate_background, GrayF32}};
/// let mut g = GrayF32::from_pixel(200, 200, image::Luma([0.8]));
/// for y in 0..200 { for x in 98..102 { g.put_pixel(x, y, image::Luma([0.1])); } }
/// let vis = image::GrayImage::from_pixel(200, 200, image::Luma([255]));
/// let b = estimate_background(&g, &vis, PixelScale::new(5.0).unwrap(), 400.0, 20.0);
/// assert!((b.get_pixel(100, 100)[0] - 0.8).abs() < 1e-3); // the hair is not background
/// ```
///
/// # References
/// Huang T., Yang G., Tang G. (1979) A fast two-dimensional median filtering
/// algorithm. IEEE Trans. ASSP 27(1):13–18. doi:10.1109/TASSP.1979.1163188
pub fn estimate_background(
    gray: &GrayF32,
    visible: &GrayImage,
    scale: PixelScale,
    window_um: f64,
    cell_um: f64,
) -> GrayF32 {
    let (w, h) = gray.dimensions();
    if w == 0 || h == 0 {
        return GrayF32::new(w, h);
    }
    // Cell size: physical, but never more than ~65k cells.
    let by_area = ((f64::from(w) * f64::from(h)) / 65536.0).sqrt().ceil();
    let cell = scale
        .um_to_px(cell_um.max(window_um / 20.0))
        .round()
        .max(by_area)
        .max(1.0) as u32;
    let (cw, ch) = (w.div_ceil(cell), h.div_ceil(cell));
    let mut sum = vec![0f64; (cw * ch) as usize];
    let mut cnt = vec![0u32; (cw * ch) as usize];
    for y in 0..h {
        let cy = y / cell;
        for x in 0..w {
            if visible.get_pixel(x, y)[0] == 0 {
                continue;
            }
            let c = (cy * cw + x / cell) as usize;
            sum[c] += f64::from(gray.get_pixel(x, y)[0]);
            cnt[c] += 1;
        }
    }
    let means: Vec<f32> = sum
        .iter()
        .zip(&cnt)
        .map(|(s, &c)| {
            if c > 0 {
                (*s / f64::from(c)) as f32
            } else {
                f32::NAN
            }
        })
        .collect();
    let valid: Vec<f32> = means.iter().copied().filter(|v| !v.is_nan()).collect();
    let global = median(valid).unwrap_or(0.5);
    let r = ((scale.um_to_px(window_um) / 2.0) / f64::from(cell))
        .round()
        .max(1.0) as i64;
    let mut coarse = vec![global; (cw * ch) as usize];
    let mut buf = Vec::with_capacity(((2 * r + 1) * (2 * r + 1)) as usize);
    for cy in 0..ch as i64 {
        for cx in 0..cw as i64 {
            buf.clear();
            for yy in (cy - r).max(0)..=(cy + r).min(ch as i64 - 1) {
                for xx in (cx - r).max(0)..=(cx + r).min(cw as i64 - 1) {
                    let v = means[(yy * cw as i64 + xx) as usize];
                    if !v.is_nan() {
                        buf.push(v);
                    }
                }
            }
            if let Some(m) = median_mut(&mut buf) {
                coarse[(cy * cw as i64 + cx) as usize] = m;
            }
        }
    }
    // Bilinear interpolation between cell centres.
    let mut out = GrayF32::new(w, h);
    let cellf = cell as f32;
    for y in 0..h {
        let fy = ((y as f32 + 0.5) / cellf - 0.5).clamp(0.0, (ch - 1) as f32);
        let y0 = fy.floor() as u32;
        let y1 = (y0 + 1).min(ch - 1);
        let ty = fy - y0 as f32;
        for x in 0..w {
            let fx = ((x as f32 + 0.5) / cellf - 0.5).clamp(0.0, (cw - 1) as f32);
            let x0 = fx.floor() as u32;
            let x1 = (x0 + 1).min(cw - 1);
            let tx = fx - x0 as f32;
            let g = |xx: u32, yy: u32| coarse[(yy * cw + xx) as usize];
            let top = g(x0, y0) * (1.0 - tx) + g(x1, y0) * tx;
            let bot = g(x0, y1) * (1.0 - tx) + g(x1, y1) * tx;
            out.put_pixel(x, y, Luma([top * (1.0 - ty) + bot * ty]));
        }
    }
    out
}

/// Median of a vector (NaN-free), `None` when empty.
pub(crate) fn median(mut v: Vec<f32>) -> Option<f32> {
    median_mut(&mut v)
}

/// Median of a slice, reordering it; `None` when empty.
pub(crate) fn median_mut(v: &mut [f32]) -> Option<f32> {
    if v.is_empty() {
        return None;
    }
    let k = v.len() / 2;
    let (_, m, _) = v.select_nth_unstable_by(k, |a, b| a.total_cmp(b));
    Some(*m)
}

/// At most about 200 000 evenly strided values of `values` where `keep` is true.
fn strided_sample(values: &[f32], keep: impl Fn(usize) -> bool) -> Vec<f32> {
    let stride = (values.len() / 200_000).max(1);
    (0..values.len())
        .step_by(stride)
        .filter(|&i| keep(i))
        .map(|i| values[i])
        .collect()
}

/// Robust sigma (1.4826 × median absolute deviation from the median) of a
/// strided sample of `values` where `keep` is true.
pub(crate) fn robust_sigma(values: &[f32], keep: impl Fn(usize) -> bool) -> f32 {
    let sample = strided_sample(values, keep);
    let Some(med) = median(sample.clone()) else {
        return 0.0;
    };
    let dev: Vec<f32> = sample.iter().map(|v| (v - med).abs()).collect();
    1.4826 * median(dev).unwrap_or(0.0)
}

/// Noise level of a flattened contrast map whose structures lie in one tail:
/// the smaller of the two one-sided robust σ (1.4826 × the median deviation
/// above, resp. below, the median). Hairs covering a third of a dense field
/// inflate the usual two-sided MAD on their side; the other side is skin.
pub(crate) fn background_sigma(values: &[f32], keep: impl Fn(usize) -> bool) -> f32 {
    let mut sample = strided_sample(values, keep);
    let Some(med) = median_mut(&mut sample) else {
        return 0.0;
    };
    let mut above: Vec<f32> = sample
        .iter()
        .filter(|&&v| v > med)
        .map(|v| v - med)
        .collect();
    let mut below: Vec<f32> = sample
        .iter()
        .filter(|&&v| v < med)
        .map(|v| med - v)
        .collect();
    // An empty side (a noise-free background) has no spread.
    let a = median_mut(&mut above).unwrap_or(0.0);
    let b = median_mut(&mut below).unwrap_or(0.0);
    1.4826 * a.min(b)
}

/// Signed relative contrast `(I − B) / B` with a floor on `B`.
fn relative_contrast(gray: &GrayF32, bg: &GrayF32) -> Vec<f32> {
    gray.as_raw()
        .iter()
        .zip(bg.as_raw())
        .map(|(&i, &b)| (i - b) / b.max(0.05))
        .collect()
}

/// Mass of each tail beyond 4 σ: (dark, light).
fn tail_masses(c: &[f32], visible: &GrayImage, sigma: f32) -> (f64, f64) {
    let t = 4.0 * sigma.max(0.01);
    let (mut dark, mut light) = (0f64, 0f64);
    for (i, &v) in c.iter().enumerate() {
        if visible.as_raw()[i] == 0 {
            continue;
        }
        if v < -t {
            dark += f64::from(-v - t);
        } else if v > t {
            light += f64::from(v - t);
        }
    }
    (dark, light)
}

/// Runs stage 1: gray channel, visibility mask, background flattening,
/// polarity, noise level.
///
/// # Examples
/// ```
/// use trichometry::{PixelScale, pipeline::preprocess::{preprocess, PreprocessConfig, Polarity}};
/// let mut img = image::GrayImage::from_pixel(120, 120, image::Luma([60]));
/// for y in 10..110 { for x in 58..62 { img.put_pixel(x, y, image::Luma([220])); } }
/// let p = preprocess(&image::DynamicImage::ImageLuma8(img), PixelScale::new(5.0).unwrap(),
///                    &PreprocessConfig::default()).unwrap();
/// assert_eq!(p.polarity, Polarity::Light); // white hair on dark skin
/// assert!(p.hairness.get_pixel(60, 60)[0] > 1.0);
/// ```
///
/// # Errors
/// Never fails on image content; returns `Result` for configuration checks.
///
/// # References
/// Sternberg S. R. (1983) Biomedical image processing. Computer 16(1):22–34
/// (background subtraction by a large-scale filter). doi:10.1109/MC.1983.1654163
pub fn preprocess(
    image: &DynamicImage,
    scale: PixelScale,
    cfg: &PreprocessConfig,
) -> Result<Preprocessed> {
    cfg.validate()?;
    let (w, h, px) = planes(image);
    let (visible, overlay_px) = visibility(w, h, &px, scale, cfg);
    let luma_histogram = super::qc::luma_histogram(&px, visible.as_raw());
    let is_gray = matches!(
        image,
        DynamicImage::ImageLuma8(_)
            | DynamicImage::ImageLumaA8(_)
            | DynamicImage::ImageLuma16(_)
            | DynamicImage::ImageLumaA16(_)
    );
    let candidates: Vec<Channel> = match cfg.channel {
        Channel::Auto if !is_gray => {
            vec![Channel::Luma, Channel::Red, Channel::Green, Channel::Blue]
        }
        Channel::Auto => vec![Channel::Luma],
        c => vec![c],
    };
    let mut best: Option<(f64, Channel, Vec<f32>, f32, Polarity)> = None;
    for ch in candidates {
        let gray = plane(w, h, &px, ch);
        let bg = estimate_background(
            &gray,
            &visible,
            scale,
            cfg.background_window_um,
            cfg.background_cell_um,
        );
        let c = relative_contrast(&gray, &bg);
        let keep = |i: usize| visible.as_raw()[i] != 0;
        // One-sided: hairs covering much of a dense field must not inflate
        // the noise level; floored at ¾ of the two-sided MAD so that a clean
        // skin side does not set levels below the skin's own texture.
        let sigma = background_sigma(&c, keep).max(0.75 * robust_sigma(&c, keep));
        let (dark, light) = tail_masses(&c, &visible, sigma);
        let pol = match cfg.polarity {
            Polarity::Auto => {
                if light > dark * 1.5 {
                    Polarity::Light
                } else {
                    Polarity::Dark
                }
            }
            p => p,
        };
        let mass = if pol == Polarity::Light { light } else { dark };
        // Contrast-to-noise score: structure mass in noise units.
        let score = mass / f64::from(sigma.max(0.005));
        if best.as_ref().is_none_or(|b| score > b.0) {
            best = Some((score, ch, c, sigma, pol));
        }
    }
    let Some((_, channel, mut c, sigma, polarity)) = best else {
        return Err(Error::invalid_input("no channel to preprocess"));
    };
    if polarity == Polarity::Dark {
        c.iter_mut().for_each(|v| *v = -*v);
    }
    for (v, &m) in c.iter_mut().zip(visible.as_raw()) {
        if m == 0 {
            *v = 0.0;
        }
    }
    let hairness = GrayF32::from_raw(w, h, c).unwrap_or_else(|| GrayF32::new(w, h));
    Ok(Preprocessed {
        hairness,
        noise_sigma: sigma,
        polarity,
        channel,
        visible,
        luma_histogram,
        overlay_fraction: overlay_px as f64 / (f64::from(w) * f64::from(h)).max(1.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // A linear illumination gradient cancels away from the border (within half
    // a window of the border the clipped median window is biased; see module docs).
    #[test]
    fn gradient_flattens_to_zero() {
        let img = image::GrayImage::from_fn(1000, 300, |x, _| Luma([(80 + x / 8) as u8]));
        let p = preprocess(
            &DynamicImage::ImageLuma8(img),
            PixelScale::new(2.5).unwrap(),
            &PreprocessConfig::default(),
        )
        .unwrap();
        let mut max = 0f32;
        for (x, _, v) in p.hairness.enumerate_pixels() {
            if (330..670).contains(&x) {
                max = max.max(v[0].abs());
            }
        }
        assert!(max < 0.03, "max residual {max}");
    }

    // A 16-bit image keeps its precision: a 1/65535 step survives conversion.
    #[test]
    fn sixteen_bit_precision_kept() {
        let mut img = image::ImageBuffer::<Luma<u16>, Vec<u16>>::from_pixel(4, 1, Luma([30000]));
        img.put_pixel(1, 0, Luma([30001]));
        let g = gray_f32(&DynamicImage::ImageLuma16(img), Channel::Luma);
        assert!(g.get_pixel(1, 0)[0] > g.get_pixel(0, 0)[0]);
    }

    // A black half is masked, the bright half is visible.
    #[test]
    fn black_half_is_masked() {
        let img = image::GrayImage::from_fn(400, 200, |x, _| Luma([if x < 200 { 0 } else { 180 }]));
        let p = preprocess(
            &DynamicImage::ImageLuma8(img),
            PixelScale::new(5.0).unwrap(),
            &PreprocessConfig::default(),
        )
        .unwrap();
        let vis = p.visible.as_raw().iter().filter(|&&v| v > 0).count();
        assert_eq!(vis, 200 * 200);
    }
}
