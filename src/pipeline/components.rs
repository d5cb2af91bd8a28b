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
    /// Components with area above this are not hairs (`too_large`), µm²,
    /// unless they are a mesh of thin shafts (mean width, twice the area over
    /// the boundary length, at most `max_width_um`): a tangle of crossing
    /// hairs, which the counting stage splits. Default: 4 000 000 µm² (4 mm²).
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
    /// Enclosed background thinner than this (its area over the longest
    /// side of its box), µm, is a crack and is filled before thinning: the
    /// specular highlight along a dark shaft's axis thresholds as a thin,
    /// broken crack, which thinning would turn into a loop and counting
    /// into two shafts. Only the skeleton sees the fill (area, holes and
    /// pixels are unchanged). 0 turns it off. Default: 6 µm (a pixel or two
    /// at 2.5–5 µm/px; at coarser pixels, where a one-pixel gap may be skin
    /// between two hairs, nothing is filled). Measured on real 70×
    /// photographs (2.5 µm/px assumed), with `crack_max_band_um`: the mean
    /// absolute count error of 992 training images went from 3.49 to 3.16
    /// hairs, of 270 validation images from 3.59 to 3.05, of the first 60
    /// validation images from 3.00 to 3.25 (box F1 0.538 → 0.543, 0.525 →
    /// 0.525, 0.529 → 0.520); on 72 synthetic images the density MAPE went
    /// from 27.9% to 27.6%, with 13 fewer true and 9 fewer false hairs.
    pub crack_max_width_um: f64,
    /// Largest crack filled, µm². Default: 2 000 µm².
    pub crack_max_area_um2: f64,
    /// Widest band (shaft and crack, across the crack) in which a crack is
    /// filled, µm: the widest terminal shafts are about 120 µm, so a wider
    /// band holds two shafts and its thin enclosed sliver is the gap where
    /// they cross at a small angle. Default: 140 µm.
    pub crack_max_band_um: f64,
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
            crack_max_width_um: 6.0,
            crack_max_area_um2: 2000.0,
            crack_max_band_um: 140.0,
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
        let non_negative = crate::config::require_non_negative;
        non_negative(self.crack_max_width_um, "components.crack_max_width_um")?;
        non_negative(self.crack_max_area_um2, "components.crack_max_area_um2")?;
        non_negative(self.crack_max_band_um, "components.crack_max_band_um")?;
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

/// Mean width of a pixel set as twice its area over its boundary length,
/// pixels: about the shaft width for a mesh of thin shafts, about the radius
/// for a disc. The boundary is counted as pixel edges between the set and
/// the rest (4-neighbours); a shaft of length L has about 2L of them. Cheap
/// enough to screen a very large component before thinning it.
///
/// ```
/// use trichometry::pipeline::components::boundary_width_px;
/// // A 100 × 6 bar: area 600, boundary 212 edges.
/// let bar: Vec<(u32, u32)> = (0..600u32).map(|i| (i % 100, i / 100)).collect();
/// assert!((boundary_width_px(&bar) - 5.66).abs() < 0.01);
/// ```
pub fn boundary_width_px(pixels: &[(u32, u32)]) -> f64 {
    if pixels.is_empty() {
        return 0.0;
    }
    let (on, w, h) = padded_crop(pixels, bbox_of(pixels));
    let mut edges = 0usize;
    for i in w..w * (h - 1) {
        if on[i] {
            edges += [i - 1, i + 1, i - w, i + w]
                .iter()
                .filter(|&&j| !on[j])
                .count();
        }
    }
    2.0 * pixels.len() as f64 / edges.max(1) as f64
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

/// `pixels` as a row-major bitmap of their box `bbox` (inclusive) with a
/// one-pixel frame of `false` around it: the bitmap, its width and height.
fn padded_crop(pixels: &[(u32, u32)], bbox: [u32; 4]) -> (Vec<bool>, usize, usize) {
    let (x0, y0) = (bbox[0] as usize, bbox[1] as usize);
    let w = bbox[2] as usize - x0 + 3;
    let h = bbox[3] as usize - y0 + 3;
    let mut crop = vec![false; w * h];
    for &(x, y) in pixels {
        crop[(y as usize - y0 + 1) * w + (x as usize - x0 + 1)] = true;
    }
    (crop, w, h)
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

/// Fills the cracks of a padded crop (`on`, `w` wide, row-major): regions of
/// background 4-connected among themselves, not `outside` (reachable from
/// the crop's border), of at most `max_area_px` pixels, at most
/// `max_width_px` thick (area over the longest side of the region's box),
/// and lying in a band at most `max_band_px` wide (the run of shaft and
/// crack across the region's principal axis, through its pixel nearest to
/// its centroid). A highlight crack lies inside one shaft: one or two pixels
/// thick, in a band one shaft wide. A sliver enclosed by two shafts
/// crossing at a small angle can be as thin, but lies in a band two shafts
/// wide.
///
/// # Examples
/// ```
/// use trichometry::pipeline::components::fill_cracks;
/// // A 7×5 crop: a bar with a one-pixel crack (row 2, columns 2..=4).
/// let rows = ["       ", " ##### ", " #   # ", " ##### ", "       "];
/// let mut on: Vec<bool> = rows.concat().chars().map(|c| c == '#').collect();
/// let outside: Vec<bool> = (0..35).map(|i| !on[i] && (i < 7 || i >= 28 || i % 7 == 0 || i % 7 == 6)).collect();
/// fill_cracks(&mut on, &outside, 7, 1.5, 10, 5.0);
/// assert!(on[2 * 7 + 3]);
/// ```
pub fn fill_cracks(
    on: &mut [bool],
    outside: &[bool],
    w: usize,
    max_width_px: f64,
    max_area_px: usize,
    max_band_px: f64,
) {
    if max_width_px <= 0.0 || max_area_px == 0 || w < 3 || outside.len() != on.len() {
        return;
    }
    let h = on.len() / w;
    let mut seen = outside.to_vec();
    let mut stack: Vec<usize> = Vec::new();
    let mut region: Vec<usize> = Vec::new();
    for start in 0..on.len() {
        if on[start] || seen[start] {
            continue;
        }
        region.clear();
        seen[start] = true;
        stack.push(start);
        let (mut x0, mut x1, mut y0, mut y1) = (usize::MAX, 0, usize::MAX, 0);
        // Background reaching the crop's border is not enclosed (`outside`
        // should already hold it; this keeps a partial one safe).
        let mut open = false;
        while let Some(i) = stack.pop() {
            region.push(i);
            let (x, y) = (i % w, i / w);
            (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
            if x == 0 || y == 0 || x + 1 == w || y + 1 == h {
                open = true;
                continue;
            }
            for j in [i - 1, i + 1, i - w, i + w] {
                if !on[j] && !seen[j] {
                    seen[j] = true;
                    stack.push(j);
                }
            }
        }
        let side = (x1 - x0 + 1).max(y1 - y0 + 1) as f64;
        if open || region.len() > max_area_px || region.len() as f64 / side > max_width_px {
            continue;
        }
        for &i in &region {
            on[i] = true;
        }
        if band_across(on, w, &region) > max_band_px {
            for &i in &region {
                on[i] = false;
            }
        }
    }
}

/// Width in pixels of the run of `on` pixels through `region` across its
/// principal axis (Gonzalez R. C., Woods R. E., Digital Image Processing,
/// 4th ed., §11.4: principal axes from the second moments), starting at the
/// region's pixel nearest to its centroid and stepping half a pixel each
/// way until leaving `on` or the crop. `region` must be non-empty and `on`.
fn band_across(on: &[bool], w: usize, region: &[usize]) -> f64 {
    let at = |i: usize| ((i % w) as f64, (i / w) as f64);
    let Some(([mx, my], theta)) = super::measure::principal_axis(region.iter().map(|&i| {
        let (x, y) = at(i);
        [x, y]
    })) else {
        return 0.0;
    };
    let (vx, vy) = (-theta.sin(), theta.cos());
    let d2 = |i: usize| (at(i).0 - mx).powi(2) + (at(i).1 - my).powi(2);
    let mid = region
        .iter()
        .copied()
        .min_by(|&a, &b| d2(a).total_cmp(&d2(b)))
        .map_or((mx, my), at);
    let h = on.len() / w;
    let mut band = 0.0;
    for sign in [1.0f64, -1.0] {
        let mut d = 0.0f64;
        loop {
            let (x, y) = (
                (mid.0 + sign * (d + 0.5) * vx).round(),
                (mid.1 + sign * (d + 0.5) * vy).round(),
            );
            let inside = x >= 0.0 && y >= 0.0 && (x as usize) < w && (y as usize) < h;
            if !inside || !on[y as usize * w + x as usize] {
                break;
            }
            d += 0.5;
        }
        band += d;
    }
    band
}

/// Computes a component's features. Thinning runs only when `thin` is
/// given (the caller skips it for specks and huge regions), with its cracks
/// filled first ([`ComponentConfig::crack_max_width_um`]).
pub fn features(
    label: u32,
    pixels: Vec<(u32, u32)>,
    hairness: &GrayF32,
    scale: PixelScale,
    thin: Option<&ComponentConfig>,
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
    let Some(cfg) = thin else {
        return c;
    };
    let (mut crop, w, h) = padded_crop(&c.pixels, bbox);
    let (x0, y0) = (bbox[0] as usize, bbox[1] as usize);
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
    if holes > 0.0 {
        let px2 = scale.um_per_px() * scale.um_per_px();
        fill_cracks(
            &mut crop,
            &outside,
            w,
            cfg.crack_max_width_um / scale.um_per_px(),
            (cfg.crack_max_area_um2 / px2) as usize,
            cfg.crack_max_band_um / scale.um_per_px(),
        );
    }
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
/// let c = features(1, disc, &hn, PixelScale::new(5.0).unwrap(), Some(&ComponentConfig::default()));
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
    if c.area_um2 > cfg.max_area_um2 && (c.skeleton.is_empty() || c.width_um > cfg.max_width_um) {
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
        let thin = area >= cfg.min_area_um2
            && (area <= cfg.max_area_um2
                || boundary_width_px(&px) <= scale.um_to_px(cfg.max_width_um));
        let c = features(i as u32 + 1, px, &pre.hairness, scale, thin.then_some(cfg));
        let r = reject_reason(&c, cfg, pre.noise_sigma, dark);
        out.push((c, r));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // A one-pixel crack along a bar is filled; a 4×4 hole in a ring (as
    // between crossing shafts) and a crack longer than the area limit are not.
    #[test]
    fn cracks_are_filled_and_holes_kept() {
        let (w, h) = (30usize, 12usize);
        let draw = |hole: &dyn Fn(usize, usize) -> bool| -> Vec<bool> {
            (0..w * h)
                .map(|i| {
                    let (x, y) = (i % w, i / w);
                    (1..w - 1).contains(&x) && (1..h - 1).contains(&y) && !hole(x, y)
                })
                .collect()
        };
        let outside = |on: &[bool]| -> Vec<bool> {
            (0..w * h)
                .map(|i| !on[i] && (i % w == 0 || i % w == w - 1 || i / w == 0 || i / w == h - 1))
                .collect()
        };
        let crack = |x: usize, y: usize| y == 6 && (5..25).contains(&x);
        let mut on = draw(&crack);
        let out = outside(&on);
        fill_cracks(&mut on, &out, w, 1.5, 40, 20.0);
        assert!(on
            .iter()
            .enumerate()
            .all(|(i, &v)| v == draw(&|_, _| false)[i]));
        let mut on = draw(&crack);
        let out = outside(&on);
        fill_cracks(&mut on, &out, w, 1.5, 19, 20.0);
        assert_eq!(on, draw(&crack));
        let square = |x: usize, y: usize| (4..8).contains(&x) && (4..8).contains(&y);
        let mut on = draw(&square);
        let out = outside(&on);
        fill_cracks(&mut on, &out, w, 1.5, 40, 20.0);
        assert_eq!(on, draw(&square));
        // Background open to the crop's border is never filled, even when
        // `outside` misses it.
        let mut on = draw(&|x, y| y == 6 && (5..30).contains(&x));
        let before = on.clone();
        fill_cracks(&mut on, &vec![false; w * h], w, 1.5, 40, 20.0);
        assert_eq!(on, before);
        // 0 turns the fill off.
        let mut on = draw(&crack);
        let out = outside(&on);
        fill_cracks(&mut on, &out, w, 0.0, 40, 20.0);
        assert_eq!(on, draw(&crack));
    }

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
