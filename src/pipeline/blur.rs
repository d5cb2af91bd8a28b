//! Blur-corrected shaft diameter.
//!
//! Part of stage 4 (measurement). The optical width of a shaft — the full
//! width at half maximum (FWHM) of its contrast profile — is wider than the
//! shaft when the image is blurred: a 20 µm hair seen through a point-spread
//! function (PSF) of σ = 10 µm reads about 28 µm, and a hair much thinner
//! than the PSF reads 2.355 σ however thin it is. This module undoes that
//! from the physics of the image rather than with a factor fitted to any one
//! camera or generator:
//!
//! 1. A shaft seen from above is an opaque bar of width `D` (its silhouette);
//!    through a Gaussian PSF of standard deviation σ its profile across the
//!    shaft is `A · ½[erf((x + D/2)/(σ√2)) − erf((x − D/2)/(σ√2))]`
//!    ([`bar_profile`]).
//! 2. The image's own PSF is read from the edges of its well-resolved shafts:
//!    the median cross-profile of each shaft ([`cross_profile`]) is fitted
//!    with that model, width, σ, amplitude and baseline all free
//!    ([`fit_bar`]); wide shafts (D ≥ 2σ) separate σ from D, and the median σ
//!    of their fits is the image's blur ([`estimate_sigma`]).
//! 3. Each shaft's diameter is then the bar width whose blurred FWHM equals
//!    its measured FWHM at that σ ([`deblurred_width`]).
//!
//! The PSF width found this way includes the lens's defocus, pixel
//! integration and the bilinear sampling of the profile: the same kernels
//! that widen the shaft widen the edges it is measured from. One σ serves the
//! whole image, so a field with a shallow depth of field is corrected on
//! average. A translucent (vellus) shaft's profile is rounder than a bar's,
//! so it reads up to ~13% narrower (the FWHM of a semi-ellipse is √3/2 of its
//! width); an opaque wire or fibre of known diameter photographed at the same
//! magnification checks the whole chain (see the README).
//!
//! # References
//! - Smith W. J. (2008) *Modern Optical Engineering*, 4th ed., §11 (edge and
//!   line spread functions of a Gaussian PSF).
//! - Steger C. (1998) An unbiased detector of curvilinear structures. IEEE
//!   TPAMI 20(2):113–125 (bar-shaped line profile convolved with a Gaussian,
//!   and the bias of line width it causes). doi:10.1109/34.659930

use statrs::function::erf::erf;

use super::measure::{sample, walk};
use super::preprocess::GrayF32;

/// FWHM of a Gaussian in units of its σ: 2√(2 ln 2).
pub const GAUSS_FWHM_PER_SIGMA: f64 = 2.354_820_045_030_949;

/// Spacing of the samples of a [`CrossProfile`], pixels.
pub const PROFILE_STEP_PX: f32 = 0.25;

/// Profile across a bar of width `d` blurred by a Gaussian of σ `sigma`, at
/// distance `x` from its centre (all in the same unit); 1 at the centre of a
/// wide bar, 0 far away.
///
/// # Examples
/// ```
/// use trichometry::pipeline::blur::bar_profile;
/// assert!((bar_profile(0.0, 20.0, 1.0) - 1.0).abs() < 1e-9);
/// assert!((bar_profile(10.0, 20.0, 1.0) - 0.5).abs() < 1e-9); // the edge
/// assert_eq!(bar_profile(3.0, 4.0, 0.0), 0.0);
/// ```
pub fn bar_profile(x: f64, d: f64, sigma: f64) -> f64 {
    let h = 0.5 * d.max(0.0);
    if sigma <= 0.0 {
        return if x.abs() < h {
            1.0
        } else if x.abs() == h {
            0.5
        } else {
            0.0
        };
    }
    let s = sigma * std::f64::consts::SQRT_2;
    0.5 * (erf((x + h) / s) - erf((x - h) / s))
}

/// FWHM of [`bar_profile`]: `d` for a sharp bar, 2.355 σ for a vanishing one.
///
/// # Examples
/// ```
/// use trichometry::pipeline::blur::{bar_fwhm, GAUSS_FWHM_PER_SIGMA};
/// assert!((bar_fwhm(12.0, 0.0) - 12.0).abs() < 1e-9);
/// assert!((bar_fwhm(1e-6, 2.0) - 2.0 * GAUSS_FWHM_PER_SIGMA).abs() < 1e-4);
/// assert!(bar_fwhm(8.0, 4.0) > 8.0);
/// ```
pub fn bar_fwhm(d: f64, sigma: f64) -> f64 {
    if sigma <= 0.0 {
        return d.max(0.0);
    }
    let half = 0.5 * bar_profile(0.0, d, sigma);
    // The profile falls monotonically from the centre: bisect its half level.
    let (mut lo, mut hi) = (0.0f64, 0.5 * d.max(0.0) + 8.0 * sigma);
    for _ in 0..80 {
        let before = (lo, hi);
        let mid = 0.5 * (lo + hi);
        if bar_profile(mid, d, sigma) > half {
            lo = mid;
        } else {
            hi = mid;
        }
        // An unchanged interval stays unchanged: the remaining steps would
        // repeat this one, so stopping gives the same answer.
        if (lo, hi) == before {
            break;
        }
    }
    lo + hi
}

/// Bar width whose blurred FWHM at `sigma` is `fwhm` (same unit): the
/// inverse of [`bar_fwhm`] in its first argument.
///
/// A shaft whose FWHM is barely above the blur's own (2.355 σ) is thinner than
/// the blur can resolve; its width is reported as at least `sigma / 2`, below
/// which a FWHM no longer tells widths apart (it changes by < 2%). With
/// `sigma` ≤ 0 the optical width is returned unchanged.
///
/// # Examples
/// ```
/// use trichometry::pipeline::blur::{bar_fwhm, deblurred_width};
/// // A 6 px shaft blurred by σ = 3 px reads about 8.3 px; the correction undoes it.
/// let seen = bar_fwhm(6.0, 3.0);
/// assert!(seen > 8.0);
/// assert!((deblurred_width(seen, 3.0) - 6.0).abs() < 1e-6);
/// assert_eq!(deblurred_width(7.0, 0.0), 7.0);
/// ```
pub fn deblurred_width(fwhm: f64, sigma: f64) -> f64 {
    if sigma.is_nan() || sigma <= 0.0 || !fwhm.is_finite() {
        return fwhm;
    }
    let floor = 0.5 * sigma;
    if fwhm <= bar_fwhm(floor, sigma) {
        return floor;
    }
    // bar_fwhm(d) ≥ d, so the answer lies in [floor, fwhm].
    let (mut lo, mut hi) = (floor, fwhm.max(floor));
    for _ in 0..60 {
        let before = (lo, hi);
        let mid = 0.5 * (lo + hi);
        if bar_fwhm(mid, sigma) < fwhm {
            lo = mid;
        } else {
            hi = mid;
        }
        if (lo, hi) == before {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// The median profile across a shaft: contrast at offsets `−k..=k` ×
/// [`PROFILE_STEP_PX`] from its centre line.
#[derive(Debug, Clone, PartialEq)]
pub struct CrossProfile {
    /// Offset of each sample from the shaft's centre, pixels.
    pub offsets: Vec<f32>,
    /// Median contrast (hairness) at each offset over the shaft's length.
    pub values: Vec<f32>,
    /// Number of positions along the shaft the median was taken over.
    pub positions: usize,
    /// Median FWHM of the individual cross-sections, pixels.
    pub fwhm_px: f32,
}

/// Where a cross-section through `p` along the normal `n` falls to half its
/// peak on each side: `(centre offset, fwhm)`, pixels. The peak is searched
/// within ±1 px of `p`.
pub(crate) fn half_max_section(
    hairness: &GrayF32,
    p: [f32; 2],
    n: [f32; 2],
    max_half_px: f32,
) -> Option<(f32, f32)> {
    let at = |s: f32| sample(hairness, p[0] + n[0] * s, p[1] + n[1] * s);
    let mut peak = f32::NEG_INFINITY;
    let mut s0 = 0.0;
    let mut s = -1.0;
    while s <= 1.0 {
        let v = at(s);
        if v > peak {
            peak = v;
            s0 = s;
        }
        s += PROFILE_STEP_PX;
    }
    if peak <= 0.0 {
        return None;
    }
    let half = peak / 2.0;
    let side = |dir: f32| {
        let mut prev = peak;
        let mut d = PROFILE_STEP_PX;
        while d <= max_half_px {
            let v = at(s0 + dir * d);
            if v < half {
                let f = if prev > v {
                    (prev - half) / (prev - v)
                } else {
                    0.0
                };
                return d - PROFILE_STEP_PX + PROFILE_STEP_PX * f;
            }
            prev = v;
            d += PROFILE_STEP_PX;
        }
        max_half_px
    };
    let (l, r) = (side(-1.0), side(1.0));
    Some((s0 + 0.5 * (r - l), l + r))
}

/// The median cross-profile of a shaft, each cross-section centred on the
/// midpoint of its half-maximum crossings, over the inner 80% of the shaft
/// (the exit fades and the tip is cut). The profile extends `half_px` on each
/// side. `None` with fewer than 5 usable cross-sections.
///
/// The median over positions keeps crossing hairs, specks and the odd
/// misplaced section out of the profile.
///
/// # Examples
/// ```
/// use trichometry::pipeline::{blur::cross_profile, preprocess::GrayF32};
/// let img = GrayF32::from_fn(40, 40, |x, _| image::Luma([if (17..23).contains(&x) { 1.0 } else { 0.0 }]));
/// let p = cross_profile(&img, &[[19.5, 5.0], [19.5, 35.0]], 1.0, 8.0, 15.0).unwrap();
/// assert!((p.fwhm_px - 6.0).abs() < 0.3);
/// let centre = p.values[p.values.len() / 2];
/// assert!((centre - 1.0).abs() < 1e-6);
/// ```
pub fn cross_profile(
    hairness: &GrayF32,
    poly: &[[f32; 2]],
    step_px: f32,
    half_px: f32,
    max_half_px: f32,
) -> Option<CrossProfile> {
    let pts = walk(poly, step_px);
    let n = pts.len();
    let inner = if n >= 10 {
        &pts[n / 10..n - n / 10]
    } else {
        &pts[..]
    };
    let k = (half_px / PROFILE_STEP_PX).ceil().max(1.0) as i32;
    let mut columns: Vec<Vec<f32>> = vec![Vec::new(); (2 * k + 1) as usize];
    let mut widths = Vec::new();
    for &(p, t) in inner {
        let nrm = [-t[1], t[0]];
        let Some((c, w)) = half_max_section(hairness, p, nrm, max_half_px) else {
            continue;
        };
        widths.push(w);
        for (j, col) in columns.iter_mut().enumerate() {
            let s = c + (j as i32 - k) as f32 * PROFILE_STEP_PX;
            col.push(sample(hairness, p[0] + nrm[0] * s, p[1] + nrm[1] * s));
        }
    }
    if widths.len() < 5 {
        return None;
    }
    let median = |v: &mut Vec<f32>| {
        v.sort_by(f32::total_cmp);
        let m = v.len() / 2;
        if v.len() % 2 == 1 {
            v[m]
        } else {
            0.5 * (v[m - 1] + v[m])
        }
    };
    let values: Vec<f32> = columns.iter_mut().map(median).collect();
    let offsets = (-k..=k).map(|j| j as f32 * PROFILE_STEP_PX).collect();
    Some(CrossProfile {
        offsets,
        values,
        positions: widths.len(),
        fwhm_px: median(&mut widths),
    })
}

/// A least-squares fit of `baseline + amplitude · bar_profile(x, width, sigma)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BarFit {
    /// Contrast of the bar's centre when unblurred.
    pub amplitude: f64,
    /// Contrast far from the bar.
    pub baseline: f64,
    /// Bar width, pixels.
    pub width_px: f64,
    /// Gaussian σ of the blur, pixels.
    pub sigma_px: f64,
    /// Coefficient of determination of the fit.
    pub r2: f64,
}

/// [`bar_profile`] sampled at a profile's offsets, into a reused buffer.
/// When the offsets are symmetric about 0 (as [`cross_profile`] makes them),
/// each `erf` serves two samples: `erf` is odd (with `erf(±0) = +0`), and
/// `x + h` at one offset is exactly `−(x − h)` at its mirror, so the values
/// are bit for bit those of [`bar_profile`] with half the `erf` calls.
struct Model {
    symmetric: bool,
    values: Vec<f64>,
}

impl Model {
    fn new(x: &[f64]) -> Model {
        let n = x.len();
        Model {
            symmetric: (0..n).all(|j| x[j] == -x[n - 1 - j]),
            values: Vec::with_capacity(n),
        }
    }

    fn sample(&mut self, x: &[f64], d: f64, sigma: f64) -> &[f64] {
        let v = &mut self.values;
        v.clear();
        if !self.symmetric || sigma <= 0.0 {
            v.extend(x.iter().map(|&xi| bar_profile(xi, d, sigma)));
            return v;
        }
        let h = 0.5 * d.max(0.0);
        let s = sigma * std::f64::consts::SQRT_2;
        // erf((x − h)/s) at every offset; at offset j, erf((x + h)/s) is
        // minus that value at the mirrored offset.
        v.extend(x.iter().map(|&xi| erf((xi - h) / s)));
        let n = v.len();
        for j in 0..n.div_ceil(2) {
            let (lo, hi) = (v[j], v[n - 1 - j]);
            // `0.0 - e` rather than `-e`: erf(±0) is +0, never −0.
            v[j] = 0.5 * ((0.0 - hi) - lo);
            v[n - 1 - j] = 0.5 * ((0.0 - lo) - hi);
        }
        v
    }
}

/// Residual sum of squares of the best `(amplitude, baseline)` for a given
/// shape, and those two, in one pass; amplitude is kept ≥ 0.
fn linear_fit(x: &[f64], y: &[f64], d: f64, sigma: f64, model: &mut Model) -> (f64, f64, f64) {
    let n = x.len() as f64;
    let g = model.sample(x, d, sigma);
    let (mut sg, mut sgg, mut sy, mut sgy, mut syy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (&g, &yi) in g.iter().zip(y) {
        sg += g;
        sgg += g * g;
        sy += yi;
        sgy += g * yi;
        syy += yi * yi;
    }
    let det = n * sgg - sg * sg;
    let (mut a, mut b) = if det.abs() > 1e-12 {
        ((n * sgy - sg * sy) / det, (sgg * sy - sg * sgy) / det)
    } else {
        (0.0, sy / n)
    };
    if a < 0.0 {
        a = 0.0;
        b = sy / n;
    }
    let rss = syy - 2.0 * a * sgy - 2.0 * b * sy + a * a * sgg + 2.0 * a * b * sg + n * b * b;
    (rss.max(0.0), a, b)
}

/// Full width at half maximum of a sampled profile above its baseline (the
/// median of its outer fifth), interpolated; `None` without a peak.
fn sampled_fwhm(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = y.len();
    let (ip, &peak) = y.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1))?;
    let mut outer: Vec<f64> = y[..n / 10]
        .iter()
        .chain(&y[n - n / 10..])
        .copied()
        .collect();
    outer.sort_by(f64::total_cmp);
    let base = *outer.get(outer.len() / 2)?;
    let half = 0.5 * (peak + base);
    if peak <= base {
        return None;
    }
    let crossing = |dir: isize| -> Option<f64> {
        let mut i = ip as isize;
        loop {
            let j = i + dir;
            if j < 0 || j >= n as isize {
                return None;
            }
            let (yi, yj) = (y[i as usize], y[j as usize]);
            if yj < half {
                let f = (yi - half) / (yi - yj);
                return Some(x[i as usize] + f * (x[j as usize] - x[i as usize]));
            }
            i = j;
        }
    };
    Some((crossing(1)? - crossing(-1)?).abs())
}

/// Fits the blurred-bar model to a cross-profile (offsets `x` in pixels,
/// contrast `y`): amplitude and baseline by linear least squares for each
/// shape, the shape searched first along the curve of (width, σ) pairs that
/// give the profile's measured FWHM (a one-parameter family indexed by
/// width/σ, which spans sharp bars to blurred lines), then refined freely
/// in (log width, log σ) four times. `None` when the profile is flat, has no
/// clear half maximum, or has fewer than 8 samples.
///
/// The first search matters: for widths below σ the model's shape barely
/// changes with width, a flat valley in which a plain grid search settles.
///
/// # Examples
/// ```
/// use trichometry::pipeline::blur::{bar_profile, fit_bar};
/// let x: Vec<f64> = (-60..=60).map(|i| i as f64 * 0.25).collect();
/// let y: Vec<f64> = x.iter().map(|&v| 0.02 + 0.4 * bar_profile(v, 9.0, 1.5)).collect();
/// let f = fit_bar(&x, &y).unwrap();
/// assert!((f.width_px - 9.0).abs() < 0.05 && (f.sigma_px - 1.5).abs() < 0.05);
/// ```
pub fn fit_bar(x: &[f64], y: &[f64]) -> Option<BarFit> {
    if x.len() != y.len() || x.len() < 8 {
        return None;
    }
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    let tss: f64 = y.iter().map(|v| (v - mean).powi(2)).sum();
    let scale: f64 = y.iter().map(|v| v * v).sum();
    if tss.is_nan() || tss <= 1e-12 * scale.max(1e-300) {
        return None;
    }
    let w0 = sampled_fwhm(x, y)?;
    if w0 <= 0.0 {
        return None;
    }
    let mut model = Model::new(x);
    // Along the constant-FWHM curve: ratio t = width/σ from 0.02 to 100.
    let mut best = (f64::INFINITY, 0.0, 0.0);
    let steps = 48;
    let (t_lo, t_hi) = (0.02f64.ln(), 100f64.ln());
    for i in 0..=steps {
        let t = (t_lo + (t_hi - t_lo) * i as f64 / steps as f64).exp();
        let sigma = w0 / bar_fwhm(t, 1.0);
        let (rss, _, _) = linear_fit(x, y, t * sigma, sigma, &mut model);
        if rss < best.0 {
            best = (rss, (t * sigma).ln(), sigma.ln());
        }
    }
    let mut step = 0.15;
    for _ in 0..5 {
        let (c_d, c_s) = (best.1, best.2);
        for i in -4..=4 {
            for j in -4..=4 {
                let (ld, ls) = (c_d + f64::from(i) * step, c_s + f64::from(j) * step);
                let (rss, _, _) = linear_fit(x, y, ld.exp(), ls.exp(), &mut model);
                if rss < best.0 {
                    best = (rss, ld, ls);
                }
            }
        }
        step /= 3.0;
    }
    let (rss, ld, ls) = best;
    let (_, a, b) = linear_fit(x, y, ld.exp(), ls.exp(), &mut model);
    Some(BarFit {
        amplitude: a,
        baseline: b,
        width_px: ld.exp(),
        sigma_px: ls.exp(),
        r2: 1.0 - rss / tss,
    })
}

/// The image's blur σ in pixels from the cross-profiles of its shafts: the
/// median σ of the [`fit_bar`] fits that resolve their shaft (width ≥ 2σ,
/// R² ≥ 0.95). `None` when no shaft qualifies (every shaft is thinner than
/// about twice the blur, or none was measured).
///
/// # Examples
/// ```
/// use trichometry::pipeline::blur::{bar_profile, estimate_sigma, CrossProfile};
/// let offsets: Vec<f32> = (-64..=64).map(|i| i as f32 * 0.25).collect();
/// let shaft = |d: f64| CrossProfile {
///     values: offsets.iter().map(|&x| 0.3 * bar_profile(x as f64, d, 1.2) as f32).collect(),
///     offsets: offsets.clone(),
///     positions: 20,
///     fwhm_px: 0.0,
/// };
/// let s = estimate_sigma(&[shaft(10.0), shaft(14.0), shaft(1.0)]).unwrap();
/// assert!((s - 1.2).abs() < 0.05);
/// ```
pub fn estimate_sigma<'a>(profiles: impl IntoIterator<Item = &'a CrossProfile>) -> Option<f64> {
    let mut sigmas: Vec<f64> = profiles
        .into_iter()
        .filter_map(|p| {
            let x: Vec<f64> = p.offsets.iter().map(|&v| f64::from(v)).collect();
            let y: Vec<f64> = p.values.iter().map(|&v| f64::from(v)).collect();
            fit_bar(&x, &y)
        })
        .filter(|f| f.r2 >= 0.95 && f.width_px >= 2.0 * f.sigma_px && f.amplitude > 0.0)
        .map(|f| f.sigma_px)
        .collect();
    if sigmas.is_empty() {
        return None;
    }
    sigmas.sort_by(f64::total_cmp);
    let m = sigmas.len() / 2;
    Some(if sigmas.len() % 2 == 1 {
        sigmas[m]
    } else {
        0.5 * (sigmas[m - 1] + sigmas[m])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // FWHM of the bar model is d for wide bars and tends to the Gaussian's.
    #[test]
    fn fwhm_limits_and_monotone() {
        assert!((bar_fwhm(40.0, 1.0) - 40.0).abs() < 1e-6);
        let g = bar_fwhm(1e-4, 3.0);
        assert!((g - 3.0 * GAUSS_FWHM_PER_SIGMA).abs() < 1e-3, "{g}");
        let mut prev = 0.0;
        for i in 1..100 {
            let f = bar_fwhm(i as f64 * 0.2, 2.0);
            assert!(f > prev);
            prev = f;
        }
    }

    // The model sampled on a symmetric grid (one erf per sample) equals
    // bar_profile at every offset, bit for bit; an asymmetric grid takes
    // bar_profile itself.
    #[test]
    fn symmetric_sampling_is_bar_profile() {
        let sym: Vec<f64> = (-64..=64).map(|j| f64::from(j as f32 * 0.25)).collect();
        let asym: Vec<f64> = (-60..=64).map(|j| f64::from(j as f32 * 0.25)).collect();
        for x in [&sym, &asym] {
            let mut m = Model::new(x);
            assert_eq!(m.symmetric, x.len() == 129);
            for d in [0.0, 0.3, 1.0, 2.5, 7.75, 13.0, 40.0] {
                for sigma in [0.0, 0.05, 0.7, 1.2, 3.3, 9.0] {
                    let got = m.sample(x, d, sigma).to_vec();
                    let want: Vec<f64> = x.iter().map(|&v| bar_profile(v, d, sigma)).collect();
                    let bits = |v: &[f64]| v.iter().map(|g| g.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&got), bits(&want), "d {d}, sigma {sigma}");
                }
            }
        }
    }

    // Stopping a bisection once its interval stops changing gives the same
    // bits as taking every step.
    #[test]
    fn early_stop_changes_nothing() {
        // The bisections as first written, every step taken.
        let fwhm_all_steps = |d: f64, sigma: f64| {
            let half = 0.5 * bar_profile(0.0, d, sigma);
            let (mut lo, mut hi) = (0.0f64, 0.5 * d.max(0.0) + 8.0 * sigma);
            for _ in 0..80 {
                let mid = 0.5 * (lo + hi);
                if bar_profile(mid, d, sigma) > half {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            lo + hi
        };
        for i in 1..40 {
            for s in [0.3, 1.0, 2.5, 6.0] {
                let d = f64::from(i) * 0.7;
                assert_eq!(bar_fwhm(d, s).to_bits(), fwhm_all_steps(d, s).to_bits());
                let fwhm = fwhm_all_steps(d, s);
                let (floor, mut lo, mut hi) = (0.5 * s, 0.5 * s, fwhm.max(0.5 * s));
                if fwhm > fwhm_all_steps(floor, s) {
                    for _ in 0..60 {
                        let mid = 0.5 * (lo + hi);
                        if fwhm_all_steps(mid, s) < fwhm {
                            lo = mid;
                        } else {
                            hi = mid;
                        }
                    }
                    assert_eq!(
                        deblurred_width(fwhm, s).to_bits(),
                        (0.5 * (lo + hi)).to_bits()
                    );
                }
            }
        }
    }

    // Inversion round-trips wherever the width is resolvable.
    #[test]
    fn deblur_round_trip() {
        for &s in &[0.5, 1.0, 3.0, 6.0] {
            for &d in &[0.5, 1.0, 2.0, 5.0, 12.0, 30.0] {
                if d < 0.5 * s {
                    continue;
                }
                let back = deblurred_width(bar_fwhm(d, s), s);
                assert!((back - d).abs() < 1e-6 * d.max(1.0), "d {d} σ {s}: {back}");
            }
        }
        // Narrower than the blur can tell: the floor.
        assert_eq!(deblurred_width(2.0, 3.0), 1.5);
        assert!(deblurred_width(f64::NAN, 1.0).is_nan());
    }

    // The fit recovers width and σ with noise on the profile.
    #[test]
    fn fit_recovers_parameters_under_noise() {
        let x: Vec<f64> = (-80..=80).map(|i| i as f64 * 0.25).collect();
        let mut state = 12345u64;
        let mut noise = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 0.01
        };
        let y: Vec<f64> = x
            .iter()
            .map(|&v| 0.5 * bar_profile(v, 12.0, 2.0) + noise())
            .collect();
        let f = fit_bar(&x, &y).unwrap();
        assert!((f.width_px - 12.0).abs() < 0.3, "{f:?}");
        assert!((f.sigma_px - 2.0).abs() < 0.2, "{f:?}");
        assert!(f.r2 > 0.99);
        assert!(fit_bar(&x, &vec![0.3; x.len()]).is_none());
    }
}
