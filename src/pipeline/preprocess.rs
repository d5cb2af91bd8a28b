//! Preprocessing: colour image to a flattened "hairness" map.
//!
//! Stage 1 of the pipeline. In: the decoded image in its native type (8/16-bit,
//! gray/RGB/RGBA) and the calibration. Out: a [`Preprocessed`] map in `f32`
//! where hair shafts are positive (relative contrast against the local
//! background, with the image's polarity applied), a robust noise level, and
//! the visibility mask (black corners of a round field of view, blank bands
//! burned-in pure-colour overlays and gray info panels, and patches of a
//! colour foreign to the image's skin and hair, such as ink, are not visible).
//!
//! The background is a median over a window much larger than the widest hair,
//! computed on a coarse grid of cell medians and interpolated bilinearly, so
//! it is polarity-free, ignores masked pixels, is not moved by a speck (a few
//! dark pixels shift a cell's mean, hence the background over a whole window,
//! but hardly its median), and costs little at 4 MP. Known
//! weakness: within half a window of the frame edge the clipped window is
//! centred off the pixel, so a steep illumination gradient leaves a residual
//! there (a local plane fit would remove it).

use std::borrow::Cow;

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
    /// With `both_polarities`, a component of the other polarity is kept
    /// while at most this share of its pixels lies within
    /// `other_polarity_clearance_um` of the main polarity's mask: a white
    /// hair touching or crossing dark ones mostly lies beside them, a
    /// specular highlight lies on its shaft. The main mask's specks (below
    /// `components.min_area_um2`) are left out of it: they are no shaft, and
    /// the ridge filter leaves strings of them along a light shaft's flanks.
    /// Default: 0.6 (0 drops every component that comes near the main mask
    /// at all).
    pub other_polarity_max_overlap: f64,
    /// With `both_polarities`, the reach of the main polarity's mask in the
    /// overlap test above, µm: a shaft's specular highlight and its bright
    /// rim lie on the shaft or within a few µm of its edge, so a white hair
    /// lying beside a dark one, or between two, is kept. Default: 25 µm.
    pub other_polarity_clearance_um: f64,
    /// With `both_polarities`, a hair of the other polarity is counted only
    /// when its shaft is at least this share of the median length of the
    /// main polarity's counted hairs (when at least
    /// [`MIN_HAIRS_FOR_TYPICAL_LENGTH`](super::MIN_HAIRS_FOR_TYPICAL_LENGTH)
    /// of those were counted). The shafts of
    /// one clipped field were cut on one day and share a clipped length
    /// whatever their colour, while glints on wet or oily skin threshold into
    /// fans of short streaks. Measured on the first 60 real 70× validation
    /// images (no white hair): of 34 such streaks kept by a 25 µm clearance,
    /// 29 are shorter than half the median. 0 turns the rule off.
    /// Default: 0.5.
    pub other_polarity_min_length_ratio: f64,
    /// With `both_polarities`, a hair of the other polarity is counted only
    /// while at most this share of its surroundings (a square of half side
    /// 100 µm plus half its length) is covered by that polarity's rejected
    /// components (specks, dots, texture lines): a white hair lies on plain
    /// skin, glints on wet or oily skin and on glare come in fields of
    /// glints. 1 turns the rule off. Default: 0.01 (on 105 real 70× images
    /// without white hair it drops 72 of 77 other-polarity streaks; on 72
    /// synthetic images, 30 hairs, 7 of them true).
    pub other_polarity_max_texture: f64,
    /// With `both_polarities`, a hair of the other polarity is counted only
    /// when its shaft is at least this many diameters long (length and
    /// diameter as measured, before the blur correction). That polarity's
    /// tail holds the skin's highlights (specular glints on scales and
    /// sebum), which threshold into short, wide streaks; the main
    /// polarity's look-alikes have rules of their own. Default: 4 (0 turns
    /// the rule off).
    pub other_polarity_min_aspect: f64,
    /// Mask burned-in pure-colour graphics (saturated primaries/secondaries
    /// and pure white, such as scale bars, text and markers; saturated glare
    /// cannot be seen through either), and in colour images the gray info
    /// panels that carry such text at the frame's edge. Default: true.
    pub mask_overlays: bool,
    /// With `mask_overlays`, in colour images also mask pixels whose colour
    /// lies at least this far from the image's typical colour, in opponent
    /// chromaticity (`r − g`, `(r + g)/2 − b`, channels in 0..=1; the
    /// typical colour is the median of each): ink (marker dye, tattoo ink)
    /// and coloured graphics (a measuring circle, a ruler) that are not pure
    /// enough for the rule above. Skin and hair of one image lie within about
    /// 0.25 of their median whatever the white balance; a saturated blue ink
    /// lies about 0.45 away, a red overlay line 0.6. 0 turns the rule off.
    /// Default: 0.35.
    pub foreign_colour_distance: f64,
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
            other_polarity_max_overlap: 0.6,
            other_polarity_clearance_um: 25.0,
            other_polarity_min_length_ratio: 0.5,
            other_polarity_max_texture: 0.01,
            other_polarity_min_aspect: 4.0,
            foreign_colour_distance: 0.35,
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
        let non_negative = crate::config::require_non_negative;
        non_negative(
            self.foreign_colour_distance,
            "preprocess.foreign_colour_distance",
        )?;
        crate::config::require_fraction(
            self.other_polarity_max_overlap,
            "preprocess.other_polarity_max_overlap",
        )?;
        non_negative(
            self.other_polarity_min_aspect,
            "preprocess.other_polarity_min_aspect",
        )?;
        non_negative(
            self.other_polarity_clearance_um,
            "preprocess.other_polarity_clearance_um",
        )?;
        non_negative(
            self.other_polarity_min_length_ratio,
            "preprocess.other_polarity_min_length_ratio",
        )?;
        crate::config::require_fraction(
            self.other_polarity_max_texture,
            "preprocess.other_polarity_max_texture",
        )?;
        Ok(())
    }
}

/// Value of [`Preprocessed::visible`] on ink: a hair lying on a tattoo dot is
/// seen, exits and ends there are read as anywhere, but a cross-section over
/// the ink does not fall to the skin on either side, so its width is not read.
pub const ON_INK: u8 = 128;

impl Preprocessed {
    /// The other polarity's map of `image` (the image this map was made
    /// from), read from [`Preprocessed::other_channel`]: flattened, its noise
    /// level estimated and its sign set for the other polarity. Where that is
    /// the main channel this is [`Preprocessed::opposite`], without a second
    /// flattening.
    ///
    /// # Examples
    /// ```
    /// use trichometry::{PixelScale, pipeline::preprocess::{preprocess, PreprocessConfig, Polarity}};
    /// // Dark hairs on pink skin, and one white hair.
    /// let mut img = image::RgbImage::from_pixel(160, 160, image::Rgb([200, 150, 140]));
    /// for y in 10..150 {
    ///     for x in 38..42 { img.put_pixel(x, y, image::Rgb([40, 30, 30])); }
    ///     for x in 78..82 { img.put_pixel(x, y, image::Rgb([40, 30, 30])); }
    ///     for x in 118..122 { img.put_pixel(x, y, image::Rgb([245, 245, 245])); }
    /// }
    /// let img = image::DynamicImage::ImageRgb8(img);
    /// let cfg = PreprocessConfig::default();
    /// let p = preprocess(&img, PixelScale::new(5.0).unwrap(), &cfg).unwrap();
    /// assert_eq!(p.polarity, Polarity::Dark);
    /// let light = p.opposite_in(&img, PixelScale::new(5.0).unwrap(), &cfg);
    /// assert_eq!(light.polarity, Polarity::Light);
    /// assert!(light.hairness.get_pixel(120, 80)[0] > 0.1);
    /// ```
    pub fn opposite_in(
        &self,
        image: &DynamicImage,
        scale: PixelScale,
        cfg: &PreprocessConfig,
    ) -> Preprocessed {
        self.opposite_from(&self.other_pixels(Cow::Borrowed(image)), scale, cfg)
    }

    /// What [`Preprocessed::opposite_from`] will read of `image`: nothing
    /// when the other polarity shares this map's channel, the one channel
    /// it reads when an owned 8-bit RGB image can give it up (a third of
    /// the image's bytes), else the image itself.
    ///
    /// # Examples
    /// ```
    /// use std::borrow::Cow;
    /// use trichometry::calibrate::PixelScale;
    /// use trichometry::pipeline::preprocess::{preprocess, PreprocessConfig};
    /// let img = image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
    ///     64, 48, image::Rgb([200, 170, 150]),
    /// ));
    /// let (scale, cfg) = (PixelScale::new(5.0).unwrap(), PreprocessConfig::default());
    /// let p = preprocess(&img, scale, &cfg).unwrap();
    /// let kept = p.other_pixels(Cow::Owned(img.clone()));
    /// let light = p.opposite_from(&kept, scale, &cfg);
    /// assert_eq!(light.hairness, p.opposite_in(&img, scale, &cfg).hairness);
    /// ```
    pub fn other_pixels<'a>(&self, image: Cow<'a, DynamicImage>) -> OtherPixels<'a> {
        let dims = (image.width(), image.height());
        if self.other_channel == self.channel || dims != self.visible.dimensions() {
            return OtherPixels::Negated;
        }
        let k = match self.other_channel {
            Channel::Red => 0,
            Channel::Green => 1,
            Channel::Blue => 2,
            Channel::Luma | Channel::Auto => return OtherPixels::Image(image),
        };
        match image {
            Cow::Owned(DynamicImage::ImageRgb8(img)) => {
                let plane = img.as_raw().chunks_exact(3).map(|p| p[k]).collect();
                OtherPixels::Plane(plane)
            }
            image => OtherPixels::Image(image),
        }
    }

    /// The other polarity's map (see [`Preprocessed::opposite_in`]), from
    /// what [`Preprocessed::other_pixels`] kept of the image.
    pub fn opposite_from(
        &self,
        pixels: &OtherPixels<'_>,
        scale: PixelScale,
        cfg: &PreprocessConfig,
    ) -> Preprocessed {
        let px = match pixels {
            OtherPixels::Negated => return self.opposite(),
            OtherPixels::Image(image) => Source::new(image),
            OtherPixels::Plane(plane) => Source::Plane8(plane, byte_table()),
        };
        let (w, h) = self.visible.dimensions();
        let visible = self.visible.as_raw();
        let mut c = Vec::new();
        flattened_into(&px, self.other_channel, w, h, visible, scale, cfg, &mut c);
        let noise_sigma = background_sigma(&c, |i| visible[i] != 0);
        let polarity = self.polarity.other();
        Preprocessed {
            hairness: hairness_map(c, polarity, &self.visible),
            noise_sigma,
            polarity,
            channel: self.other_channel,
            other_channel: self.channel,
            visible: self.visible.clone(),
            luma_histogram: self.luma_histogram,
            overlay_fraction: self.overlay_fraction,
        }
    }

    /// The same map seen with the other polarity: hairness negated, so the
    /// structures of the opposite tail (light hairs on a dark-hair field, or
    /// dark ones on a light-hair field) become positive.
    pub fn opposite(&self) -> Preprocessed {
        self.negated(self.hairness.clone())
    }

    /// [`Preprocessed::opposite_from`] for a caller done with this map: the
    /// map is taken out of `self` (left empty), and a shared channel's is
    /// negated where it lies instead of copied.
    pub(crate) fn take_opposite(
        &mut self,
        pixels: &OtherPixels<'_>,
        scale: PixelScale,
        cfg: &PreprocessConfig,
    ) -> Preprocessed {
        let hairness = std::mem::replace(&mut self.hairness, GrayF32::new(0, 0));
        match pixels {
            OtherPixels::Negated => self.negated(hairness),
            _ => self.opposite_from(pixels, scale, cfg),
        }
    }

    /// The other polarity of this map, from `hairness` (this map's) negated.
    fn negated(&self, mut hairness: GrayF32) -> Preprocessed {
        hairness.iter_mut().for_each(|v| *v = -*v);
        Preprocessed {
            hairness,
            noise_sigma: self.noise_sigma,
            polarity: self.polarity.other(),
            channel: self.channel,
            other_channel: self.other_channel,
            visible: self.visible.clone(),
            luma_histogram: self.luma_histogram,
            overlay_fraction: self.overlay_fraction,
        }
    }
}

impl Polarity {
    /// The opposite polarity: `Light` for `Dark` (and `Auto`), `Dark` for `Light`.
    fn other(self) -> Polarity {
        match self {
            Polarity::Light => Polarity::Dark,
            _ => Polarity::Light,
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
    /// The channel in which structures of the other polarity stand out most
    /// (white or grey hairs among dark ones often do in another channel than
    /// the dark ones): what [`Preprocessed::opposite_in`] reads. Equals
    /// `channel` for gray images and for a fixed channel.
    pub other_channel: Channel,
    /// 255 where the pixel is visible (analysable), 0 where masked;
    /// [`ON_INK`] on a tattoo dot or other ink blob
    /// ([`super::segment::round_blobs`]): visible, and in the analysed area,
    /// but no width is read across it.
    pub visible: GrayImage,
    /// Luma histogram of the visible pixels (see [`super::qc::luma_histogram`]).
    pub luma_histogram: [u64; 256],
    /// Share of the frame masked as burned-in overlay (saturated colours, white).
    pub overlay_fraction: f64,
}

/// What the other polarity's pass reads of an image (see
/// [`Preprocessed::other_pixels`]).
#[derive(Debug, Clone)]
pub enum OtherPixels<'a> {
    /// Nothing: the other polarity's map is this map negated.
    Negated,
    /// The image.
    Image(Cow<'a, DynamicImage>),
    /// The bytes of the one channel read, of an 8-bit RGB image.
    Plane(Vec<u8>),
}

/// The table `c ↦ c / 255` through which 8-bit samples are read.
fn byte_table() -> Box<[f32; 256]> {
    let mut lut = Box::new([0f32; 256]);
    for (c, v) in lut.iter_mut().enumerate() {
        *v = f32::from(c as u8) / 255.0;
    }
    lut
}

/// The decoded pixels as preprocessing reads them: three channels in 0..=1,
/// keeping 16-bit precision, without a full-size floating-point copy of an
/// 8-bit RGB image (the common case, read through a 256-entry table).
enum Source<'a> {
    /// 8-bit RGB, interleaved, with the table `c ↦ c / 255`.
    Rgb8(&'a [u8], Box<[f32; 256]>),
    /// Gray (any depth) as `v / 65535`, the same value in all three channels.
    Gray(Vec<f32>),
    /// Any other layout, converted to `f32` RGB.
    Rgb(Vec<[f32; 3]>),
    /// One channel of an 8-bit RGB image, read through the same table as
    /// `Rgb8`, the same value in all three channels: only the channel it
    /// was taken from is read from it.
    Plane8(&'a [u8], Box<[f32; 256]>),
}

impl Source<'_> {
    /// Pixel `i` (row-major), channels in 0..=1.
    fn pixel(&self, i: usize) -> [f32; 3] {
        match self {
            Source::Rgb8(v, lut) => {
                let p = &v[3 * i..3 * i + 3];
                [
                    lut[usize::from(p[0])],
                    lut[usize::from(p[1])],
                    lut[usize::from(p[2])],
                ]
            }
            Source::Gray(v) => [v[i]; 3],
            Source::Rgb(v) => v[i],
            Source::Plane8(v, lut) => [lut[usize::from(v[i])]; 3],
        }
    }

    fn new(image: &DynamicImage) -> Source<'_> {
        match image {
            DynamicImage::ImageLuma8(_)
            | DynamicImage::ImageLumaA8(_)
            | DynamicImage::ImageLuma16(_)
            | DynamicImage::ImageLumaA16(_) => Source::Gray(
                image
                    .to_luma16()
                    .as_raw()
                    .iter()
                    .map(|&v| f32::from(v) / 65535.0)
                    .collect(),
            ),
            DynamicImage::ImageRgb8(img) => Source::Rgb8(img.as_raw(), byte_table()),
            _ => Source::Rgb(image.to_rgb32f().pixels().map(|p| p.0).collect()),
        }
    }

    /// Calls `f(i, [r, g, b])` for every pixel `i` in raster order, with the
    /// layout resolved once rather than once per pixel.
    fn for_each(&self, mut f: impl FnMut(usize, [f32; 3])) {
        match self {
            Source::Rgb8(v, lut) => {
                for (i, p) in v.chunks_exact(3).enumerate() {
                    f(
                        i,
                        [
                            lut[usize::from(p[0])],
                            lut[usize::from(p[1])],
                            lut[usize::from(p[2])],
                        ],
                    );
                }
            }
            Source::Gray(v) => v.iter().enumerate().for_each(|(i, &x)| f(i, [x; 3])),
            Source::Rgb(v) => v.iter().enumerate().for_each(|(i, &p)| f(i, p)),
            Source::Plane8(v, lut) => v
                .iter()
                .enumerate()
                .for_each(|(i, &x)| f(i, [lut[usize::from(x)]; 3])),
        }
    }

    /// Writes one channel of the pixels `start..start + out.len()` into
    /// `out`, with the layout and channel resolved once per call rather
    /// than once per pixel.
    fn fill(&self, start: usize, channel: Channel, out: &mut [f32]) {
        match channel {
            Channel::Red => self.fill_with(start, out, |p| p[0]),
            Channel::Green => self.fill_with(start, out, |p| p[1]),
            Channel::Blue => self.fill_with(start, out, |p| p[2]),
            Channel::Luma | Channel::Auto => self.fill_with(start, out, luma),
        }
    }

    /// The table through which `channel` is read when its values are bytes
    /// (one channel of 8-bit RGB, or the plane kept of it); `None` where
    /// they are not (luma, gray, other layouts).
    fn byte_table(&self, channel: Channel) -> Option<&[f32; 256]> {
        let single = matches!(channel, Channel::Red | Channel::Green | Channel::Blue);
        match self {
            Source::Rgb8(_, lut) | Source::Plane8(_, lut) if single => Some(lut),
            _ => None,
        }
    }

    /// Writes the bytes of `channel` of the pixels `start..start + out.len()`
    /// into `out`, where [`Source::byte_table`] is `Some`; `out[i]` read
    /// through that table is what [`Source::fill`] writes.
    fn fill_bytes(&self, start: usize, channel: Channel, out: &mut [u8]) {
        let end = start + out.len();
        match self {
            Source::Rgb8(v, _) => {
                let c = match channel {
                    Channel::Red => 0,
                    Channel::Green => 1,
                    _ => 2,
                };
                for (o, p) in out.iter_mut().zip(v[3 * start..3 * end].chunks_exact(3)) {
                    *o = p[c];
                }
            }
            Source::Plane8(v, _) => out.copy_from_slice(&v[start..end]),
            Source::Gray(_) | Source::Rgb(_) => {}
        }
    }

    #[inline]
    fn fill_with(&self, start: usize, out: &mut [f32], f: impl Fn([f32; 3]) -> f32) {
        let end = start + out.len();
        match self {
            Source::Rgb8(v, lut) => {
                for (o, p) in out.iter_mut().zip(v[3 * start..3 * end].chunks_exact(3)) {
                    *o = f([
                        lut[usize::from(p[0])],
                        lut[usize::from(p[1])],
                        lut[usize::from(p[2])],
                    ]);
                }
            }
            Source::Gray(v) => {
                for (o, &x) in out.iter_mut().zip(&v[start..end]) {
                    *o = f([x; 3]);
                }
            }
            Source::Rgb(v) => {
                for (o, &p) in out.iter_mut().zip(&v[start..end]) {
                    *o = f(p);
                }
            }
            Source::Plane8(v, lut) => {
                for (o, &x) in out.iter_mut().zip(&v[start..end]) {
                    *o = f([lut[usize::from(x)]; 3]);
                }
            }
        }
    }
}

/// Rec. 601 luma of an RGB triple.
#[inline]
fn luma(p: [f32; 3]) -> f32 {
    0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]
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
    let (w, h) = (image.width(), image.height());
    let src = Source::new(image);
    let mut out = vec![0f32; w as usize * h as usize];
    src.fill(0, channel, &mut out);
    GrayF32::from_raw(w, h, out).unwrap_or_else(|| GrayF32::new(w, h))
}

/// The hairness map from a flattened contrast map `c` (`(I − B) / B`):
/// negated for dark hairs so hair is positive, 0 where not `visible`.
fn hairness_map(mut c: Vec<f32>, polarity: Polarity, visible: &GrayImage) -> GrayF32 {
    if polarity == Polarity::Dark {
        c.iter_mut().for_each(|v| *v = -*v);
    }
    for (v, &m) in c.iter_mut().zip(visible.as_raw()) {
        if m == 0 {
            *v = 0.0;
        }
    }
    let (w, h) = visible.dimensions();
    GrayF32::from_raw(w, h, c).unwrap_or_else(|| GrayF32::new(w, h))
}

/// Opponent chromaticity of an RGB pixel (channels in 0..=1): `r − g`
/// (red–green) and `(r + g)/2 − b` (yellow–blue), as in the opponent colour
/// axes of Ohta, Kanade & Sakai (1980), Color information for region
/// segmentation, Computer Graphics and Image Processing 13(3):222–241.
#[inline]
fn chroma(p: [f32; 3]) -> [f32; 2] {
    [p[0] - p[1], 0.5 * (p[0] + p[1]) - p[2]]
}

/// Median opponent chromaticity ([`chroma`]) of a strided sample of the
/// image's pixels (about 50 000), each axis on its own; `None` for an empty image.
fn median_chroma(px: &Source, w: u32, h: u32) -> Option<[f32; 2]> {
    let n = w as usize * h as usize;
    let stride = (n / 50_000).max(1);
    let (a, b): (Vec<f32>, Vec<f32>) = (0..n)
        .step_by(stride)
        .map(|i| {
            let o = chroma(px.pixel(i));
            (o[0], o[1])
        })
        .unzip();
    Some([median(a)?, median(b)?])
}

/// Smallest connected region of foreign colour that is masked, µm²: the
/// colour fringes JPEG leaves along white text and glare are smaller, ink
/// patches and drawn lines are larger.
const MIN_FOREIGN_AREA_UM2: f64 = 1000.0;

/// The pixels of `pixels` (indices into a `w × h` image) that belong to
/// 8-connected regions of them of at least `min_px` pixels. A flood fill over
/// the given pixels only: the rest of the image is never scanned.
fn large_regions(pixels: Vec<usize>, w: u32, h: u32, min_px: f64) -> Vec<usize> {
    if pixels.is_empty() {
        return pixels;
    }
    let (wu, hu) = (w as usize, h as usize);
    // 1: in the set, not yet reached; 2: reached.
    let mut mark = vec![0u8; wu * hu];
    for &i in &pixels {
        mark[i] = 1;
    }
    let mut keep = Vec::with_capacity(pixels.len());
    let mut region = Vec::new();
    for &seed in &pixels {
        if mark[seed] != 1 {
            continue;
        }
        mark[seed] = 2;
        region.clear();
        region.push(seed);
        let mut next = 0;
        while next < region.len() {
            let i = region[next];
            next += 1;
            let (x, y) = (i % wu, i / wu);
            for yy in y.saturating_sub(1)..(y + 2).min(hu) {
                for xx in x.saturating_sub(1)..(x + 2).min(wu) {
                    let j = yy * wu + xx;
                    if mark[j] == 1 {
                        mark[j] = 2;
                        region.push(j);
                    }
                }
            }
        }
        if region.len() as f64 >= min_px {
            keep.extend_from_slice(&region);
        }
    }
    keep.sort_unstable();
    keep
}

/// Visibility mask: 0 on large blank (near-black) regions touching nothing
/// but themselves (black corners of a round field of view, blank bands) and,
/// if enabled, on pure-colour overlay pixels and on connected patches of a
/// foreign colour (both dilated by 2 px) and on gray info panels at the
/// frame's edge; 255 elsewhere.
/// Also returns the number of overlay pixels found (before dilation).
fn visibility(
    w: u32,
    h: u32,
    px: &Source,
    scale: PixelScale,
    cfg: &PreprocessConfig,
) -> (GrayImage, u64) {
    let blank_level = cfg.blank_level as f32;
    let mut blank = GrayImage::new(w, h);
    let mut any_blank = false;
    let mut overlay = Vec::new();
    let mut coloured = Vec::new();
    // Exactly neutral pixels (candidate overlay panels); gray images have
    // no colour to tell them by.
    let look_for_panels = cfg.mask_overlays && !matches!(px, Source::Gray(_));
    let mut neutral = if look_for_panels {
        GrayImage::new(w, h)
    } else {
        GrayImage::new(0, 0)
    };
    // Foreign colours: far from the image's median chromaticity.
    let foreign = (look_for_panels && cfg.foreign_colour_distance > 0.0)
        .then(|| median_chroma(px, w, h))
        .flatten()
        .map(|m| (m, cfg.foreign_colour_distance as f32));
    {
        let b = blank.as_mut();
        let nb = neutral.as_mut();
        px.for_each(|i, p| {
            let mx = p[0].max(p[1]).max(p[2]);
            if mx <= blank_level {
                b[i] = 255;
                any_blank = true;
            }
            if cfg.mask_overlays {
                let mn = p[0].min(p[1]).min(p[2]);
                if look_for_panels && mx > blank_level {
                    if mn >= 0.9 || (mx >= 0.85 && mx - mn >= 0.5) {
                        // Bright white or saturated: text on a panel.
                        nb[i] = PANEL_TEXT;
                    } else if mx - mn <= PANEL_MAX_CHROMA {
                        // Neutral: its luma, 1..=254.
                        let l = 255.0 * (0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]);
                        nb[i] = l.round().clamp(1.0, 254.0) as u8;
                    }
                }
                // Saturated primary or secondary colour: no skin or hair looks like this.
                let pure =
                    (mx >= 0.97 && mn <= 0.03 && p.iter().all(|&c| !(0.1..=0.9).contains(&c)))
                        || mn >= 0.995;
                let alien = foreign.is_some_and(|(m, d)| {
                    let o = chroma(p);
                    let (da, db) = (o[0] - m[0], o[1] - m[1]);
                    da * da + db * db >= d * d && mx > blank_level
                });
                if pure {
                    overlay.push(i);
                } else if alien {
                    coloured.push(i);
                }
            }
        });
    }
    let mut visible = GrayImage::from_pixel(w, h, Luma([255]));
    if any_blank {
        mask_blank_regions(blank, &mut visible, scale, cfg);
    }
    let mut overlay_px = 0u64;
    if cfg.mask_overlays {
        let coloured = large_regions(coloured, w, h, scale.um2_to_px2(MIN_FOREIGN_AREA_UM2));
        let r = 2i64;
        for &i in overlay.iter().chain(&coloured) {
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
        overlay_px = (overlay.len() + coloured.len()) as u64;
        if look_for_panels {
            overlay_px += mask_overlay_panels(neutral, &overlay, &mut visible, scale);
        }
    }
    (visible, overlay_px)
}

/// Largest channel spread (max − min, 0..=1) of an overlay panel's pixels;
/// JPEG's subsampled chroma spreads a neutral panel's colour by several levels.
const PANEL_MAX_CHROMA: f32 = 10.0 / 255.0;
/// Largest difference (luma levels of 255) between a panel pixel and the
/// panel's gray.
const PANEL_GRAY_TOLERANCE: i32 = 8;
/// Mark of text (near-white, or bright and saturated) in
/// [`mask_overlay_panels`]'s input; neutral pixels hold their luma, 1..=254.
const PANEL_TEXT: u8 = 255;

/// Masks the panels that capture software burns in behind its text (device,
/// date, magnification). A panel is a region of neutral pixels of one gray
/// (within 8 levels of the commonest neutral gray beside text) joined with
/// the white or bright saturated text on it (closed by one pixel to bridge
/// the text's anti-aliased, ringing edge) that nearly fills its bounding box
/// (≥ 60%), covers at least 4 000 µm², holds text (1–50% of its area), and
/// lies within a tenth of the frame of an image edge, where such bands sit,
/// as a band or corner box (at most 15% of the frame across, 25% in area).
/// Skin and hair in a colour photograph are not neutral over a filled box;
/// the edge rule keeps a straight dark hair with a glint in mid-field safe.
/// The panel's bounding box, grown by 3 px for the ringing at its border, is
/// masked. Returns the number of pixels newly masked.
fn mask_overlay_panels(
    mut neutral: GrayImage,
    overlay: &[usize],
    visible: &mut GrayImage,
    scale: PixelScale,
) -> u64 {
    let (w, h) = neutral.dimensions();
    if w == 0 || h == 0 {
        return 0;
    }
    for &i in overlay {
        neutral.as_mut()[i] = PANEL_TEXT;
    }
    // The panel's gray: the commonest luma of neutral pixels beside text.
    // Neutral pixels of other grays (grayish skin) are not panel.
    let mut hist = [0u64; 256];
    let (wu, hu) = (w as usize, h as usize);
    {
        let nb = neutral.as_raw();
        for i in (0..nb.len()).filter(|&i| nb[i] == PANEL_TEXT) {
            let (x, y) = (i % wu, i / wu);
            for yy in y.saturating_sub(2)..(y + 3).min(hu) {
                for xx in x.saturating_sub(2)..(x + 3).min(wu) {
                    let v = nb[yy * wu + xx];
                    if v != 0 && v != PANEL_TEXT {
                        hist[v as usize] += 1;
                    }
                }
            }
        }
    }
    let Some(gray) = (1..255usize)
        .filter(|&v| hist[v] > 0)
        .max_by_key(|&v| (hist[v], v))
    else {
        return 0;
    };
    for v in neutral.as_mut() {
        if *v != PANEL_TEXT && (i32::from(*v) - gray as i32).abs() > PANEL_GRAY_TOLERANCE {
            *v = 0;
        }
    }
    let closed = super::filter::dilate_square(&neutral, 1);
    let labels = super::components::label(
        &super::segment::HairMask(closed),
        super::components::Connectivity::Four,
    );
    let n = labels.count as usize;
    // Per label: area, bbox, text pixels.
    let mut area = vec![0u64; n];
    let mut text = vec![0u64; n];
    let mut bbox = vec![[u32::MAX, u32::MAX, 0u32, 0u32]; n];
    for (i, &l) in labels.image.as_raw().iter().enumerate() {
        if l == 0 {
            continue;
        }
        let k = l as usize - 1;
        let (x, y) = ((i % w as usize) as u32, (i / w as usize) as u32);
        area[k] += 1;
        text[k] += u64::from(neutral.as_raw()[i] == PANEL_TEXT);
        let b = &mut bbox[k];
        b[0] = b[0].min(x);
        b[1] = b[1].min(y);
        b[2] = b[2].max(x);
        b[3] = b[3].max(y);
    }
    let min_area = scale.um2_to_px2(4_000.0).max(64.0);
    let (mx, my) = (w / 10, h / 10);
    let mut masked = 0u64;
    for k in 0..n {
        let a = area[k] as f64;
        // Text is a small part of its panel; a glare spot is mostly white.
        let t = text[k] as f64;
        if a < min_area || t < 0.01 * a || t > 0.5 * a {
            continue;
        }
        let b = bbox[k];
        let (bw, bh) = (f64::from(b[2] - b[0] + 1), f64::from(b[3] - b[1] + 1));
        let box_area = bw * bh;
        let near_edge = b[1] <= my || b[3] + my >= h - 1 || b[0] <= mx || b[2] + mx >= w - 1;
        // A band or a corner box, not a region the size of the field
        // (dark, nearly neutral skin).
        let small = (bw <= 0.15 * f64::from(w) || bh <= 0.15 * f64::from(h))
            && box_area <= 0.25 * f64::from(w) * f64::from(h);
        if a < 0.6 * box_area || !near_edge || !small {
            continue;
        }
        let (x0, y0) = (b[0].saturating_sub(3), b[1].saturating_sub(3));
        let (x1, y1) = ((b[2] + 3).min(w - 1), (b[3] + 3).min(h - 1));
        for y in y0..=y1 {
            for x in x0..=x1 {
                let v = visible.get_pixel_mut(x, y);
                if v[0] != 0 {
                    v[0] = 0;
                    masked += 1;
                }
            }
        }
    }
    masked
}

/// Sets `visible` to 0 on the 4-connected regions of `blank` (255 = blank)
/// of at least `cfg.min_blank_area_um2`.
fn mask_blank_regions(
    blank: GrayImage,
    visible: &mut GrayImage,
    scale: PixelScale,
    cfg: &PreprocessConfig,
) {
    let labels = super::components::label(
        &super::segment::HairMask(blank),
        super::components::Connectivity::Four,
    )
    .image;
    let mut areas: Vec<u64> = vec![0; labels.as_raw().iter().copied().max().unwrap_or(0) as usize];
    for &l in labels.as_raw() {
        if l > 0 {
            areas[l as usize - 1] += 1;
        }
    }
    let min_blank = scale.um2_to_px2(cfg.min_blank_area_um2).max(1.0);
    for (v, &l) in visible.as_mut().iter_mut().zip(labels.as_raw()) {
        if l > 0 && areas[l as usize - 1] as f64 >= min_blank {
            *v = 0;
        }
    }
}

/// Estimates the smooth background of `gray` by a median of coarse cell
/// medians over a `window_um` square, ignoring pixels where `visible` is 0, and
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
    let rows = Rows::Floats(&row_copier(gray.as_raw(), w));
    background_image(w, h, rows, visible, scale, window_um, cell_um)
}

/// Copies row `y` of a `w`-wide image stored row by row into a buffer.
fn row_copier<T: Copy>(raw: &[T], w: u32) -> impl Fn(usize, &mut [T]) + '_ {
    let w = w as usize;
    move |y, row| row.copy_from_slice(&raw[y * w..(y + 1) * w])
}

/// The whole background image of a [`BackgroundGrid`] (empty for an empty image).
fn background_image(
    w: u32,
    h: u32,
    rows: Rows<'_>,
    visible: &GrayImage,
    scale: PixelScale,
    window_um: f64,
    cell_um: f64,
) -> GrayF32 {
    if w == 0 || h == 0 {
        return GrayF32::new(w, h);
    }
    let grid = BackgroundGrid::new(w, h, rows, visible.as_raw(), scale, window_um, cell_um);
    let mut out = vec![0f32; w as usize * h as usize];
    for (y, row) in out.chunks_exact_mut(w as usize).enumerate() {
        grid.row(y as u32, row);
    }
    GrayF32::from_raw(w, h, out).unwrap_or_else(|| GrayF32::new(w, h))
}

/// [`estimate_background`] of an 8-bit gray image read as `v / 255`: the
/// same values, bit for bit, from 256-bin histograms of the bytes (cell
/// medians, then window medians slid a column of cells at a time, Huang et
/// al. 1979) instead of selecting among floating-point values; one RGB
/// channel of a photograph takes this path inside [`preprocess`].
///
/// # Examples
/// ```
/// use trichometry::{PixelScale, pipeline::preprocess::{estimate_background, estimate_background_u8}};
/// let mut g = image::GrayImage::from_pixel(200, 200, image::Luma([204]));
/// for y in 0..200 { for x in 98..102 { g.put_pixel(x, y, image::Luma([25])); } }
/// let vis = image::GrayImage::from_pixel(200, 200, image::Luma([255]));
/// let s = PixelScale::new(5.0).unwrap();
/// let b = estimate_background_u8(&g, &vis, s, 400.0, 20.0);
/// assert!((b.get_pixel(100, 100)[0] - 0.8).abs() < 1e-3);
/// let f = image::ImageBuffer::from_fn(200, 200, |x, y| image::Luma([f32::from(g.get_pixel(x, y)[0]) / 255.0]));
/// assert_eq!(b, estimate_background(&f, &vis, s, 400.0, 20.0));
/// ```
pub fn estimate_background_u8(
    gray: &GrayImage,
    visible: &GrayImage,
    scale: PixelScale,
    window_um: f64,
    cell_um: f64,
) -> GrayF32 {
    let (w, h) = gray.dimensions();
    let lut = byte_table();
    let rows = Rows::Bytes(&row_copier(gray.as_raw(), w), &lut);
    background_image(w, h, rows, visible, scale, window_um, cell_um)
}

/// Side of the background grid's cells, pixels: `cell_um` (at least a
/// twentieth of the window), but never more than about 65 536 cells.
fn cell_px(w: u32, h: u32, scale: PixelScale, window_um: f64, cell_um: f64) -> u32 {
    let by_area = ((f64::from(w) * f64::from(h)) / 65536.0).sqrt().ceil();
    scale
        .um_to_px(cell_um.max(window_um / 20.0))
        .round()
        .max(by_area)
        .max(1.0) as u32
}

/// Where [`BackgroundGrid::new`] reads the image, a row at a time.
enum Rows<'a> {
    /// Values written into a row buffer by the closure.
    Floats(&'a dyn Fn(usize, &mut [f32])),
    /// Bytes written into a row buffer by the closure, whose values are
    /// read through the table (strictly increasing): the medians come from
    /// histograms of the bytes, with the same result as selecting values.
    Bytes(&'a dyn Fn(usize, &mut [u8]), &'a [f32; 256]),
}

/// The byte of rank `k` (0-based, in increasing order) of a 256-bin
/// histogram holding more than `k` values.
fn rank_in_histogram(hist: &[u32], k: usize) -> u8 {
    let mut seen = 0usize;
    for (level, &c) in hist.iter().enumerate() {
        seen += c as usize;
        if seen > k {
            return level as u8;
        }
    }
    255
}

/// The coarse background of [`estimate_background`]: window medians of cell
/// medians, with the bilinear weights of every column precomputed.
struct BackgroundGrid {
    cell: u32,
    cw: u32,
    ch: u32,
    coarse: Vec<f32>,
    /// Runs of columns between the same two cell centres: first column,
    /// end (exclusive), left cell, right cell.
    runs: Vec<(usize, usize, usize, usize)>,
    /// Per column: weight of the left cell (`1 − t`) and of the right one (`t`).
    left: Vec<f32>,
    right: Vec<f32>,
}

impl BackgroundGrid {
    /// Builds the grid of an image of `w × h` (both > 0) from its rows.
    fn new(
        w: u32,
        h: u32,
        rows: Rows<'_>,
        visible: &[u8],
        scale: PixelScale,
        window_um: f64,
        cell_um: f64,
    ) -> BackgroundGrid {
        let cell = cell_px(w, h, scale, window_um, cell_um);
        let (cw, ch) = (w.div_ceil(cell), h.div_ceil(cell));
        let r = ((scale.um_to_px(window_um) / 2.0) / f64::from(cell))
            .round()
            .max(1.0) as i64;
        let coarse = match rows {
            Rows::Floats(fill_row) => {
                let medians = Self::cell_medians(w, cell, cw, ch, fill_row, visible);
                Self::window_medians(cw, ch, r, &medians)
            }
            Rows::Bytes(fill_row, lut) => {
                let levels = Self::cell_levels(w, cell, cw, ch, fill_row, visible);
                Self::window_levels(cw, ch, r, &levels, lut)
            }
        };
        let cellf = cell as f32;
        let (mut runs, mut left, mut right) = (Vec::new(), Vec::new(), Vec::new());
        for x in 0..w {
            let fx = ((x as f32 + 0.5) / cellf - 0.5).clamp(0.0, (cw - 1) as f32);
            let x0 = fx.floor() as u32;
            let (x0, x1, tx) = (x0 as usize, (x0 + 1).min(cw - 1) as usize, fx - x0 as f32);
            left.push(1.0 - tx);
            right.push(tx);
            match runs.last_mut() {
                Some((_, end, a, b)) if (*a, *b) == (x0, x1) => *end = x as usize + 1,
                _ => runs.push((x as usize, x as usize + 1, x0, x1)),
            }
        }
        BackgroundGrid {
            cell,
            cw,
            ch,
            coarse,
            runs,
            left,
            right,
        }
    }

    /// Median of each cell's visible values (NaN for a cell with none).
    fn cell_medians(
        w: u32,
        cell: u32,
        cw: u32,
        ch: u32,
        fill_row: &dyn Fn(usize, &mut [f32]),
        visible: &[u8],
    ) -> Vec<f32> {
        // Cell medians, one band of `cell` rows at a time. Each cell's
        // values are kept as integer keys that order like `f32::total_cmp`
        // (see the window medians below), copied a cell-wide run at a time.
        let mut medians = vec![f32::NAN; (cw * ch) as usize];
        let (wu, cu) = (w as usize, cell as usize);
        let mut vals = vec![0f32; wu];
        let mut bins: Vec<Vec<i32>> = (0..cw).map(|_| Vec::with_capacity(cu * cu)).collect();
        for (cy, band) in visible.chunks(cu * wu).enumerate() {
            for b in bins.iter_mut() {
                b.clear();
            }
            for (i, vis) in band.chunks_exact(wu).enumerate() {
                fill_row(cy * cu + i, &mut vals);
                for ((b, vis), vals) in bins.iter_mut().zip(vis.chunks(cu)).zip(vals.chunks(cu)) {
                    if vis.iter().all(|&m| m != 0) {
                        b.extend(vals.iter().map(|&v| total_order_key(v)));
                    } else {
                        b.extend(
                            vis.iter()
                                .zip(vals)
                                .filter(|(&m, _)| m != 0)
                                .map(|(_, &v)| total_order_key(v)),
                        );
                    }
                }
            }
            for (cx, b) in bins.iter_mut().enumerate() {
                if !b.is_empty() {
                    let k = b.len() / 2;
                    medians[cy * cw as usize + cx] =
                        from_total_order_key(*b.select_nth_unstable(k).1);
                }
            }
        }
        medians
    }

    /// Median of the cell medians in each cell's window of `2r + 1` cells
    /// a side (clipped to the grid); the median of all cell medians where a
    /// window holds none, 0.5 where the image has none.
    fn window_medians(cw: u32, ch: u32, r: i64, medians: &[f32]) -> Vec<f32> {
        let valid: Vec<f32> = medians.iter().copied().filter(|v| !v.is_nan()).collect();
        let global = median(valid).unwrap_or(0.5);
        let mut coarse = vec![global; (cw * ch) as usize];
        // The window medians compare integer keys that order like
        // `f32::total_cmp` (the same transform it applies), which is faster
        // than comparing floats and selects the same value.
        let keys: Vec<Option<i32>> = medians
            .iter()
            .map(|v| (!v.is_nan()).then(|| total_order_key(*v)))
            .collect();
        let mut buf: Vec<i32> = Vec::with_capacity(((2 * r + 1) * (2 * r + 1)) as usize);
        for cy in 0..ch as i64 {
            for cx in 0..cw as i64 {
                buf.clear();
                for yy in (cy - r).max(0)..=(cy + r).min(ch as i64 - 1) {
                    let row = (yy * cw as i64) as usize;
                    let (x0, x1) = (
                        (cx - r).max(0) as usize,
                        (cx + r).min(cw as i64 - 1) as usize,
                    );
                    buf.extend(keys[row + x0..=row + x1].iter().flatten());
                }
                if !buf.is_empty() {
                    let k = buf.len() / 2;
                    let m = *buf.select_nth_unstable(k).1;
                    coarse[(cy * cw as i64 + cx) as usize] = from_total_order_key(m);
                }
            }
        }
        coarse
    }

    /// [`BackgroundGrid::cell_medians`] of a byte-valued image: each cell's
    /// median byte (`None` for a cell with no visible pixel), from a
    /// 256-bin histogram per cell of one band of cells (Huang et al. 1979),
    /// where sorting or selecting would compare every value.
    fn cell_levels(
        w: u32,
        cell: u32,
        cw: u32,
        ch: u32,
        fill_row: &dyn Fn(usize, &mut [u8]),
        visible: &[u8],
    ) -> Vec<Option<u8>> {
        let (wu, cu, cwu) = (w as usize, cell as usize, cw as usize);
        let mut levels = vec![None; cwu * ch as usize];
        let mut bytes = vec![0u8; wu];
        let mut hist = vec![0u32; cwu * 256];
        let mut count = vec![0usize; cwu];
        for (cy, band) in visible.chunks(cu * wu).enumerate() {
            hist.fill(0);
            count.fill(0);
            for (i, vis) in band.chunks_exact(wu).enumerate() {
                fill_row(cy * cu + i, &mut bytes);
                let cells = hist.chunks_exact_mut(256).zip(count.iter_mut());
                for ((hc, n), (vis, b)) in cells.zip(vis.chunks(cu).zip(bytes.chunks(cu))) {
                    if vis.iter().all(|&m| m != 0) {
                        for &v in b {
                            hc[usize::from(v)] += 1;
                        }
                        *n += b.len();
                    } else {
                        for (_, &v) in vis.iter().zip(b).filter(|(&m, _)| m != 0) {
                            hc[usize::from(v)] += 1;
                            *n += 1;
                        }
                    }
                }
            }
            let cells = hist.chunks_exact(256).zip(&count).enumerate();
            for (cx, (hc, &n)) in cells {
                if n > 0 {
                    levels[cy * cwu + cx] = Some(rank_in_histogram(hc, n / 2));
                }
            }
        }
        levels
    }

    /// [`BackgroundGrid::window_medians`] of byte levels read through `lut`
    /// (strictly increasing, so the median level's value is the median
    /// value): one histogram per row of cells, slid along the row a column
    /// of cells at a time (Huang et al. 1979).
    fn window_levels(
        cw: u32,
        ch: u32,
        r: i64,
        levels: &[Option<u8>],
        lut: &[f32; 256],
    ) -> Vec<f32> {
        let valid: Vec<f32> = levels
            .iter()
            .flatten()
            .map(|&l| lut[usize::from(l)])
            .collect();
        let global = median(valid).unwrap_or(0.5);
        let (cw, ch) = (cw as i64, ch as i64);
        let mut coarse = vec![global; (cw * ch) as usize];
        for cy in 0..ch {
            let rows = (cy - r).max(0)..=(cy + r).min(ch - 1);
            // The levels of one column of cells of this row's window.
            let column = |x: i64| {
                rows.clone()
                    .filter_map(move |yy| levels[(yy * cw + x) as usize])
            };
            let mut hist = [0u32; 256];
            let mut n = 0usize;
            for x in 0..=r.min(cw - 1) {
                for l in column(x) {
                    hist[usize::from(l)] += 1;
                    n += 1;
                }
            }
            for cx in 0..cw {
                // Slide: the column leaving the window, the one entering it.
                if cx > r {
                    for l in column(cx - r - 1) {
                        hist[usize::from(l)] -= 1;
                        n -= 1;
                    }
                }
                if cx > 0 && cx + r < cw {
                    for l in column(cx + r) {
                        hist[usize::from(l)] += 1;
                        n += 1;
                    }
                }
                if n > 0 {
                    let l = rank_in_histogram(&hist, n / 2);
                    coarse[(cy * cw + cx) as usize] = lut[usize::from(l)];
                }
            }
        }
        coarse
    }

    /// Writes row `y` of the background (bilinear between cell centres) into `out`.
    fn row(&self, y: u32, out: &mut [f32]) {
        let fy = ((y as f32 + 0.5) / self.cell as f32 - 0.5).clamp(0.0, (self.ch - 1) as f32);
        let y0 = fy.floor() as u32;
        let y1 = (y0 + 1).min(self.ch - 1);
        let ty = fy - y0 as f32;
        let r0 = &self.coarse[(y0 * self.cw) as usize..((y0 + 1) * self.cw) as usize];
        let r1 = &self.coarse[(y1 * self.cw) as usize..((y1 + 1) * self.cw) as usize];
        // One run of columns shares its four cell values, so the loop over
        // its columns has no gathers and vectorises.
        for &(start, end, x0, x1) in &self.runs {
            let (t0, t1, b0, b1) = (r0[x0], r0[x1], r1[x0], r1[x1]);
            let cols = out[start..end]
                .iter_mut()
                .zip(&self.left[start..end])
                .zip(&self.right[start..end]);
            for ((o, &l), &r) in cols {
                let top = t0 * l + t1 * r;
                let bot = b0 * l + b1 * r;
                *o = top * (1.0 - ty) + bot * ty;
            }
        }
    }
}

/// Signed relative contrast `(I − B) / B` (floor 0.05 on `B`) of one channel
/// of `src` against its [`estimate_background`], row by row, without a
/// full-size background image, written into `out` (resized to `w × h`) so
/// that the channel candidates of [`preprocess`] reuse one buffer: a fresh
/// 48 MB map per candidate of a 12 MP image cost more in page faults than in
/// arithmetic.
#[allow(clippy::too_many_arguments)]
fn flattened_into(
    src: &Source,
    channel: Channel,
    w: u32,
    h: u32,
    visible: &[u8],
    scale: PixelScale,
    cfg: &PreprocessConfig,
    out: &mut Vec<f32>,
) {
    let n = w as usize * h as usize;
    out.resize(n, 0.0);
    if n == 0 {
        return;
    }
    let wu = w as usize;
    let floats = |y: usize, row: &mut [f32]| src.fill(y * wu, channel, row);
    let bytes = |y: usize, row: &mut [u8]| src.fill_bytes(y * wu, channel, row);
    let rows = match src.byte_table(channel) {
        Some(lut) => Rows::Bytes(&bytes, lut),
        None => Rows::Floats(&floats),
    };
    let grid = BackgroundGrid::new(
        w,
        h,
        rows,
        visible,
        scale,
        cfg.background_window_um,
        cfg.background_cell_um,
    );
    let mut vals = vec![0f32; wu];
    for (y, row) in out.chunks_exact_mut(wu).enumerate() {
        grid.row(y as u32, row);
        src.fill(y * wu, channel, &mut vals);
        for (c, &v) in row.iter_mut().zip(&vals) {
            let b = *c;
            *c = (v - b) / b.max(0.05);
        }
    }
}

/// An integer that orders like [`f32::total_cmp`] (the transform it uses).
#[inline]
fn total_order_key(v: f32) -> i32 {
    let b = v.to_bits() as i32;
    b ^ ((((b >> 31) as u32) >> 1) as i32)
}

/// Inverse of [`total_order_key`] (the transform is its own inverse).
#[inline]
fn from_total_order_key(k: i32) -> f32 {
    f32::from_bits((k ^ ((((k >> 31) as u32) >> 1) as i32)) as u32)
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
    let mut sample = strided_sample(values, keep);
    let Some(med) = median_mut(&mut sample) else {
        return 0.0;
    };
    sample.iter_mut().for_each(|v| *v = (*v - med).abs());
    1.4826 * median_mut(&mut sample).unwrap_or(0.0)
}

/// Noise level of a flattened contrast map whose structures lie in one tail,
/// from one strided sample where `keep` is true: the smaller of the two
/// one-sided robust σ (1.4826 × the median deviation above, resp. below,
/// the median), floored at ¾ of the two-sided robust σ. Hairs covering a
/// third of a dense field inflate the usual two-sided MAD on their side; the
/// other side is skin. The floor keeps a clean skin side from setting levels
/// below the skin's own texture.
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
    sample.iter_mut().for_each(|v| *v = (*v - med).abs());
    let two_sided = 1.4826 * median_mut(&mut sample).unwrap_or(0.0);
    (1.4826 * a.min(b)).max(0.75 * two_sided)
}

/// Mass of each tail beyond 4 σ: (dark, light), in log contrast
/// `ln(I / B) = ln(1 + c)` (floored at `ln 0.02`).
///
/// The relative contrast `c = (I − B) / B` is bounded below by −1 but not
/// above: on dark skin a glint, a flake or a shaft's highlight reads +2 or
/// more, and a black hair −0.6 at most, so summed as they are, a few pale
/// specks outweigh every dark hair of the image. In log contrast an object
/// k times brighter than the skin weighs what one k times darker does.
fn tail_masses(c: &[f32], visible: &GrayImage, sigma: f32) -> (f64, f64) {
    let t = 4.0 * sigma.max(0.01);
    // Ratios well inside (e^−t, e^t) are in neither tail: their logarithm
    // is not taken (the margin, 0.1%, dwarfs `ln`'s rounding).
    let (inner_lo, inner_hi) = ((-t).exp() * 1.001, t.exp() * 0.999);
    let (mut dark, mut light) = (0f64, 0f64);
    for (i, &v) in c.iter().enumerate() {
        if visible.as_raw()[i] == 0 {
            continue;
        }
        let ratio = 1.0 + v;
        if ratio > inner_lo && ratio < inner_hi {
            continue;
        }
        let g = ratio.max(0.02).ln();
        if g < -t {
            dark += f64::from(-g - t);
        } else if g > t {
            light += f64::from(g - t);
        }
    }
    (dark, light)
}

/// [`super::qc::luma_histogram`] of the visible pixels of `src`, row by row.
fn luma_histogram(src: &Source, w: u32, visible: &[u8]) -> [u64; 256] {
    let mut hist = [0u64; 256];
    if w == 0 {
        return hist;
    }
    let mut vals = vec![0f32; w as usize];
    for (y, vis) in visible.chunks_exact(w as usize).enumerate() {
        src.fill(y * w as usize, Channel::Luma, &mut vals);
        super::qc::add_to_luma_histogram(&mut hist, vals.iter().copied(), vis);
    }
    hist
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
    let (w, h) = (image.width(), image.height());
    let px = Source::new(image);
    let (visible, overlay_px) = visibility(w, h, &px, scale, cfg);
    let luma_histogram = luma_histogram(&px, w, visible.as_raw());
    let is_gray = matches!(px, Source::Gray(_));
    let candidates: Vec<Channel> = match cfg.channel {
        Channel::Auto if !is_gray => {
            vec![Channel::Luma, Channel::Red, Channel::Green, Channel::Blue]
        }
        Channel::Auto => vec![Channel::Luma],
        c => vec![c],
    };
    let mut best: Option<(f64, Channel, Vec<f32>, f32, Polarity)> = None;
    // The channel where the other tail stands out most (channel only: its
    // map is made again if the pipeline looks for the other polarity).
    let mut best_other: Option<(f64, Channel)> = None;
    // The map of the candidate being scored; a losing candidate's buffer
    // serves the next one.
    let mut spare: Vec<f32> = Vec::new();
    for ch in candidates {
        let mut c = std::mem::take(&mut spare);
        flattened_into(&px, ch, w, h, visible.as_raw(), scale, cfg, &mut c);
        let keep = |i: usize| visible.as_raw()[i] != 0;
        let sigma = background_sigma(&c, keep);
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
        let (mass, other_mass) = if pol == Polarity::Light {
            (light, dark)
        } else {
            (dark, light)
        };
        // Contrast-to-noise score: structure mass in noise units.
        let score = mass / f64::from(sigma.max(0.005));
        let other_score = other_mass / f64::from(sigma.max(0.005));
        if best_other.is_none_or(|b| other_score > b.0) {
            best_other = Some((other_score, ch));
        }
        if best.as_ref().is_none_or(|b| score > b.0) {
            if let Some(old) = best.replace((score, ch, c, sigma, pol)) {
                spare = old.2;
            }
        } else {
            spare = c;
        }
    }
    drop(spare);
    let Some((_, channel, c, sigma, polarity)) = best else {
        return Err(Error::invalid_input("no channel to preprocess"));
    };
    // With a fixed polarity the other tail is not looked for.
    let other_channel = match (cfg.polarity, best_other) {
        (Polarity::Auto, Some((_, ch))) => ch,
        _ => channel,
    };
    let hairness = hairness_map(c, polarity, &visible);
    Ok(Preprocessed {
        hairness,
        noise_sigma: sigma,
        polarity,
        channel,
        other_channel,
        visible,
        luma_histogram,
        overlay_fraction: overlay_px as f64 / (f64::from(w) * f64::from(h)).max(1.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // On bluish skin (a white-balance cast) with a dark hair, a patch of
    // saturated blue ink is masked; a colour fringe of a few pixels, the
    // hair and the skin stay visible.
    #[test]
    fn foreign_colour_patches_masked() {
        let mut img = image::RgbImage::from_fn(200, 160, |x, y| {
            image::Rgb([100 + (x % 5) as u8, 93 + (y % 3) as u8, 124])
        });
        for y in 20..140 {
            for x in 30..40 {
                img.put_pixel(x, y, image::Rgb([40, 55, 90]));
            }
        }
        for y in 60..100 {
            for x in 120..160 {
                img.put_pixel(x, y, image::Rgb([60, 100, 210]));
            }
        }
        for y in 10..13 {
            for x in 180..183 {
                img.put_pixel(x, y, image::Rgb([60, 100, 210]));
            }
        }
        let img = DynamicImage::ImageRgb8(img);
        let scale = PixelScale::new(2.5).unwrap();
        let cfg = PreprocessConfig::default();
        let (vis, n) = visibility(200, 160, &Source::new(&img), scale, &cfg);
        let seen = |x, y| vis.get_pixel(x, y)[0] == 255;
        assert!(!seen(140, 80) && !seen(120, 60) && !seen(118, 80));
        assert!(seen(35, 80) && seen(181, 11) && seen(80, 80) && seen(115, 80));
        assert_eq!(n, 40 * 40);
        // Off, the ink is visible.
        let off = PreprocessConfig {
            foreign_colour_distance: 0.0,
            ..PreprocessConfig::default()
        };
        let (vis, n) = visibility(200, 160, &Source::new(&img), scale, &off);
        assert!(vis.get_pixel(140, 80)[0] == 255 && n == 0);
    }

    // A capture program's info panel (neutral gray box with white text) at
    // the top is masked whole; the same panel in mid-field, and a white
    // glare disc at the edge, are not (only their pure-white pixels are).
    #[test]
    fn overlay_panels_masked_at_the_edge_only() {
        let (w, h) = (400u32, 300u32);
        let mut img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([200 - (x % 7) as u8, 150 + (y % 5) as u8, 140])
        });
        let panel = |img: &mut image::RgbImage, x0: u32, y0: u32| {
            for y in y0..y0 + 30 {
                for x in x0..x0 + 120 {
                    // Text strokes: every fourth column in the middle rows.
                    let text = (y0 + 8..y0 + 22).contains(&y) && x % 4 == 0;
                    let v = if text { 255 } else { 80 };
                    img.put_pixel(x, y, image::Rgb([v, v, v]));
                }
            }
        };
        panel(&mut img, 20, 5);
        panel(&mut img, 140, 140);
        for y in 0..h {
            for x in 0..w {
                let d = ((f64::from(x) - 385.0).powi(2) + (f64::from(y) - 150.0).powi(2)).sqrt();
                if d < 10.0 {
                    img.put_pixel(x, y, image::Rgb([255, 255, 255]));
                } else if d < 12.0 {
                    img.put_pixel(x, y, image::Rgb([235, 235, 235]));
                }
            }
        }
        let img = DynamicImage::ImageRgb8(img);
        let cfg = PreprocessConfig::default();
        let (vis, _) = visibility(
            w,
            h,
            &Source::new(&img),
            PixelScale::new(2.5).unwrap(),
            &cfg,
        );
        // Panel at the top: background and text masked, with a margin.
        assert_eq!(vis.get_pixel(21, 6)[0], 0);
        assert_eq!(vis.get_pixel(61, 20)[0], 0);
        assert_eq!(vis.get_pixel(138, 36)[0], 0);
        // Mid-field panel: its gray stays visible.
        assert_eq!(vis.get_pixel(141, 141)[0], 255);
        // Glare disc: mostly white, so not a panel; the skin just beyond its
        // halo (3 px from the pure white) stays visible.
        assert_eq!(vis.get_pixel(385, 163)[0], 255);
        // Skin stays visible.
        assert_eq!(vis.get_pixel(300, 250)[0], 255);
        // Gray images have no colour to tell a panel by.
        let gray = DynamicImage::ImageLuma8(img.to_luma8());
        let (vis, _) = visibility(
            w,
            h,
            &Source::new(&gray),
            PixelScale::new(2.5).unwrap(),
            &cfg,
        );
        assert_eq!(vis.get_pixel(21, 6)[0], 255);
    }

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

    /// The background estimate as first written, pixel by pixel: the
    /// reference the row-wise version must reproduce exactly.
    fn estimate_background_reference(
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
        let cell = cell_px(w, h, scale, window_um, cell_um);
        let (cw, ch) = (w.div_ceil(cell), h.div_ceil(cell));
        let mut cells: Vec<Vec<f32>> = vec![Vec::new(); (cw * ch) as usize];
        for y in 0..h {
            let cy = y / cell;
            for x in 0..w {
                if visible.get_pixel(x, y)[0] == 0 {
                    continue;
                }
                cells[(cy * cw + x / cell) as usize].push(gray.get_pixel(x, y)[0]);
            }
        }
        let medians: Vec<f32> = cells
            .into_iter()
            .map(|c| median(c).unwrap_or(f32::NAN))
            .collect();
        let valid: Vec<f32> = medians.iter().copied().filter(|v| !v.is_nan()).collect();
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
                        let v = medians[(yy * cw as i64 + xx) as usize];
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

    proptest::proptest! {
        // Same bits as the reference, with masked pixels, masked cells and
        // windows larger than the image.
        #[test]
        fn background_matches_reference(w in 1u32..90, h in 1u32..90, seed in proptest::prelude::any::<u64>(),
                                         um in 1.0f64..12.0, window in 100.0f64..1600.0) {
            let g = crate::pipeline::testing::noise_image(w, h, seed, 0.0, 1.0);
            let mut rng = crate::pipeline::testing::XorShift::new(seed ^ 0x5eed);
            let vis = GrayImage::from_fn(w, h, |x, _| {
                Luma([if x % 7 == 3 && rng.next_u64().is_multiple_of(3) { 0 } else { 255 }])
            });
            let s = PixelScale::new(um).unwrap();
            let fast = estimate_background(&g, &vis, s, window, window / 20.0);
            let slow = estimate_background_reference(&g, &vis, s, window, window / 20.0);
            proptest::prop_assert_eq!(fast.as_raw(), slow.as_raw());
        }

        // The tails skip the logarithm only where it cannot reach them: the
        // same sums, bit for bit, as taking it everywhere.
        #[test]
        fn tail_masses_match_every_logarithm(n in 1usize..3000, seed in proptest::prelude::any::<u64>(),
                                             sigma in 0.0f32..0.3, spread in 0.01f32..3.0) {
            let mut rng = crate::pipeline::testing::XorShift::new(seed);
            let unit = |r: &mut crate::pipeline::testing::XorShift| (r.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
            let c: Vec<f32> = (0..n).map(|_| (unit(&mut rng) * 2.0 - 1.0) * spread).collect();
            let vis = GrayImage::from_fn(n as u32, 1, |x, _| Luma([if x % 5 == 2 { 0 } else { 255 }]));
            let t = 4.0 * sigma.max(0.01);
            let (mut dark, mut light) = (0f64, 0f64);
            for (i, &v) in c.iter().enumerate() {
                if i % 5 == 2 {
                    continue;
                }
                let g = (1.0 + v).max(0.02).ln();
                if g < -t {
                    dark += f64::from(-g - t);
                } else if g > t {
                    light += f64::from(g - t);
                }
            }
            let (d, l) = tail_masses(&c, &vis, sigma);
            proptest::prop_assert_eq!((d.to_bits(), l.to_bits()), (dark.to_bits(), light.to_bits()));
        }

        // A byte channel's grid from histograms has the same bits as from
        // selecting its values, with masked pixels and whole masked cells.
        #[test]
        fn byte_histogram_grid_matches_selection(w in 1u32..120, h in 1u32..120, seed in proptest::prelude::any::<u64>(),
                                                 um in 1.0f64..12.0, window in 100.0f64..1600.0, ch in 0usize..3,
                                                 levels in 1u64..=256) {
            let mut rng = crate::pipeline::testing::XorShift::new(seed);
            // Few distinct levels too, so that ties are common.
            let raw: Vec<u8> = (0..w * h * 3).map(|_| (rng.next_u64() % levels) as u8).collect();
            let img = image::RgbImage::from_raw(w, h, raw).unwrap();
            let vis: Vec<u8> = (0..w * h)
                .map(|i| if (i % w) < w / 3 && rng.next_u64().is_multiple_of(2) || i % 11 == 5 { 0 } else { 255 })
                .collect();
            let dyn_img = DynamicImage::ImageRgb8(img);
            let src = Source::new(&dyn_img);
            let channel = [Channel::Red, Channel::Green, Channel::Blue][ch];
            let wu = w as usize;
            let floats = |y: usize, row: &mut [f32]| src.fill(y * wu, channel, row);
            let bytes = |y: usize, row: &mut [u8]| src.fill_bytes(y * wu, channel, row);
            let lut = src.byte_table(channel).unwrap();
            let s = PixelScale::new(um).unwrap();
            let a = BackgroundGrid::new(w, h, Rows::Floats(&floats), &vis, s, window, window / 20.0);
            let b = BackgroundGrid::new(w, h, Rows::Bytes(&bytes, lut), &vis, s, window, window / 20.0);
            let bits = |g: &BackgroundGrid| g.coarse.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            proptest::prop_assert_eq!(bits(&a), bits(&b));
        }
    }

    // The row-wise flattening equals background estimation on the gray
    // plane followed by the relative contrast, pixel for pixel.
    #[test]
    fn flattening_matches_plane_then_background() {
        let img = image::RgbImage::from_fn(150, 97, |x, y| {
            image::Rgb([
                (x * 7 % 251) as u8,
                (y * 13 % 241) as u8,
                ((x * y) % 239) as u8,
            ])
        });
        let img = DynamicImage::ImageRgb8(img);
        let cfg = PreprocessConfig {
            channel: Channel::Green,
            polarity: Polarity::Light,
            // Its pattern's colours are all foreign to one another.
            foreign_colour_distance: 0.0,
            ..PreprocessConfig::default()
        };
        let s = PixelScale::new(4.0).unwrap();
        let p = preprocess(&img, s, &cfg).unwrap();
        let g = gray_f32(&img, Channel::Green);
        let bg = estimate_background(
            &g,
            &p.visible,
            s,
            cfg.background_window_um,
            cfg.background_cell_um,
        );
        let px = p.hairness.as_raw().iter().zip(g.as_raw()).zip(bg.as_raw());
        let mut checked = 0;
        for (((&h, &i), &b), &v) in px.zip(p.visible.as_raw()) {
            if v != 0 {
                assert_eq!(h, (i - b) / b.max(0.05));
                checked += 1;
            }
        }
        assert!(checked > 10_000);
    }

    // An empty image is preprocessed to empty maps, not a panic.
    #[test]
    fn empty_images_do_not_panic() {
        for (w, h) in [(0, 5), (5, 0), (0, 0)] {
            for img in [
                DynamicImage::ImageRgb8(image::RgbImage::new(w, h)),
                DynamicImage::ImageLuma8(image::GrayImage::new(w, h)),
            ] {
                let p = preprocess(
                    &img,
                    PixelScale::new(5.0).unwrap(),
                    &PreprocessConfig::default(),
                )
                .unwrap();
                assert!(p.hairness.as_raw().is_empty());
                let s = PixelScale::new(5.0).unwrap();
                let m = super::super::segment::segment(&p, s, &Default::default()).unwrap();
                assert!(m.0.as_raw().is_empty());
                assert!(super::super::filter::gaussian_blur(&p.hairness, 2.0)
                    .as_raw()
                    .is_empty());
                assert!(super::super::filter::dilate_square(&m.0, 3)
                    .as_raw()
                    .is_empty());
            }
        }
    }

    // The integer keys order like total_cmp and map back to the same float.
    #[test]
    fn total_order_keys_round_trip_and_order() {
        let v = [
            -3.5f32,
            -0.0,
            0.0,
            1e-30,
            0.25,
            7.0,
            f32::MIN,
            f32::MAX,
            -1e-30,
        ];
        for a in v {
            assert_eq!(
                from_total_order_key(total_order_key(a)).to_bits(),
                a.to_bits()
            );
            for b in v {
                assert_eq!(total_order_key(a).cmp(&total_order_key(b)), a.total_cmp(&b));
            }
        }
    }

    // Dark skin with mild noise, eight black shafts (a third of the skin's
    // brightness) and pale discs (flakes, glints: almost four times as
    // bright) of 0.6 of the shafts' area. Summed in relative contrast (+2.8
    // against −0.67) the discs weigh 2.5 times the shafts; in log contrast
    // (1.34 against 1.10) 0.7 times: the image's hairs are dark.
    #[test]
    fn polarity_weighs_dark_and_light_alike() {
        let mut state = 7u32;
        let mut img = image::GrayImage::from_fn(400, 300, |_, _| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            image::Luma([57 + (state >> 29) as u8])
        });
        for k in 0..8u32 {
            for y in 40..240 {
                for x in 20 + 45 * k..26 + 45 * k {
                    img.put_pixel(x, y, image::Luma([20]));
                }
            }
        }
        for k in 0..8i32 {
            let (cx, cy) = (40 + 45 * k, 272i32);
            for y in cy - 16..cy + 16 {
                for x in cx - 16..cx + 16 {
                    if (x - cx).pow(2) + (y - cy).pow(2) <= 15 * 15 {
                        img.put_pixel(x as u32, y as u32, image::Luma([230]));
                    }
                }
            }
        }
        let p = preprocess(
            &DynamicImage::ImageLuma8(img),
            PixelScale::new(5.0).unwrap(),
            &PreprocessConfig::default(),
        )
        .unwrap();
        assert_eq!(p.polarity, Polarity::Dark);
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

    // The other polarity's map read from the one channel kept of an owned
    // 8-bit RGB image is the map read from the whole image, bit for bit;
    // a gray image's other map is its main map negated, read from nothing.
    #[test]
    fn kept_channel_reads_as_the_image() {
        let mut img = image::RgbImage::from_fn(160, 120, |x, y| {
            let n = |k: u32| ((x * 7 + y * 13 + k * 5) % 11) as u8;
            image::Rgb([190 + n(0), 135 + n(1), 112 + n(2)])
        });
        for y in 10..110 {
            for x in 30..34 {
                img.put_pixel(x, y, image::Rgb([45, 32, 30]));
            }
            for x in 70..73 {
                img.put_pixel(x, y, image::Rgb([196, 140, 235]));
            }
        }
        let img = DynamicImage::ImageRgb8(img);
        let (scale, cfg) = (PixelScale::new(5.0).unwrap(), PreprocessConfig::default());
        let bits = |m: &GrayF32| m.as_raw().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        for (main, other) in [
            (Channel::Green, Channel::Blue),
            (Channel::Luma, Channel::Red),
            (Channel::Blue, Channel::Green),
        ] {
            let mut p = preprocess(&img, scale, &cfg).unwrap();
            (p.channel, p.other_channel) = (main, other);
            let kept = p.other_pixels(Cow::Owned(img.clone()));
            assert!(matches!(kept, OtherPixels::Plane(_)));
            let from_plane = p.opposite_from(&kept, scale, &cfg);
            let from_image = p.opposite_in(&img, scale, &cfg);
            assert_eq!(from_plane.channel, other);
            assert_eq!(
                from_plane.noise_sigma.to_bits(),
                from_image.noise_sigma.to_bits()
            );
            assert_eq!(bits(&from_plane.hairness), bits(&from_image.hairness));
            // Taken rather than read, the same map; the main one is released.
            let taken = p.take_opposite(&kept, scale, &cfg);
            assert_eq!(bits(&taken.hairness), bits(&from_image.hairness));
            assert_eq!(p.hairness.dimensions(), (0, 0));
        }
        let mut p = preprocess(&img, scale, &cfg).unwrap();
        (p.channel, p.other_channel) = (Channel::Red, Channel::Luma);
        // Luma needs all three channels; a borrowed image is read in place.
        assert!(matches!(
            p.other_pixels(Cow::Owned(img.clone())),
            OtherPixels::Image(_)
        ));
        p.other_channel = Channel::Blue;
        assert!(matches!(
            p.other_pixels(Cow::Borrowed(&img)),
            OtherPixels::Image(_)
        ));
        let gray = DynamicImage::ImageLuma8(img.to_luma8());
        let mut pg = preprocess(&gray, scale, &cfg).unwrap();
        let kept = pg.other_pixels(Cow::Owned(gray));
        assert!(matches!(kept, OtherPixels::Negated));
        let negated = pg.opposite();
        let taken = pg.take_opposite(&kept, scale, &cfg);
        assert_eq!(taken.polarity, negated.polarity);
        assert_eq!(bits(&taken.hairness), bits(&negated.hairness));
        assert_eq!(pg.hairness.dimensions(), (0, 0));
    }
}
