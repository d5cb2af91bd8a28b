//! Rasterising a patch as one capture sees it, in linear light, then the
//! capture effects and the 8-bit sRGB encoding.
//!
//! Draw order: skin (tone, mottling, texture) → sub-surface shadows of the
//! shafts → follicular openings → skin-level look-alikes (empty openings,
//! dots, tattoo ink, pigment) → shafts in depth order → objects lying on the
//! skin (flakes, clippings, bubbles) → illumination, colour cast and glare →
//! defocus → sensor noise → 8-bit sRGB → masks and burned-in text.
//!
//! Shafts are thick polylines with butt ends, anti-aliased by the exact
//! coverage of a one-pixel box filter across the shaft (a strip of width `d`
//! at distance `t` covers `|[t-d/2, t+d/2] ∩ [-1/2, 1/2]|` of a pixel) times
//! the coverage along it at the two ends.
//!
//! Floating point: the per-pixel arithmetic is plain IEEE f32/f64 in a fixed
//! order (no fused multiply-add, no parallel reductions), so pixels are the
//! same on every platform. `sin`, `cos`, `exp`, `ln` and `powf` come from the
//! platform's libm; they agree bit for bit on x86_64 and aarch64 (glibc,
//! musl, macOS) for the arguments used here in practice, and the golden hash
//! test would catch a platform where they do not.
//!
//! # References
//! \[1\] IEC 61966-2-1:1999, sRGB transfer function.
//! \[2\] A. Foi, M. Trimeche, V. Katkovnik, K. Egiazarian (2008), "Practical
//!     Poissonian-Gaussian noise modeling and fitting for single-image raw-data",
//!     IEEE Trans. Image Process. 17(10):1737-1754. doi:10.1109/TIP.2008.2001399
//! \[3\] K. Perlin (1985), "An image synthesizer", SIGGRAPH '85, 287-296 (value/gradient noise textures).

use image::{Rgb, RgbImage};

use super::capture::Capture;
use super::rng::{hash2, SynthRng};
use super::scene::{Lookalike, LookalikeKind, Patch, PatchHair, Pigment};

/// A linear-light RGB float image.
pub(crate) struct Canvas {
    pub w: usize,
    pub h: usize,
    pub px: Vec<[f32; 3]>,
}

/// Per-hair rasterisation result.
#[derive(Debug, Clone)]
pub(crate) struct HairRaster {
    /// Path in pixels.
    pub path_px: Vec<[f64; 2]>,
    /// Visible bbox in the analysed area.
    pub bbox: Option<[u32; 4]>,
}

/// Switches for the render (used to make reference renders in tests).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layers {
    pub hairs: bool,
    pub capture_effects: bool,
}

/// sRGB (0–255) to linear.
pub(crate) fn srgb_to_linear(c: f64) -> f32 {
    let v = c / 255.0;
    (if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }) as f32
}

/// Linear to sRGB in 0–1.
fn linear_to_srgb(v: f32) -> f32 {
    let v = v.clamp(0.0, 1.0);
    if v <= 0.003_130_8 {
        12.92 * v
    } else {
        1.055 * v.powf(1.0 / 2.4) - 0.055
    }
}

fn smoothstep(t: f32) -> f32 {
    let t = t.clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// Value noise in [0, 1) on a unit lattice.
fn vnoise(seed: u64, x: f64, y: f64) -> f32 {
    let xf = x.floor();
    let yf = y.floor();
    let (xi, yi) = (xf as i64, yf as i64);
    let fx = smoothstep((x - xf) as f32);
    let fy = smoothstep((y - yf) as f32);
    let a = hash2(seed, xi, yi);
    let b = hash2(seed, xi + 1, yi);
    let c = hash2(seed, xi, yi + 1);
    let d = hash2(seed, xi + 1, yi + 1);
    let top = a + (b - a) * fx;
    let bot = c + (d - c) * fx;
    top + (bot - top) * fy
}

/// Fractal sum of `octaves` value-noise layers, normalised to [0, 1).
fn fbm(seed: u64, x: f64, y: f64, octaves: u32) -> f32 {
    let mut sum = 0.0f32;
    let mut amp = 1.0f32;
    let mut norm = 0.0f32;
    let mut f = 1.0f64;
    for o in 0..octaves {
        sum += amp * vnoise(seed.wrapping_add(u64::from(o) * 0x9E37), x * f, y * f);
        norm += amp;
        amp *= 0.5;
        f *= 2.03;
    }
    sum / norm
}

/// Base skin colour (linear) for a tone 0 (very light) … 1 (very dark).
fn skin_base(tone: f64) -> [f32; 3] {
    // sRGB anchors: pale pinkish-white scalp, tan, very dark brown.
    const A: [[f64; 3]; 3] = [
        [226.0, 212.0, 214.0],
        [192.0, 148.0, 124.0],
        [74.0, 50.0, 40.0],
    ];
    let t = tone.clamp(0.0, 1.0) * 2.0;
    let (lo, hi, f) = if t <= 1.0 {
        (A[0], A[1], t)
    } else {
        (A[1], A[2], t - 1.0)
    };
    [0, 1, 2].map(|c| srgb_to_linear(lo[c] + (hi[c] - lo[c]) * f))
}

/// An affine map pixel → patch µm: `p = o + x·ex + y·ey`.
struct Affine {
    o: [f64; 2],
    ex: [f64; 2],
    ey: [f64; 2],
}

impl Affine {
    fn of(c: &Capture) -> Affine {
        let o = c.to_um([0.0, 0.0]);
        let a = c.to_um([1.0, 0.0]);
        let b = c.to_um([0.0, 1.0]);
        Affine {
            o,
            ex: [a[0] - o[0], a[1] - o[1]],
            ey: [b[0] - o[0], b[1] - o[1]],
        }
    }
    fn at(&self, x: f64, y: f64) -> [f64; 2] {
        [
            self.o[0] + x * self.ex[0] + y * self.ey[0],
            self.o[1] + x * self.ex[1] + y * self.ey[1],
        ]
    }
}

fn draw_skin(cv: &mut Canvas, patch: &Patch, cap: &Capture) {
    let base = skin_base(patch.skin.tone);
    let s = patch.skin.seed;
    let mott = patch.skin.mottling as f32;
    let tex = patch.skin.texture as f32;
    let spec = if cap.polarised { 0.45 } else { 1.0 } * if cap.immersion { 0.45 } else { 1.0 };
    // Surface sheen: bluish-white on light skin, a faint grey-blue shine on dark skin.
    let sheen = [0.04f32, 0.05, 0.09];
    let sheen = [0, 1, 2].map(|k| (base[k] * 1.35 + sheen[k]).min(0.95));
    let aff = Affine::of(cap);
    for y in 0..cv.h {
        for x in 0..cv.w {
            let p = aff.at(x as f64, y as f64);
            let m1 = fbm(s, p[0] / 900.0, p[1] / 900.0, 2) - 0.5;
            let m2 = vnoise(s ^ 0x51, p[0] / 350.0, p[1] / 350.0) - 0.5;
            // Fine scale texture: irregular shiny patches (bluish-white under
            // non-polarised light), a fine grain and faint furrows.
            let n = fbm(s ^ 0xA3, p[0] / 28.0, p[1] / 28.0, 3);
            let ridge = 1.0 - (2.0 * n - 1.0).abs();
            let patchy = smoothstep((fbm(s ^ 0x3C, p[0] / 400.0, p[1] / 400.0, 2) - 0.35) * 3.0);
            let grain = vnoise(s ^ 0x19, p[0] / 9.0, p[1] / 9.0) - 0.5;
            let fur = vnoise(s ^ 0x77, p[0] / 160.0, p[1] / 160.0);
            let furrow = (1.0 - (2.0 * fur - 1.0).abs()).powi(8);
            let bright = 1.0 + mott * 0.35 * m1 - tex * 0.08 * furrow + tex * 0.08 * grain;
            let red = 1.0 + mott * 0.25 * m2;
            let mut c = [
                base[0] * bright * red,
                base[1] * bright,
                base[2] * bright * (1.0 - 0.1 * mott * m2),
            ];
            let a = (tex * 0.5 * spec * patchy * ridge.powi(3)).clamp(0.0, 1.0);
            for k in 0..3 {
                c[k] += (sheen[k] - c[k]) * a;
            }
            cv.px[y * cv.w + x] = c;
        }
    }
}

/// Inclusive pixel bbox of points grown by `pad`, clipped to the canvas; None if outside.
fn bbox_of(pts: &[[f64; 2]], pad: f64, w: usize, h: usize) -> Option<(usize, usize, usize, usize)> {
    let mut x0 = f64::INFINITY;
    let mut y0 = f64::INFINITY;
    let mut x1 = f64::NEG_INFINITY;
    let mut y1 = f64::NEG_INFINITY;
    for p in pts {
        x0 = x0.min(p[0]);
        y0 = y0.min(p[1]);
        x1 = x1.max(p[0]);
        y1 = y1.max(p[1]);
    }
    let x0 = (x0 - pad).floor().max(0.0);
    let y0 = (y0 - pad).floor().max(0.0);
    let x1 = (x1 + pad).ceil().min(w as f64 - 1.0);
    let y1 = (y1 + pad).ceil().min(h as f64 - 1.0);
    if x0 > x1 || y0 > y1 {
        return None;
    }
    Some((x0 as usize, y0 as usize, x1 as usize, y1 as usize))
}

/// Coverage of a one-pixel box by a strip of half-width `r` at distance `t`.
fn strip_cov(t: f64, r: f64) -> f64 {
    ((t + r).min(0.5) - (t - r).max(-0.5)).clamp(0.0, 1.0)
}

/// Multiplies the canvas towards `tint` with weight `alpha(x, y)` over a bbox.
fn tint_region(
    cv: &mut Canvas,
    bb: (usize, usize, usize, usize),
    tint: [f32; 3],
    mut alpha: impl FnMut(f64, f64) -> f32,
) {
    let (x0, y0, x1, y1) = bb;
    for y in y0..=y1 {
        for x in x0..=x1 {
            let a = alpha(x as f64, y as f64);
            if a > 0.0 {
                let c = &mut cv.px[y * cv.w + x];
                for k in 0..3 {
                    c[k] *= 1.0 - a * (1.0 - tint[k]);
                }
            }
        }
    }
}

/// Paints `colour` over the canvas with weight `alpha(x, y)` over a bbox.
fn paint_region(
    cv: &mut Canvas,
    bb: (usize, usize, usize, usize),
    mut colour_alpha: impl FnMut(f64, f64) -> ([f32; 3], f32),
) {
    let (x0, y0, x1, y1) = bb;
    for y in y0..=y1 {
        for x in x0..=x1 {
            let (col, a) = colour_alpha(x as f64, y as f64);
            if a > 0.0 {
                let c = &mut cv.px[y * cv.w + x];
                for k in 0..3 {
                    c[k] += (col[k] - c[k]) * a;
                }
            }
        }
    }
}

fn hair_opacity(h: &PatchHair) -> ([f32; 3], f32) {
    let (c, mut o) = h.pigment.colour_opacity();
    // Thin shafts are translucent.
    if h.diameter_um < 30.0 {
        o *= 0.65 + 0.35 * (h.diameter_um / 30.0) as f32;
    }
    (c, o)
}

fn draw_subsurface(cv: &mut Canvas, h: &PatchHair, path: &[[f64; 2]], px_um: f64) {
    let e = path[0];
    let dvec = [path[1][0] - e[0], path[1][1] - e[1]];
    let len = (dvec[0] * dvec[0] + dvec[1] * dvec[1]).sqrt();
    if len <= 0.0 {
        return;
    }
    let d = [dvec[0] / len, dvec[1] / len];
    let ls = h.subsurface_um / px_um;
    let dp = h.diameter_um / px_um;
    let a0 = if h.pigment.is_light() { 0.2 } else { 0.6 };
    let end = [e[0] - d[0] * ls, e[1] - d[1] * ls];
    let Some(bb) = bbox_of(&[e, end], 2.0 * dp + 3.0, cv.w, cv.h) else {
        return;
    };
    let tint = [0.52f32, 0.60, 0.80];
    tint_region(cv, bb, tint, |x, y| {
        let v = [x - e[0], y - e[1]];
        let along = -(v[0] * d[0] + v[1] * d[1]);
        let perp = v[0] * d[1] - v[1] * d[0];
        if along < -0.5 * dp || along > ls {
            return 0.0;
        }
        let t = (along / ls).max(0.0);
        let sig = 0.5 * dp + 0.9 * t * dp + 0.8;
        let ramp = if along < 0.0 {
            1.0 + along / (0.5 * dp)
        } else {
            1.0
        };
        (a0 * (1.0 - t).powf(1.5) * (-0.5 * (perp / sig).powi(2)).exp() * ramp) as f32
    });
}

/// Rasterises one shaft (butt ends) onto the canvas; returns the bbox of pixels
/// with coverage ≥ 0.25 for which `analysed(x, y)` holds.
#[allow(clippy::too_many_arguments)]
fn draw_shaft(
    cv: &mut Canvas,
    scratch: &mut Scratch,
    path: &[[f64; 2]],
    radius_px: f64,
    colour: [f32; 3],
    opacity: f32,
    light: bool,
    polarised: bool,
    fade_len_px: Option<f64>,
    cut_angle: f64,
    analysed: &dyn Fn(u32, u32) -> bool,
) -> Option<[u32; 4]> {
    let n = path.len();
    if n < 2 {
        return None;
    }
    let (bx0, by0, bx1, by1) = bbox_of(path, radius_px + 2.0, cv.w, cv.h)?;
    // Butt ends: half-planes through the exit (perpendicular to the first
    // segment) and through the tip (the cut face), applied to every segment so
    // that round joins of short segments cannot round the ends.
    let unit = |a: [f64; 2], b: [f64; 2]| {
        let d = [b[0] - a[0], b[1] - a[1]];
        let l = (d[0] * d[0] + d[1] * d[1]).sqrt().max(1e-12);
        [d[0] / l, d[1] / l]
    };
    let exit = path[0];
    let tip = path[n - 1];
    let u0 = unit(path[0], path[1]);
    let ul = unit(path[n - 2], path[n - 1]);
    let (cs, cc) = cut_angle.sin_cos();
    let cut_n = [ul[0] * cc - ul[1] * cs, ul[0] * cs + ul[1] * cc];
    let mut s0 = 0.0;
    for k in 0..n - 1 {
        let a = path[k];
        let b = path[k + 1];
        let ab = [b[0] - a[0], b[1] - a[1]];
        let len = (ab[0] * ab[0] + ab[1] * ab[1]).sqrt();
        if len <= 1e-12 {
            continue;
        }
        let u = [ab[0] / len, ab[1] / len];
        let first = k == 0;
        let last = k == n - 2;
        let Some((x0, y0, x1, y1)) = bbox_of(&[a, b], radius_px + 1.5, cv.w, cv.h) else {
            s0 += len;
            continue;
        };
        for y in y0..=y1 {
            for x in x0..=x1 {
                let v = [x as f64 - a[0], y as f64 - a[1]];
                let t = v[0] * u[0] + v[1] * u[1];
                let perp = u[0] * v[1] - u[1] * v[0];
                // Arc length for the exit fade uses the unclamped projection, so that
                // round joins do not make steps in the fade.
                let cov = if t < 0.0 && !first {
                    let d = (v[0] * v[0] + v[1] * v[1]).sqrt();
                    strip_cov(d, radius_px)
                } else if t > len && !last {
                    let w = [x as f64 - b[0], y as f64 - b[1]];
                    let d = (w[0] * w[0] + w[1] * w[1]).sqrt();
                    strip_cov(d, radius_px)
                } else {
                    strip_cov(perp, radius_px)
                };
                let from_exit = (x as f64 - exit[0]) * u0[0] + (y as f64 - exit[1]) * u0[1];
                let to_tip = (tip[0] - x as f64) * cut_n[0] + (tip[1] - y as f64) * cut_n[1];
                let cov = cov * (from_exit + 0.5).clamp(0.0, 1.0) * (to_tip + 0.5).clamp(0.0, 1.0);
                if cov <= 0.0 {
                    continue;
                }
                let fade = match fade_len_px {
                    Some(fl) if fl > 0.0 => {
                        0.55 + 0.45 * smoothstep(((s0 + t).max(0.0) / fl) as f32) as f64
                    }
                    _ => 1.0,
                };
                let a_eff = (cov * fade) as f32;
                let i = y * cv.w + x;
                if a_eff > scratch.cov[i] {
                    scratch.cov[i] = a_eff;
                    scratch.u[i] = (perp / radius_px.max(1e-6)).clamp(-1.0, 1.0) as f32;
                    scratch.raw[i] = cov as f32;
                }
            }
        }
        s0 += len;
    }
    let mut vis: Option<[u32; 4]> = None;
    let spec = if polarised { 0.02f32 } else { 0.14 };
    for y in by0..=by1 {
        for x in bx0..=bx1 {
            let i = y * cv.w + x;
            let a = scratch.cov[i];
            if a <= 0.0 {
                continue;
            }
            let u = scratch.u[i];
            let edge = (1.0 - u * u).max(0.0).sqrt();
            let mut alpha = a * opacity;
            if light {
                // Translucent shafts look denser at the rims.
                alpha *= 0.75 + 0.25 * (1.0 - edge);
            }
            let hl = spec * (-((u - 0.3) / 0.22).powi(2)).exp();
            let shade = [0, 1, 2].map(|k| colour[k] * (0.8 + 0.2 * edge) + hl);
            let c = &mut cv.px[i];
            for k in 0..3 {
                c[k] += (shade[k] - c[k]) * alpha;
            }
            if scratch.raw[i] >= 0.25 && analysed(x as u32, y as u32) {
                let (xu, yu) = (x as u32, y as u32);
                vis = Some(match vis {
                    None => [xu, yu, xu, yu],
                    Some(b) => [b[0].min(xu), b[1].min(yu), b[2].max(xu), b[3].max(yu)],
                });
            }
            scratch.cov[i] = 0.0;
            scratch.u[i] = 0.0;
            scratch.raw[i] = 0.0;
        }
    }
    vis
}

pub(crate) struct Scratch {
    cov: Vec<f32>,
    u: Vec<f32>,
    raw: Vec<f32>,
}

/// Precomputed wobble harmonics, so the per-pixel cost is three `sin`s.
struct Outline {
    ph: [f64; 3],
    w: [f64; 3],
    amp: f64,
}

impl Outline {
    fn new(seed: u64, amp: f64) -> Outline {
        let mut r = SynthRng::from_label("shape", &[seed]);
        let mut ph = [0.0; 3];
        let mut w = [0.0; 3];
        for k in 0..3 {
            ph[k] = r.range(0.0, std::f64::consts::TAU);
            w[k] = r.range(0.3, 1.0) / (k + 2) as f64;
        }
        Outline { ph, w, amp }
    }
    fn factor(&self, a: f64) -> f64 {
        let mut s = 0.0;
        for k in 0..3 {
            s += self.w[k] * ((k + 2) as f64 * a + self.ph[k]).sin();
        }
        1.0 + self.amp * s
    }
}

/// Coverage of an irregular blob of radius `r` (px) centred at `c`, at pixel (x, y).
fn blob_cov(o: &Outline, c: [f64; 2], r: f64, elong: f64, rot: f64, x: f64, y: f64) -> f64 {
    let dx = x - c[0];
    let dy = y - c[1];
    let (s, co) = rot.sin_cos();
    let lx = co * dx + s * dy;
    let ly = (-s * dx + co * dy) * elong;
    let d = (lx * lx + ly * ly).sqrt();
    let a = ly.atan2(lx);
    let rr = r * o.factor(a);
    (rr - d + 0.5).clamp(0.0, 1.0)
}

#[allow(clippy::too_many_arguments)]
fn draw_lookalike(
    cv: &mut Canvas,
    scratch: &mut Scratch,
    l: &Lookalike,
    c: [f64; 2],
    angle: f64,
    px_um: f64,
    polarised: bool,
    skin_lum: f32,
) {
    let r = 0.5 * l.size_um / px_um;
    let pad = r * 1.6 + 3.0;
    let Some(bb) = bbox_of(&[c], pad, cv.w, cv.h) else {
        return;
    };
    let mut rng = SynthRng::from_label("lookalike", &[l.shape_seed]);
    match l.kind {
        LookalikeKind::Opening => {
            let tint = [0.6f32, 0.55, 0.58];
            let halo = [0.75f32, 0.8, 0.95];
            tint_region(cv, bb, halo, |x, y| {
                let d = ((x - c[0]).powi(2) + (y - c[1]).powi(2)).sqrt();
                (0.35 * (-0.5 * (d / (1.4 * r + 0.5)).powi(2)).exp()) as f32
            });
            let o = Outline::new(l.shape_seed, 0.15);
            tint_region(cv, bb, tint, |x, y| {
                (0.6 * blob_cov(&o, c, r, 1.0, 0.0, x, y)) as f32
            });
        }
        LookalikeKind::Dot | LookalikeKind::Pigment => {
            let (col, a0) = if l.kind == LookalikeKind::Dot {
                ([0.015f32, 0.012, 0.012], 0.85f32)
            } else {
                ([0.14f32, 0.07, 0.035], 0.45f32)
            };
            let o = Outline::new(
                l.shape_seed,
                if l.kind == LookalikeKind::Dot {
                    0.12
                } else {
                    0.45
                },
            );
            let e = rng.range(1.0, 1.6);
            paint_region(cv, bb, |x, y| {
                (col, a0 * blob_cov(&o, c, r, e, angle, x, y) as f32)
            });
        }
        LookalikeKind::Tattoo => {
            let o = Outline::new(l.shape_seed, 0.25);
            let seed = l.shape_seed;
            let col = [0.025f32, 0.04, 0.11];
            paint_region(cv, bb, |x, y| {
                let cov = blob_cov(&o, c, r, 1.0, 0.0, x, y) as f32;
                let dens = 0.55 + 0.4 * fbm(seed, x / (0.25 * r + 1.0), y / (0.25 * r + 1.0), 2);
                (col, cov * dens)
            });
        }
        LookalikeKind::Flake => {
            let o = Outline::new(l.shape_seed, 0.5);
            let e = rng.range(1.2, 2.5);
            let yellow = rng.range(0.0, 0.2) as f32;
            let col = [0.86f32, 0.84 - 0.1 * yellow, 0.72 - 0.5 * yellow]
                .map(|v| v * (0.7 + 0.3 * (skin_lum / 0.62).min(1.0)));
            let seed = l.shape_seed;
            paint_region(cv, bb, |x, y| {
                let cov = blob_cov(&o, c, r, e, angle, x, y) as f32;
                let dens = 0.35 + 0.5 * fbm(seed, x / (0.2 * r + 1.0), y / (0.2 * r + 1.0), 2);
                (col, cov * dens)
            });
        }
        LookalikeKind::Clipping => {
            let half = 0.5 * l.size_um / px_um;
            let (s, co) = angle.sin_cos();
            let curv = rng.range(-0.3, 0.3) / half.max(1.0);
            let n = 8;
            let path: Vec<[f64; 2]> = (0..=n)
                .map(|i| {
                    let t = -half + 2.0 * half * i as f64 / n as f64;
                    let bend = curv * (half * half - t * t) * 0.5;
                    [c[0] + t * co - bend * s, c[1] + t * s + bend * co]
                })
                .collect();
            let pig = if rng.chance(0.7) {
                Pigment::Dark
            } else {
                Pigment::Blond
            };
            let (col, op) = pig.colour_opacity();
            draw_shaft(
                cv,
                scratch,
                &path,
                0.5 * l.width_um / px_um,
                col,
                op,
                pig.is_light(),
                polarised,
                None,
                rng.range(-0.4, 0.4),
                &|_, _| false,
            );
        }
        LookalikeKind::Bubble => {
            paint_region(cv, bb, |x, y| {
                let d = ((x - c[0]).powi(2) + (y - c[1]).powi(2)).sqrt();
                let ring = (-0.5 * ((d - r) / 1.0f64.max(0.03 * r)).powi(2)).exp();
                let rim = (-0.5 * ((d - 0.85 * r) / 1.2f64.max(0.05 * r)).powi(2)).exp();
                let hl = (-0.5
                    * (((x - c[0] + 0.4 * r).powi(2) + (y - c[1] + 0.4 * r).powi(2)).sqrt()
                        / (0.08 * r + 0.7))
                        .powi(2))
                .exp();
                if ring > rim.max(hl) {
                    ([0.03, 0.03, 0.035], (0.8 * ring) as f32)
                } else {
                    ([0.95, 0.96, 0.98], (0.55 * rim + 0.8 * hl).min(1.0) as f32)
                }
            });
        }
        LookalikeKind::Glare => {
            // Added after illumination (see render); nothing here.
        }
    }
}

fn add_glare(cv: &mut Canvas, c: [f64; 2], r: f64) {
    let Some((x0, y0, x1, y1)) = bbox_of(&[c], 3.0 * r + 2.0, cv.w, cv.h) else {
        return;
    };
    for y in y0..=y1 {
        for x in x0..=x1 {
            let d2 = (x as f64 - c[0]).powi(2) + (y as f64 - c[1]).powi(2);
            let a = (0.9 * (-0.5 * d2 / (r * r)).exp()) as f32;
            let p = &mut cv.px[y * cv.w + x];
            for v in p.iter_mut() {
                *v += a;
            }
        }
    }
}

/// Separable Gaussian blur with clamped borders.
fn gaussian_blur(cv: &mut Canvas, sigma: f64) {
    if sigma < 0.3 {
        return;
    }
    let rad = (3.0 * sigma).ceil() as isize;
    let mut k: Vec<f32> = (-rad..=rad)
        .map(|i| (-0.5 * (i as f64 / sigma).powi(2)).exp() as f32)
        .collect();
    let s: f32 = k.iter().sum();
    for v in &mut k {
        *v /= s;
    }
    let (w, h) = (cv.w as isize, cv.h as isize);
    let mut tmp = vec![[0f32; 3]; cv.px.len()];
    for y in 0..h {
        for x in 0..w {
            let mut acc = [0f32; 3];
            for (j, kv) in k.iter().enumerate() {
                let xx = (x + j as isize - rad).clamp(0, w - 1);
                let p = cv.px[(y * w + xx) as usize];
                for c in 0..3 {
                    acc[c] += kv * p[c];
                }
            }
            tmp[(y * w + x) as usize] = acc;
        }
    }
    for y in 0..h {
        for x in 0..w {
            let mut acc = [0f32; 3];
            for (j, kv) in k.iter().enumerate() {
                let yy = (y + j as isize - rad).clamp(0, h - 1);
                let p = tmp[(yy * w + x) as usize];
                for c in 0..3 {
                    acc[c] += kv * p[c];
                }
            }
            cv.px[(y * w + x) as usize] = acc;
        }
    }
}

/// Renders `patch` as seen by `cap`: the 8-bit image and each hair's raster info
/// (in `patch.hairs` order; `None` for hairs that do not touch the frame).
pub(crate) fn render(
    patch: &Patch,
    cap: &Capture,
    layers: Layers,
) -> (RgbImage, Vec<Option<HairRaster>>) {
    let (w, h) = (cap.width_px as usize, cap.height_px as usize);
    let mut cv = Canvas {
        w,
        h,
        px: vec![[0.0; 3]; w * h],
    };
    let mut scratch = Scratch {
        cov: vec![0.0; w * h],
        u: vec![0.0; w * h],
        raw: vec![0.0; w * h],
    };
    let pxu = cap.pixel_size_um;
    draw_skin(&mut cv, patch, cap);
    let base = skin_base(patch.skin.tone);
    let skin_lum = 0.2126 * base[0] + 0.7152 * base[1] + 0.0722 * base[2];

    // Hairs touching the frame (shaft or sub-surface shadow), with pixel paths.
    let mut rasters: Vec<Option<HairRaster>> = Vec::with_capacity(patch.hairs.len());
    for hr in &patch.hairs {
        let len_px = hr.length_um / pxu;
        let segs = ((len_px / 6.0).ceil() as usize).clamp(4, 48);
        let path: Vec<[f64; 2]> = hr.path_um(segs).into_iter().map(|p| cap.to_px(p)).collect();
        // Drawn when the shaft or its sub-surface shadow reaches the frame
        // (bbox_of clips to the canvas and gives None for anything off-frame).
        let dp = hr.diameter_um / pxu;
        let e = path[0];
        let d = [path[1][0] - e[0], path[1][1] - e[1]];
        let dl = (d[0] * d[0] + d[1] * d[1]).sqrt().max(1e-9);
        let ls = hr.subsurface_um / pxu;
        let back = [e[0] - d[0] / dl * ls, e[1] - d[1] / dl * ls];
        let touches = bbox_of(&path, 0.5 * dp + 2.0, w, h).is_some()
            || bbox_of(&[e, back], 2.0 * dp + 3.0, w, h).is_some();
        rasters.push(touches.then_some(HairRaster {
            path_px: path,
            bbox: None,
        }));
    }

    if layers.hairs {
        if patch.params.subsurface_shadow {
            for (hr, r) in patch.hairs.iter().zip(&rasters) {
                if let Some(r) = r {
                    draw_subsurface(&mut cv, hr, &r.path_px, pxu);
                }
            }
        }
        if patch.params.openings {
            // One opening per unit, around the mean exit of its drawn hairs.
            let mut units: std::collections::BTreeMap<u32, (f64, f64, f64, f64, f64, usize)> =
                Default::default();
            for (hr, r) in patch.hairs.iter().zip(&rasters) {
                if let Some(r) = r {
                    let p0 = r.path_px[0];
                    let p1 = r.path_px[1];
                    let e = units
                        .entry(hr.unit_id)
                        .or_insert((0.0, 0.0, 0.0, 0.0, 0.0, 0));
                    e.0 += p0[0];
                    e.1 += p0[1];
                    e.2 += p1[0] - p0[0];
                    e.3 += p1[1] - p0[1];
                    e.4 += hr.diameter_um;
                    e.5 += 1;
                }
            }
            for (_, (sx, sy, dx, dy, dsum, n)) in units {
                let n = n as f64;
                let dl = (dx * dx + dy * dy).sqrt().max(1e-9);
                let r = (0.5 * 0.9 * dsum + 12.0) / pxu;
                let c = [sx / n - 0.3 * r * dx / dl, sy / n - 0.3 * r * dy / dl];
                let Some(bb) = bbox_of(&[c], 2.0 * r + 2.0, w, h) else {
                    continue;
                };
                tint_region(&mut cv, bb, [0.62, 0.56, 0.6], |x, y| {
                    let d = ((x - c[0]).powi(2) + (y - c[1]).powi(2)).sqrt();
                    0.55 * smoothstep(((r - d) / (0.35 * r + 0.7) + 0.5) as f32)
                });
            }
        }
    }
    let skin_level = [
        LookalikeKind::Opening,
        LookalikeKind::Dot,
        LookalikeKind::Tattoo,
        LookalikeKind::Pigment,
    ];
    for l in patch
        .lookalikes
        .iter()
        .filter(|l| skin_level.contains(&l.kind))
    {
        let c = cap.to_px(l.center_um);
        draw_lookalike(
            &mut cv,
            &mut scratch,
            l,
            c,
            cap.angle_to_image(l.angle_rad),
            pxu,
            cap.polarised,
            skin_lum,
        );
    }
    if layers.hairs {
        let mut order: Vec<usize> = (0..patch.hairs.len())
            .filter(|&i| rasters[i].is_some())
            .collect();
        // Stable sort by depth, then follicle id: a fixed order on every platform.
        order.sort_by(|&a, &b| {
            patch.hairs[a]
                .depth
                .total_cmp(&patch.hairs[b].depth)
                .then(patch.hairs[a].follicle_id.cmp(&patch.hairs[b].follicle_id))
        });
        let mask = &cap.mask;
        for i in order {
            let hr = &patch.hairs[i];
            let (col, op) = hair_opacity(hr);
            let r = rasters[i].as_mut().expect("filtered above");
            let dp = hr.diameter_um / pxu;
            r.bbox = draw_shaft(
                &mut cv,
                &mut scratch,
                &r.path_px,
                0.5 * dp,
                col,
                op,
                hr.pigment.is_light(),
                cap.polarised,
                Some(1.5 * dp),
                hr.cut_angle_rad,
                &|x, y| mask.pixel_analysed(x, y),
            );
        }
    }
    let surface = [LookalikeKind::Flake, LookalikeKind::Clipping];
    for l in patch
        .lookalikes
        .iter()
        .filter(|l| surface.contains(&l.kind))
    {
        let c = cap.to_px(l.center_um);
        draw_lookalike(
            &mut cv,
            &mut scratch,
            l,
            c,
            cap.angle_to_image(l.angle_rad),
            pxu,
            cap.polarised,
            skin_lum,
        );
    }
    for l in cap
        .overlays
        .iter()
        .filter(|l| l.kind == LookalikeKind::Bubble)
    {
        let c = cap.frame_um_to_px(l.center_um);
        draw_lookalike(
            &mut cv,
            &mut scratch,
            l,
            c,
            l.angle_rad,
            pxu,
            cap.polarised,
            skin_lum,
        );
    }

    if layers.capture_effects {
        // Illumination: brightness, vignetting (radial, quadratic), linear gradient, white balance.
        let cx = (w as f64 - 1.0) / 2.0;
        let cy = (h as f64 - 1.0) / 2.0;
        let r2max = cx * cx + cy * cy;
        let (gs, gc) = cap.gradient_dir_rad.sin_cos();
        let half = (gc.abs() * cx + gs.abs() * cy).max(1.0);
        for y in 0..h {
            for x in 0..w {
                let dx = x as f64 - cx;
                let dy = y as f64 - cy;
                let f = cap.brightness
                    * (1.0 - cap.vignetting * (dx * dx + dy * dy) / r2max)
                    * (1.0 + 0.5 * cap.gradient * (dx * gc + dy * gs) / half);
                let p = &mut cv.px[y * w + x];
                for (v, g) in p.iter_mut().zip(cap.colour_gain) {
                    *v *= (f * g) as f32;
                }
            }
        }
        for l in cap
            .overlays
            .iter()
            .filter(|l| l.kind == LookalikeKind::Glare)
        {
            add_glare(
                &mut cv,
                cap.frame_um_to_px(l.center_um),
                0.25 * l.size_um / pxu,
            );
        }
        gaussian_blur(&mut cv, cap.blur_sigma_px);
    }

    // Encode to 8-bit sRGB, with Poisson–Gaussian noise in the encoded domain:
    // sd(v) = noise_sd · sqrt(0.3 + 1.4 v) levels (v in 0–1), which is noise_sd at mid-grey.
    let mut img = RgbImage::new(cap.width_px, cap.height_px);
    let mut nrng = SynthRng::from_label("noise", &[cap.noise_seed]);
    let noisy = layers.capture_effects && cap.noise_sd > 0.0;
    for (i, p) in img.pixels_mut().enumerate() {
        let q = cv.px[i];
        let mut out = [0u8; 3];
        for k in 0..3 {
            let v = linear_to_srgb(q[k]);
            let mut lv = f64::from(v) * 255.0;
            if noisy {
                lv += cap.noise_sd * (0.3 + 1.4 * f64::from(v)).sqrt() * nrng.normal();
            }
            out[k] = lv.round().clamp(0.0, 255.0) as u8;
        }
        *p = Rgb(out);
    }
    if layers.capture_effects {
        apply_masks(&mut img, cap);
    }
    (img, rasters)
}

/// Blackens pixels outside a round field of view and burns in text bands.
fn apply_masks(img: &mut RgbImage, cap: &Capture) {
    let m = &cap.mask;
    if let Some([cx, cy, r]) = m.circle {
        for (x, y, p) in img.enumerate_pixels_mut() {
            let dx = f64::from(x) - cx;
            let dy = f64::from(y) - cy;
            if dx * dx + dy * dy > r * r {
                *p = Rgb([0, 0, 0]);
            }
        }
    }
    for b in &m.bands {
        for y in b[1]..=b[3].min(img.height() - 1) {
            for x in b[0]..=b[2].min(img.width() - 1) {
                img.put_pixel(x, y, Rgb([28, 30, 36]));
            }
        }
        if let Some(text) = &m.text {
            let bh = (b[3] - b[1] + 1) as f32;
            let font = crate::assets::font();
            imageproc::drawing::draw_text_mut(
                img,
                Rgb([235, 235, 240]),
                (b[0] + 4) as i32,
                b[1] as i32 + (0.12 * bh) as i32,
                0.75 * bh,
                &font,
                text,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // strip_cov is the exact box-filter coverage: a 1-px strip centred on a pixel
    // covers it fully, a thin strip of width 0.2 covers 0.2, and far strips cover 0.
    #[test]
    fn strip_coverage() {
        assert!((strip_cov(0.0, 0.5) - 1.0).abs() < 1e-12);
        assert!((strip_cov(0.3, 0.1) - 0.2).abs() < 1e-12);
        assert!((strip_cov(0.5, 0.5) - 0.5).abs() < 1e-12);
        assert_eq!(strip_cov(2.0, 0.5), 0.0);
    }

    // sRGB encode/decode round-trips every 8-bit level.
    #[test]
    fn srgb_round_trip() {
        for v in 0..=255u32 {
            let l = srgb_to_linear(f64::from(v));
            let back = (linear_to_srgb(l) * 255.0).round() as u32;
            assert_eq!(back, v);
        }
    }

    // The irregular outline is deterministic and bounded.
    #[test]
    fn outline_bounded() {
        let o = Outline::new(5, 0.2);
        for i in 0..50 {
            let f = o.factor(f64::from(i) * 0.3);
            assert!(f > 0.5 && f < 1.5);
            assert_eq!(f, Outline::new(5, 0.2).factor(f64::from(i) * 0.3));
        }
    }
}
