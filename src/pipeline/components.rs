//! Connected components and look-alike rejection.
//!
//! Stage 3 of the pipeline. In: a [`HairMask`] and the hairness map. Out:
//! [`Labels`], one [`Component`] per label with features in physical units,
//! and a verdict per component ([`reject_reason`]): `None` for a hair
//! candidate, or a short reason (`round_dot`, `tattoo_dot`, `bubble`,
//! `flake`, `texture_line`, `too_small`, `too_short`, `too_large`).

use image::{ImageBuffer, Luma};
use serde::{Deserialize, Serialize};

use super::preprocess::{GrayF32, Preprocessed};
use super::segment::HairMask;
use super::skeleton::{skeleton_length, zhang_suen};
use crate::calibrate::PixelScale;
use crate::error::{Error, Result};

/// Pixel connectivity for labelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Connectivity {
    /// 4-connected (edges only).
    Four,
    /// 8-connected (edges and corners).
    Eight,
}

/// Component settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ComponentConfig {
    /// Labelling connectivity. Default: `eight`.
    pub connectivity: Connectivity,
    /// Components with area below this are specks (`too_small`), µm². Default: 500 µm².
    pub min_area_um2: f64,
    /// Components with area above this are not hairs (`too_large`), µm². Default: 4 000 000 µm² (4 mm²).
    pub max_area_um2: f64,
    /// Shortest candidate shaft (skeleton length plus end caps), µm (`too_short`
    /// if below). Default: 100 µm.
    pub min_length_um: f64,
    /// Smallest length / mean width of a shaft; rounder components are dots,
    /// openings, flakes or bubbles. Default: 3.
    pub min_elongation: f64,
    /// Widest plausible single band of hair (up to four touching shafts), µm;
    /// wider, rounder components are flakes. Default: 400 µm.
    pub max_width_um: f64,
    /// Round dots at least this wide (equivalent diameter) and very dark are
    /// tattoo dots, µm. Default: 300 µm.
    pub tattoo_min_diameter_um: f64,
    /// Largest tattoo dot, µm. Default: 1 500 µm.
    pub tattoo_max_diameter_um: f64,
    /// Lowest relative contrast (90th percentile) of a tattoo dot. Default: 0.5.
    pub tattoo_min_contrast: f64,
    /// Fraction of the filled area that is enclosed holes at or above which a
    /// component is a bubble (dark rim around a bright centre). Default: 0.15.
    pub bubble_min_hole_fraction: f64,
    /// Wiggly components (skeleton length / Feret diameter above this) with low
    /// contrast are skin texture lines. Default: 1.6.
    pub texture_max_tortuosity: f64,
    /// "Low contrast" for texture lines: mean contrast below this many noise σ. Default: 4.
    pub texture_max_contrast_sigma: f64,
}

impl Default for ComponentConfig {
    fn default() -> Self {
        ComponentConfig {
            connectivity: Connectivity::Eight,
            min_area_um2: 500.0,
            max_area_um2: 4_000_000.0,
            min_length_um: 100.0,
            min_elongation: 3.0,
            max_width_um: 400.0,
            tattoo_min_diameter_um: 300.0,
            tattoo_max_diameter_um: 1500.0,
            tattoo_min_contrast: 0.5,
            bubble_min_hole_fraction: 0.15,
            texture_max_tortuosity: 1.6,
            texture_max_contrast_sigma: 4.0,
        }
    }
}

impl ComponentConfig {
    /// Checks the settings.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Config`] naming the invalid field.
    pub fn validate(&self) -> Result<()> {
        let pos = crate::config::require_positive;
        pos(self.min_area_um2, "components.min_area_um2")?;
        pos(self.max_area_um2, "components.max_area_um2")?;
        pos(self.min_length_um, "components.min_length_um")?;
        pos(self.min_elongation, "components.min_elongation")?;
        pos(self.max_width_um, "components.max_width_um")?;
        pos(
            self.tattoo_min_diameter_um,
            "components.tattoo_min_diameter_um",
        )?;
        pos(
            self.tattoo_max_diameter_um,
            "components.tattoo_max_diameter_um",
        )?;
        pos(self.tattoo_min_contrast, "components.tattoo_min_contrast")?;
        pos(
            self.bubble_min_hole_fraction,
            "components.bubble_min_hole_fraction",
        )?;
        pos(
            self.texture_max_tortuosity,
            "components.texture_max_tortuosity",
        )?;
        pos(
            self.texture_max_contrast_sigma,
            "components.texture_max_contrast_sigma",
        )?;
        if self.max_area_um2 <= self.min_area_um2 {
            return Err(Error::config(
                "components.max_area_um2",
                "must exceed components.min_area_um2",
            ));
        }
        if self.tattoo_max_diameter_um < self.tattoo_min_diameter_um {
            return Err(Error::config(
                "components.tattoo_max_diameter_um",
                "must be at least components.tattoo_min_diameter_um",
            ));
        }
        Ok(())
    }
}

/// Label image: 0 = background, components `1..=count` in raster order of
/// each component's first pixel.
#[derive(Debug, Clone, PartialEq)]
pub struct Labels {
    /// The label of every pixel.
    pub image: ImageBuffer<Luma<u32>, Vec<u32>>,
    /// Number of components.
    pub count: u32,
}

/// Labels the connected components of a mask.
///
/// # Examples
/// ```
/// use trichometry::pipeline::{components::{label, Connectivity}, segment::HairMask};
/// // A diagonal pair is one component under Eight, two under Four.
/// let m = HairMask(image::GrayImage::from_raw(2, 2, vec![255, 0, 0, 255]).unwrap());
/// assert_eq!(label(&m, Connectivity::Eight).count, 1);
/// assert_eq!(label(&m, Connectivity::Four).count, 2);
/// ```
///
/// # References
/// Rosenfeld A., Pfaltz J. L. (1966) Sequential operations in digital picture
/// processing. J. ACM 13(4):471–494. doi:10.1145/321356.321357
pub fn label(mask: &HairMask, conn: Connectivity) -> Labels {
    let (w, h) = mask.0.dimensions();
    let (wu, hu) = (w as usize, h as usize);
    let m = mask.0.as_raw();
    let mut prov = vec![0u32; wu * hu];
    // Union-find over provisional labels (index 0 unused).
    let mut parent: Vec<u32> = vec![0];
    fn find(p: &mut [u32], mut i: u32) -> u32 {
        while p[i as usize] != i {
            let g = p[p[i as usize] as usize];
            p[i as usize] = g;
            i = g;
        }
        i
    }
    for y in 0..hu {
        for x in 0..wu {
            let i = y * wu + x;
            if m[i] == 0 {
                continue;
            }
            let mut neigh = [0u32; 4];
            let mut k = 0;
            if x > 0 && prov[i - 1] != 0 {
                neigh[k] = prov[i - 1];
                k += 1;
            }
            if y > 0 {
                if prov[i - wu] != 0 {
                    neigh[k] = prov[i - wu];
                    k += 1;
                }
                if conn == Connectivity::Eight {
                    if x > 0 && prov[i - wu - 1] != 0 {
                        neigh[k] = prov[i - wu - 1];
                        k += 1;
                    }
                    if x + 1 < wu && prov[i - wu + 1] != 0 {
                        neigh[k] = prov[i - wu + 1];
                        k += 1;
                    }
                }
            }
            if k == 0 {
                let l = parent.len() as u32;
                parent.push(l);
                prov[i] = l;
            } else {
                let mut r = find(&mut parent, neigh[0]);
                for &n in &neigh[1..k] {
                    let rn = find(&mut parent, n);
                    if rn != r {
                        let (a, b) = (r.min(rn), r.max(rn));
                        parent[b as usize] = a;
                        r = a;
                    }
                }
                prov[i] = r;
            }
        }
    }
    // Final labels 1..=count in raster order of first pixel.
    let mut final_of = vec![0u32; parent.len()];
    let mut count = 0u32;
    for v in prov.iter_mut() {
        if *v == 0 {
            continue;
        }
        let r = find(&mut parent, *v) as usize;
        if final_of[r] == 0 {
            count += 1;
            final_of[r] = count;
        }
        *v = final_of[r];
    }
    let image = ImageBuffer::from_raw(w, h, prov).unwrap_or_else(|| ImageBuffer::new(w, h));
    Labels { image, count }
}

/// One connected component with its features.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    /// Label in the [`Labels`] image.
    pub label: u32,
    /// `[x_min, y_min, x_max, y_max]`, pixels, inclusive.
    pub bbox: [u32; 4],
    /// Pixels of the component, `(x, y)`.
    pub pixels: Vec<(u32, u32)>,
    /// Area, µm².
    pub area_um2: f64,
    /// Skeleton pixels `(x, y)` (empty when the component was rejected before thinning).
    pub skeleton: Vec<(u32, u32)>,
    /// Skeleton length plus one mean width (the two end caps thinning removes), µm.
    pub length_um: f64,
    /// Mean width = area / length, µm.
    pub width_um: f64,
    /// Length / mean width.
    pub elongation: f64,
    /// Skeleton length / maximum Feret diameter (1 = straight).
    pub tortuosity: f64,
    /// Mean relative contrast of the component's pixels.
    pub mean_contrast: f32,
    /// 90th percentile of relative contrast.
    pub p90_contrast: f32,
    /// Enclosed holes / (area + holes).
    pub hole_fraction: f64,
}

impl Component {
    /// Diameter of the disc with the component's area, µm.
    pub fn equivalent_diameter_um(&self) -> f64 {
        (4.0 * self.area_um2 / std::f64::consts::PI).sqrt()
    }

    /// Is the filled outline (pixels plus enclosed holes) roughly a disc or a
    /// square, rather than a mesh of crossing shafts? True when it fills at
    /// least 55% of its bounding box and the box is at most twice as long as wide.
    pub fn is_compact(&self) -> bool {
        let bw = f64::from(self.bbox[2] - self.bbox[0] + 1);
        let bh = f64::from(self.bbox[3] - self.bbox[1] + 1);
        let filled = self.pixels.len() as f64 / (1.0 - self.hole_fraction).max(1e-6);
        filled >= 0.55 * bw * bh && bw.max(bh) <= 2.0 * bw.min(bh)
    }

    /// Centroid `(x, y)` in pixels.
    pub fn centroid(&self) -> (f64, f64) {
        let n = self.pixels.len().max(1) as f64;
        let sx: f64 = self.pixels.iter().map(|p| f64::from(p.0)).sum();
        let sy: f64 = self.pixels.iter().map(|p| f64::from(p.1)).sum();
        (sx / n, sy / n)
    }
}

/// Collects each label's pixels (index `label - 1`).
pub fn pixels_by_label(labels: &Labels) -> Vec<Vec<(u32, u32)>> {
    let mut out = vec![Vec::new(); labels.count as usize];
    for (x, y, l) in labels.image.enumerate_pixels() {
        if l[0] > 0 {
            out[l[0] as usize - 1].push((x, y));
        }
    }
    out
}

fn bbox_of(px: &[(u32, u32)]) -> [u32; 4] {
    let mut b = [u32::MAX, u32::MAX, 0, 0];
    for &(x, y) in px {
        b[0] = b[0].min(x);
        b[1] = b[1].min(y);
        b[2] = b[2].max(x);
        b[3] = b[3].max(y);
    }
    b
}

/// Computes a component's features. Thinning runs only when `thin` is true
/// (the caller skips it for specks and huge regions).
pub fn features(
    label: u32,
    pixels: Vec<(u32, u32)>,
    hairness: &GrayF32,
    scale: PixelScale,
    thin: bool,
) -> Component {
    let bbox = bbox_of(&pixels);
    let area_px = pixels.len() as f64;
    let area_um2 = area_px * scale.um_per_px() * scale.um_per_px();
    let mut contrasts: Vec<f32> = pixels
        .iter()
        .map(|&(x, y)| hairness.get_pixel(x, y)[0])
        .collect();
    let mean_contrast = contrasts.iter().sum::<f32>() / contrasts.len().max(1) as f32;
    let p90_contrast = if contrasts.is_empty() {
        0.0
    } else {
        let k = (contrasts.len() * 9 / 10).min(contrasts.len() - 1);
        *contrasts.select_nth_unstable_by(k, |a, b| a.total_cmp(b)).1
    };
    let mut c = Component {
        label,
        bbox,
        pixels,
        area_um2,
        skeleton: Vec::new(),
        length_um: 0.0,
        width_um: 0.0,
        elongation: 0.0,
        tortuosity: 1.0,
        mean_contrast,
        p90_contrast,
        hole_fraction: 0.0,
    };
    if !thin {
        return c;
    }
    // Padded crop.
    let (x0, y0) = (bbox[0] as usize, bbox[1] as usize);
    let w = bbox[2] as usize - x0 + 3;
    let h = bbox[3] as usize - y0 + 3;
    let mut crop = vec![false; w * h];
    for &(x, y) in &c.pixels {
        crop[(y as usize - y0 + 1) * w + (x as usize - x0 + 1)] = true;
    }
    // Holes: background not 4-connected to the crop border.
    let mut outside = vec![false; w * h];
    let mut stack: Vec<usize> = Vec::new();
    for i in 0..w * h {
        let (x, y) = (i % w, i / w);
        if (x == 0 || y == 0 || x == w - 1 || y == h - 1) && !crop[i] {
            outside[i] = true;
            stack.push(i);
        }
    }
    while let Some(i) = stack.pop() {
        let (x, y) = (i % w, i / w);
        let mut push = |j: usize| {
            if !crop[j] && !outside[j] {
                outside[j] = true;
                stack.push(j);
            }
        };
        if x > 0 {
            push(i - 1);
        }
        if x + 1 < w {
            push(i + 1);
        }
        if y > 0 {
            push(i - w);
        }
        if y + 1 < h {
            push(i + w);
        }
    }
    let holes = (0..w * h).filter(|&i| !crop[i] && !outside[i]).count() as f64;
    c.hole_fraction = holes / (holes + area_px).max(1.0);
    zhang_suen(&mut crop, w, h);
    c.skeleton = (0..w * h)
        .filter(|&i| crop[i])
        .map(|i| ((i % w + x0 - 1) as u32, (i / w + y0 - 1) as u32))
        .collect();
    let skel_px = skeleton_length(&c.skeleton);
    // Mean width from area over skeleton length, with end caps of one width.
    // Solve area = w·(L + w) for w ≥ 0.
    let wpx = (-skel_px + (skel_px * skel_px + 4.0 * area_px).sqrt()) / 2.0;
    let len_px = skel_px + wpx;
    c.length_um = scale.px_to_um(len_px);
    c.width_um = scale.px_to_um(wpx);
    c.elongation = if wpx > 0.0 { len_px / wpx } else { 0.0 };
    // Maximum Feret diameter approximated over 16 directions.
    let mut feret = 0f64;
    for k in 0..16 {
        let a = std::f64::consts::PI * f64::from(k) / 16.0;
        let (ca, sa) = (a.cos(), a.sin());
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for &(x, y) in &c.skeleton {
            let p = f64::from(x) * ca + f64::from(y) * sa;
            lo = lo.min(p);
            hi = hi.max(p);
        }
        if hi >= lo {
            feret = feret.max(hi - lo);
        }
    }
    c.tortuosity = if feret > 0.0 {
        (skel_px / feret).max(1.0)
    } else {
        1.0
    };
    c
}

/// Why a component is not a hair candidate, or `None` if it is one.
///
/// Checks in order: `too_small`, `too_large` (area); `bubble` (a rim
/// enclosing a bright centre); `tattoo_dot` (round, 300–1500 µm, very dark);
/// `flake` (round or wide and pale); `round_dot` (other round blobs: empty
/// openings, pigment dots, specks); `too_short`; `texture_line` (wiggly and
/// low contrast). Loose clippings are told from hairs later, by their ends.
///
/// # Examples
/// ```
/// use trichometry::{PixelScale, pipeline::components::*};
/// let hn = trichometry::pipeline::preprocess::GrayF32::from_pixel(30, 30, image::Luma([0.6]));
/// let disc: Vec<(u32, u32)> = (0..900u32).map(|i| (i % 30, i / 30))
///     .filter(|&(x, y)| (x as i32 - 15).pow(2) + (y as i32 - 15).pow(2) <= 100).collect();
/// let c = features(1, disc, &hn, PixelScale::new(5.0).unwrap(), true);
/// assert_eq!(reject_reason(&c, &ComponentConfig::default(), 0.02, true), Some("round_dot"));
/// ```
pub fn reject_reason(
    c: &Component,
    cfg: &ComponentConfig,
    noise_sigma: f32,
    dark: bool,
) -> Option<&'static str> {
    if c.area_um2 < cfg.min_area_um2 {
        return Some("too_small");
    }
    if c.area_um2 > cfg.max_area_um2 {
        return Some("too_large");
    }
    let round = c.elongation < cfg.min_elongation;
    if c.hole_fraction >= cfg.bubble_min_hole_fraction && c.is_compact() {
        return Some("bubble");
    }
    if round {
        let d = c.equivalent_diameter_um();
        if dark
            && d >= cfg.tattoo_min_diameter_um
            && d <= cfg.tattoo_max_diameter_um
            && f64::from(c.p90_contrast) >= cfg.tattoo_min_contrast
        {
            return Some("tattoo_dot");
        }
        if c.width_um > cfg.max_width_um * 0.5 && f64::from(c.mean_contrast) < 0.3 {
            return Some("flake");
        }
        return Some("round_dot");
    }
    if c.width_um > cfg.max_width_um {
        return Some("flake");
    }
    if c.length_um < cfg.min_length_um {
        return Some("too_short");
    }
    let low = f64::from(c.mean_contrast) < cfg.texture_max_contrast_sigma * f64::from(noise_sigma);
    if low && c.tortuosity > cfg.texture_max_tortuosity {
        return Some("texture_line");
    }
    None
}

/// Runs stage 3: labels the mask, computes features, and returns every
/// component with its rejection reason (`None` = hair candidate).
///
/// # Errors
/// [`crate::ErrorKind::Config`] on an invalid configuration.
pub fn components(
    mask: &HairMask,
    pre: &Preprocessed,
    scale: PixelScale,
    cfg: &ComponentConfig,
) -> Result<Vec<(Component, Option<&'static str>)>> {
    cfg.validate()?;
    let labels = label(mask, cfg.connectivity);
    let dark = pre.polarity != super::preprocess::Polarity::Light;
    let mut out = Vec::new();
    for (i, px) in pixels_by_label(&labels).into_iter().enumerate() {
        let area = px.len() as f64 * scale.um_per_px() * scale.um_per_px();
        let thin = area >= cfg.min_area_um2 && area <= cfg.max_area_um2;
        let c = features(i as u32 + 1, px, &pre.hairness, scale, thin);
        let r = reject_reason(&c, cfg, pre.noise_sigma, dark);
        out.push((c, r));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // A 10×10 chessboard is 1 component under Eight and 50 under Four (counted by hand).
    #[test]
    fn chessboard_connectivity() {
        let m = HairMask(image::GrayImage::from_fn(10, 10, |x, y| {
            Luma([if (x + y) % 2 == 0 { 255 } else { 0 }])
        }));
        assert_eq!(label(&m, Connectivity::Eight).count, 1);
        assert_eq!(label(&m, Connectivity::Four).count, 50);
    }

    // Labels are 1..=count in raster order of each component's first pixel.
    #[test]
    fn labels_in_raster_order() {
        // A U shape whose right arm starts first on row 0 would merge late.
        let rows = ["#.#.", "#.#.", "###.", "...#"];
        let m = HairMask(image::GrayImage::from_fn(4, 4, |x, y| {
            Luma([if rows[y as usize].as_bytes()[x as usize] == b'#' {
                255
            } else {
                0
            }])
        }));
        let l = label(&m, Connectivity::Four);
        assert_eq!(l.count, 2);
        assert_eq!(l.image.get_pixel(0, 0)[0], 1);
        assert_eq!(l.image.get_pixel(2, 0)[0], 1);
        assert_eq!(l.image.get_pixel(3, 3)[0], 2);
    }
}
