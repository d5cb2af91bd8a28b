//! Canonical pose: the rotation or mirror under which an image is analysed.
//!
//! Stage 0 of the pipeline. In: the decoded, oriented image. Out: a [`Pose`],
//! one of the eight symmetries of the rectangle (rotations by multiples of
//! 90°, with or without a mirror), chosen from the image's content alone.
//!
//! Several steps of the pipeline are sequential and therefore not symmetric:
//! Zhang–Suen thinning deletes south-east boundary pixels before north-west
//! ones, the segment search breaks ties between equally long runs in scan
//! order, and the background grid is anchored at the top-left corner. On a
//! rotated or mirrored copy of an image they can take different borderline
//! decisions, so the count would depend on how the camera was held or how a
//! viewer saved the file. The counting convention is symmetric, so the
//! pipeline makes its result symmetric too: it analyses every image in the
//! pose chosen by [`Pose::canonical`], which picks the same content-defined
//! frame for all eight transformed copies, and maps every coordinate of the
//! result back to the input's frame. Results are then identical (up to
//! that mapping) for an image and any of its rotations by 90° and mirrors.
//!
//! This guarantees the symmetry; it does not make a borderline decision
//! less borderline. `docs/robustness.md` records how often the analysis
//! without a canonical pose changed its count under rotation, a measure of
//! the instability that the counting stage still has to lose.
//!
//! The choice reads an 8 × 8 grid of block medians of each pixel's byte sum
//! (so it works for any pixel type, and a few stray pixels rarely move it):
//! each pose reads the grid in its own raster order, and the pose whose
//! sequence of medians is greatest wins. The
//! blocks are laid out symmetrically (a pixel whose centre falls exactly on a
//! block boundary belongs to no block), so transforming the image permutes
//! the blocks exactly. Ties (tiny images, symmetric content) fall back on the
//! transformed images' bytes, so the choice is a total order on the eight
//! copies and always the same.
//!
//! # References
//! Kaba S.-O., Mondal A. K., Zhang Y., Bengio Y., Ravanbakhsh S. (2023)
//! Equivariance with learned canonicalization functions. ICML, PMLR 202:15546–15566
//! (canonicalization as a way to make any function equivariant; here the
//! canonicalization function is fixed, not learned).

use image::{DynamicImage, GrayImage};

/// Blocks per side of the grid that [`Pose::canonical`] compares.
const GRID: usize = 8;

/// One of the eight symmetries of the rectangle, mapping an input image `I`
/// (`width × height`) to the analysed image `C`:
/// `C(x, y) = J(flip_x ? W′ − 1 − x : x, flip_y ? H′ − 1 − y : y)`, where `J`
/// is `I` transposed (`J(x, y) = I(y, x)`) when `transpose` is set and `I`
/// otherwise, and `W′ × H′` are `J`'s dimensions. Pixel centres are at
/// integer coordinates, so a mirror maps `x` to `W − 1 − x`.
///
/// # Examples
/// ```
/// use trichometry::pipeline::pose::Pose;
/// let img = image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(6, 4, |x, y| {
///     image::Rgb([(10 * x + y) as u8, 0, 0])
/// }));
/// let pose = Pose::canonical(&img);
/// let turned = img.rotate90();
/// // Both copies are analysed in the same frame.
/// assert_eq!(pose.apply(&img).as_bytes(), Pose::canonical(&turned).apply(&turned).as_bytes());
/// // A point of the analysed frame maps back into the input's frame and returns.
/// let p = [1.0, 2.0];
/// assert_eq!(pose.to_canonical(pose.to_input(p)), p);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pose {
    /// Swap the axes first.
    pub transpose: bool,
    /// Then mirror left–right.
    pub flip_x: bool,
    /// Then mirror top–bottom.
    pub flip_y: bool,
    /// Input width, pixels.
    pub width: u32,
    /// Input height, pixels.
    pub height: u32,
}

impl Pose {
    /// The identity pose of a `width × height` image.
    pub fn identity(width: u32, height: u32) -> Pose {
        Pose {
            transpose: false,
            flip_x: false,
            flip_y: false,
            width,
            height,
        }
    }

    /// All eight poses of a `width × height` image, identity first.
    pub fn all(width: u32, height: u32) -> [Pose; 8] {
        let mut out = [Pose::identity(width, height); 8];
        for (k, p) in out.iter_mut().enumerate() {
            p.transpose = k & 4 != 0;
            p.flip_x = k & 1 != 0;
            p.flip_y = k & 2 != 0;
        }
        out
    }

    /// Is this the identity?
    pub fn is_identity(&self) -> bool {
        !(self.transpose || self.flip_x || self.flip_y)
    }

    /// Dimensions of the analysed image, `(W′, H′)`.
    pub fn canonical_dimensions(&self) -> (u32, u32) {
        if self.transpose {
            (self.height, self.width)
        } else {
            (self.width, self.height)
        }
    }

    /// The pose in which `image` is analysed: the same content-defined frame
    /// for an image and each of its rotations by 90° and mirrors (see the
    /// module documentation). Poses whose block medians tie (tiny images,
    /// symmetric content) are ordered by the analysed image's dimensions,
    /// then by its bytes in raster order; poses that show identical images
    /// keep the first in [`Pose::all`]'s order.
    pub fn canonical(image: &DynamicImage) -> Pose {
        let (w, h) = (image.width(), image.height());
        let grid = block_medians(image);
        let read = |p: &Pose| -> [u64; GRID * GRID] {
            let mut s = [0u64; GRID * GRID];
            for j in 0..GRID {
                for i in 0..GRID {
                    let u = if p.flip_x { GRID - 1 - i } else { i };
                    let v = if p.flip_y { GRID - 1 - j } else { j };
                    let (bx, by) = if p.transpose { (v, u) } else { (u, v) };
                    s[j * GRID + i] = grid[by * GRID + bx];
                }
            }
            s
        };
        let mut best = Pose::identity(w, h);
        let mut best_sig = read(&best);
        for p in Pose::all(w, h).into_iter().skip(1) {
            let sig = read(&p);
            let order = sig
                .cmp(&best_sig)
                .then_with(|| p.canonical_dimensions().cmp(&best.canonical_dimensions()))
                .then_with(|| compare_pixels(image, &p, &best));
            if order.is_gt() {
                best = p;
                best_sig = sig;
            }
        }
        best
    }

    /// The input pixel `(x, y)` of the analysed image reads, whole pixels.
    fn source(&self, x: u32, y: u32) -> (u32, u32) {
        let (cw, ch) = self.canonical_dimensions();
        let u = if self.flip_x { cw - 1 - x } else { x };
        let v = if self.flip_y { ch - 1 - y } else { y };
        if self.transpose {
            (v, u)
        } else {
            (u, v)
        }
    }

    /// The analysed image: `image` in this pose.
    ///
    /// 8-bit gray and RGB images (what the JPEG and most PNG decoders give)
    /// are copied by [`transform_bytes`], row by row or in cache-sized tiles;
    /// other pixel types use the `image` crate's rotations and flips. Both
    /// give the same pixels (`tests::fast_transform_matches_image_crate`).
    pub fn apply(&self, image: &DynamicImage) -> DynamicImage {
        let (cw, ch) = self.canonical_dimensions();
        match image {
            DynamicImage::ImageRgb8(img) => {
                let bytes = transform_bytes(img.as_raw(), 3, self);
                if let Some(out) = image::RgbImage::from_raw(cw, ch, bytes) {
                    return DynamicImage::ImageRgb8(out);
                }
            }
            DynamicImage::ImageLuma8(img) => {
                let bytes = transform_bytes(img.as_raw(), 1, self);
                if let Some(out) = GrayImage::from_raw(cw, ch, bytes) {
                    return DynamicImage::ImageLuma8(out);
                }
            }
            _ => {}
        }
        self.apply_with_image_crate(image)
    }

    /// [`Pose::apply`] by the `image` crate's rotations and flips (any pixel type).
    pub fn apply_with_image_crate(&self, image: &DynamicImage) -> DynamicImage {
        match (self.transpose, self.flip_x, self.flip_y) {
            (false, false, false) => image.clone(),
            (false, true, false) => image.fliph(),
            (false, false, true) => image.flipv(),
            (false, true, true) => image.rotate180(),
            (true, false, false) => image.rotate90().fliph(),
            (true, true, false) => image.rotate90(),
            (true, false, true) => image.rotate270(),
            (true, true, true) => image.rotate90().flipv(),
        }
    }

    /// A mask of the input's frame in this pose. A mask of another size
    /// than the input gives an all-zero mask of the analysed image's size.
    pub fn apply_gray(&self, mask: &GrayImage) -> GrayImage {
        let (cw, ch) = self.canonical_dimensions();
        if mask.dimensions() != (self.width, self.height) {
            return GrayImage::new(cw, ch);
        }
        GrayImage::from_raw(cw, ch, transform_bytes(mask.as_raw(), 1, self))
            .unwrap_or_else(|| GrayImage::new(cw, ch))
    }

    /// A point `[x, y]` of the analysed image in the input's frame, pixels.
    pub fn to_input(&self, p: [f64; 2]) -> [f64; 2] {
        let (cw, ch) = self.canonical_dimensions();
        let u = if self.flip_x {
            f64::from(cw) - 1.0 - p[0]
        } else {
            p[0]
        };
        let v = if self.flip_y {
            f64::from(ch) - 1.0 - p[1]
        } else {
            p[1]
        };
        if self.transpose {
            [v, u]
        } else {
            [u, v]
        }
    }

    /// A point `[x, y]` of the input in the analysed image's frame, pixels.
    pub fn to_canonical(&self, p: [f64; 2]) -> [f64; 2] {
        let (cw, ch) = self.canonical_dimensions();
        let [u, v] = if self.transpose { [p[1], p[0]] } else { p };
        [
            if self.flip_x {
                f64::from(cw) - 1.0 - u
            } else {
                u
            },
            if self.flip_y {
                f64::from(ch) - 1.0 - v
            } else {
                v
            },
        ]
    }

    /// An inclusive pixel box `[x_min, y_min, x_max, y_max]` of the analysed
    /// image in the input's frame.
    pub fn bbox_to_input(&self, b: [u32; 4]) -> [u32; 4] {
        let p = self.to_input([f64::from(b[0]), f64::from(b[1])]);
        let q = self.to_input([f64::from(b[2]), f64::from(b[3])]);
        // Whole pixel indices in range: the casts are exact.
        [
            p[0].min(q[0]) as u32,
            p[1].min(q[1]) as u32,
            p[0].max(q[0]) as u32,
            p[1].max(q[1]) as u32,
        ]
    }
}

/// Side of the square tiles in which [`transform_bytes`] transposes, pixels:
/// a tile's source and destination rows stay in cache.
const TILE: usize = 64;

/// The pixels of a `pose.width × pose.height` image of `bpp` bytes per pixel
/// (row-major, no padding) rearranged into the pose, the same bytes as
/// [`Pose::apply_with_image_crate`]. Without a transpose, rows are copied
/// (reversed for a left–right mirror); with one, the image is walked in
/// 64 × 64 tiles, so that both the rows read and the rows
/// written stay in cache, instead of striding down whole columns.
///
/// `bpp` is 1, 3 or 4; another value, or a `src` shorter than the image,
/// gives an empty result.
pub fn transform_bytes(src: &[u8], bpp: usize, pose: &Pose) -> Vec<u8> {
    match bpp {
        1 => transform_pixels::<1>(src, pose),
        3 => transform_pixels::<3>(src, pose),
        4 => transform_pixels::<4>(src, pose),
        _ => Vec::new(),
    }
}

/// [`transform_bytes`] for `B` bytes per pixel: pixels move as `[u8; B]`
/// values, which compile to plain loads and stores.
fn transform_pixels<const B: usize>(src: &[u8], pose: &Pose) -> Vec<u8> {
    let (w, h) = (pose.width as usize, pose.height as usize);
    if src.len() < w * h * B {
        return Vec::new();
    }
    let (cw, ch) = pose.canonical_dimensions();
    let (cw, ch) = (cw as usize, ch as usize);
    let pixel = |i: usize| -> [u8; B] {
        let mut p = [0u8; B];
        p.copy_from_slice(&src[i * B..i * B + B]);
        p
    };
    let mut out = vec![0u8; cw * ch * B];
    if !pose.transpose {
        for (y, row) in out.chunks_exact_mut(cw * B).enumerate() {
            let v = if pose.flip_y { h - 1 - y } else { y };
            if pose.flip_x {
                for (x, d) in row.chunks_exact_mut(B).enumerate() {
                    d.copy_from_slice(&pixel(v * w + w - 1 - x));
                }
            } else {
                row.copy_from_slice(&src[v * w * B..(v + 1) * w * B]);
            }
        }
        return out;
    }
    // Transposed: output (x, y) reads input (v, u) with u = x or cw − 1 − x,
    // v = y or ch − 1 − y (see `Pose::source`).
    for ty in (0..ch).step_by(TILE) {
        for tx in (0..cw).step_by(TILE) {
            for y in ty..(ty + TILE).min(ch) {
                let sx = if pose.flip_y { ch - 1 - y } else { y };
                let row = &mut out[y * cw * B..(y + 1) * cw * B];
                for x in tx..(tx + TILE).min(cw) {
                    let sy = if pose.flip_x { cw - 1 - x } else { x };
                    row[x * B..x * B + B].copy_from_slice(&pixel(sy * w + sx));
                }
            }
        }
    }
    out
}

/// Block of a pixel index `i` along an axis of `n` pixels: the block of its
/// centre `(i + ½) / n` in [`GRID`] equal parts, `None` when the centre lies
/// exactly on a boundary (so that mirroring maps blocks to blocks exactly).
fn block_of(i: u32, n: u32) -> Option<usize> {
    let num = GRID as u64 * (2 * u64::from(i) + 1);
    let den = 2 * u64::from(n);
    (!num.is_multiple_of(den)).then_some((num / den) as usize)
}

/// Compares the images `image` shows in poses `p` and `q` (same dimensions)
/// byte by byte in raster order; only reached when their block medians tie
/// (tiny images, uniform or symmetric content), so it stops at the first difference.
fn compare_pixels(image: &DynamicImage, p: &Pose, q: &Pose) -> std::cmp::Ordering {
    let bpp = usize::from(image.color().bytes_per_pixel());
    let bytes = image.as_bytes();
    let w = image.width() as usize;
    let (cw, ch) = p.canonical_dimensions();
    let at = |(x, y): (u32, u32)| {
        let i = (y as usize * w + x as usize) * bpp;
        bytes.get(i..i + bpp).unwrap_or(&[])
    };
    for y in 0..ch {
        for x in 0..cw {
            let order = at(p.source(x, y)).cmp(at(q.source(x, y)));
            if order.is_ne() {
                return order;
            }
        }
    }
    std::cmp::Ordering::Equal
}

/// Median, over each of the [`GRID`] × [`GRID`] blocks (row-major), of the
/// sum of each pixel's bytes (the lower median; 0 for an empty block).
/// A median moves by at most one rank per stray pixel, and 8-bit data holds
/// many equal values about it, so a speck or a dust particle rarely changes
/// a block's median, and with it the pose.
fn block_medians(image: &DynamicImage) -> [u64; GRID * GRID] {
    let (w, h) = (image.width(), image.height());
    let mut medians = [0u64; GRID * GRID];
    let bpp = usize::from(image.color().bytes_per_pixel());
    let bytes = image.as_bytes();
    if w == 0 || h == 0 || bpp == 0 || bytes.len() < w as usize * h as usize * bpp {
        return medians;
    }
    let bins = 255 * bpp + 1;
    let mut hist = vec![0u32; GRID * GRID * bins];
    let cols: Vec<Option<usize>> = (0..w).map(|x| block_of(x, w)).collect();
    for (y, row) in bytes
        .chunks_exact(w as usize * bpp)
        .take(h as usize)
        .enumerate()
    {
        let Some(by) = block_of(y as u32, h) else {
            continue;
        };
        let cells = &mut hist[by * GRID * bins..(by + 1) * GRID * bins];
        for (px, bx) in row.chunks_exact(bpp).zip(&cols) {
            if let Some(bx) = bx {
                let v: usize = px.iter().map(|&b| usize::from(b)).sum();
                cells[bx * bins + v] += 1;
            }
        }
    }
    for (m, block) in medians.iter_mut().zip(hist.chunks_exact(bins)) {
        let n: u64 = block.iter().map(|&c| u64::from(c)).sum();
        if n == 0 {
            continue;
        }
        let rank = (n - 1) / 2;
        let mut seen = 0u64;
        for (v, &c) in block.iter().enumerate() {
            seen += u64::from(c);
            if seen > rank {
                *m = v as u64;
                break;
            }
        }
    }
    medians
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::testing::XorShift;

    fn noisy(w: u32, h: u32, seed: u64) -> DynamicImage {
        let mut rng = XorShift::new(seed);
        DynamicImage::ImageLuma8(GrayImage::from_fn(w, h, |_, _| {
            image::Luma([(rng.next_u64() % 256) as u8])
        }))
    }

    // Every pose's `apply` agrees with its point mapping, pixel by pixel.
    #[test]
    fn apply_agrees_with_point_mapping() {
        let img = noisy(7, 4, 3);
        let gray = img.to_luma8();
        for p in Pose::all(7, 4) {
            let c = p.apply(&img).to_luma8();
            let g = p.apply_gray(&gray);
            assert_eq!(c.dimensions(), p.canonical_dimensions());
            assert_eq!(c, g, "{p:?}");
            for (x, y, v) in c.enumerate_pixels() {
                let q = p.to_input([f64::from(x), f64::from(y)]);
                assert_eq!(gray.get_pixel(q[0] as u32, q[1] as u32), v, "{p:?}");
                assert_eq!(p.to_canonical(q), [f64::from(x), f64::from(y)]);
            }
        }
    }

    // An image and its seven transformed copies choose poses that analyse
    // the same pixels, for odd, even and square sizes.
    #[test]
    fn transformed_copies_share_the_canonical_image() {
        for (w, h, seed) in [(31, 17, 1), (40, 24, 2), (16, 16, 3), (9, 1, 4), (1, 1, 5)] {
            let img = noisy(w, h, seed);
            let reference = Pose::canonical(&img).apply(&img);
            for t in Pose::all(w, h) {
                let copy = t.apply(&img);
                let c = Pose::canonical(&copy).apply(&copy);
                assert_eq!(
                    (c.width(), c.height()),
                    (reference.width(), reference.height()),
                    "{w}x{h} {t:?}"
                );
                assert_eq!(c.as_bytes(), reference.as_bytes(), "{w}x{h} {t:?}");
            }
        }
    }

    // Mirroring maps blocks onto blocks: no block straddles the centre line.
    #[test]
    fn blocks_are_mirror_symmetric() {
        for n in 1..100u32 {
            for i in 0..n {
                assert_eq!(
                    block_of(i, n).map(|b| GRID - 1 - b),
                    block_of(n - 1 - i, n),
                    "{i} of {n}"
                );
            }
        }
    }

    // The fast copies give the image crate's pixels for every pose, gray
    // and RGB, sizes smaller and larger than a tile.
    #[test]
    fn fast_transform_matches_image_crate() {
        for (w, h, seed) in [(7, 4, 1), (130, 67, 2), (1, 9, 3), (64, 64, 4)] {
            let gray = noisy(w, h, seed);
            let rgb = DynamicImage::ImageRgb8(gray.to_rgb8());
            let mut rgb = rgb.into_rgb8();
            for (i, p) in rgb.pixels_mut().enumerate() {
                p.0[1] = p.0[1].wrapping_add(i as u8);
            }
            let rgb = DynamicImage::ImageRgb8(rgb);
            for img in [&gray, &rgb] {
                for p in Pose::all(w, h) {
                    let fast = p.apply(img);
                    let slow = p.apply_with_image_crate(img);
                    assert_eq!(fast.color(), slow.color());
                    assert_eq!((fast.width(), fast.height()), (slow.width(), slow.height()));
                    assert_eq!(fast.as_bytes(), slow.as_bytes(), "{w}x{h} {p:?}");
                }
            }
        }
    }

    // Boxes map corner to corner.
    #[test]
    fn boxes_map_back_inclusive() {
        let p = Pose {
            transpose: true,
            flip_x: true,
            flip_y: false,
            width: 10,
            height: 6,
        };
        // Canonical image is 6 × 10; the box's corners map back.
        assert_eq!(p.bbox_to_input([0, 0, 1, 2]), [0, 4, 2, 5]);
    }
}
