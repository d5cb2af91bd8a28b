//! How one photograph sees a patch: framing, optics, light, sensor and masks.
//!
//! A [`Capture`] maps patch coordinates (µm) to pixels with a shift and a
//! rotation, and holds every capture effect applied after the scene is drawn:
//! illumination (vignetting, gradient, brightness, colour cast), Gaussian
//! defocus, Poisson–Gaussian sensor noise, JPEG quality, and the masks that
//! hide part of the frame (round field of view, burned-in text bands).

use serde::{Deserialize, Serialize};

use super::rng::SynthRng;
use super::scenario::SynthParams;
use super::scene::{Lookalike, LookalikeKind};

/// What part of the frame cannot be analysed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Mask {
    /// Round field of view `[cx, cy, r]` in pixels: pixels whose centre lies farther
    /// than `r` from `(cx, cy)` are black and not analysed.
    pub circle: Option<[f64; 3]>,
    /// Burned-in bands `[x0, y0, x1, y1]`, inclusive pixel rectangles.
    pub bands: Vec<[u32; 4]>,
    /// Text burned into the bands (informational).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl Mask {
    /// Whether the pixel `(x, y)` is analysed (not masked).
    pub fn pixel_analysed(&self, x: u32, y: u32) -> bool {
        if let Some([cx, cy, r]) = self.circle {
            let dx = f64::from(x) - cx;
            let dy = f64::from(y) - cy;
            if dx * dx + dy * dy > r * r {
                return false;
            }
        }
        !self
            .bands
            .iter()
            .any(|b| x >= b[0] && x <= b[2] && y >= b[1] && y <= b[3])
    }

    /// Whether the point `p` (pixels, continuous) is in the analysed area: it
    /// lies in the frame and the pixel that contains it is analysed.
    pub fn point_analysed(&self, p: [f64; 2], width: u32, height: u32) -> bool {
        match pixel_of(p, width, height) {
            Some((x, y)) => self.pixel_analysed(x, y),
            None => false,
        }
    }

    /// Whether nothing is masked.
    pub fn is_empty(&self) -> bool {
        self.circle.is_none() && self.bands.is_empty()
    }
}

/// The pixel containing point `p` (pixel centres at integers, so pixel `x`
/// covers `[x - 0.5, x + 0.5)`), or `None` outside the frame.
pub fn pixel_of(p: [f64; 2], width: u32, height: u32) -> Option<(u32, u32)> {
    let x = (p[0] + 0.5).floor();
    let y = (p[1] + 0.5).floor();
    if x >= 0.0 && y >= 0.0 && x < f64::from(width) && y < f64::from(height) {
        Some((x as u32, y as u32))
    } else {
        None
    }
}

/// One photograph of a patch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Capture {
    /// Image width, pixels.
    pub width_px: u32,
    /// Image height, pixels.
    pub height_px: u32,
    /// Pixel size, µm/px.
    pub pixel_size_um: f64,
    /// Patch point (µm) at the centre of the frame.
    pub center_um: [f64; 2],
    /// Rotation of the camera, radians (patch → image rotates by minus this).
    pub rotation_rad: f64,
    /// Cross-polarised light: no specular highlights on skin or shafts, no glare.
    pub polarised: bool,
    /// Immersion fluid between lens and skin: flatter skin texture, possible bubbles.
    pub immersion: bool,
    /// Overall brightness factor.
    pub brightness: f64,
    /// Relative darkening at the frame corners.
    pub vignetting: f64,
    /// Relative illumination change across the frame along `gradient_dir_rad`.
    pub gradient: f64,
    /// Direction of the illumination gradient, radians.
    pub gradient_dir_rad: f64,
    /// Per-channel white-balance gains (R, G, B).
    pub colour_gain: [f64; 3],
    /// Gaussian defocus σ, pixels.
    pub blur_sigma_px: f64,
    /// Noise standard deviation at mid-grey, 8-bit levels.
    pub noise_sd: f64,
    /// Seed of the sensor noise.
    pub noise_seed: u64,
    /// JPEG quality the image is written with; `None` = PNG.
    pub jpeg_quality: Option<u8>,
    /// Masked regions.
    pub mask: Mask,
    /// Bubbles and glare spots of this capture, centres in µm relative to the frame centre (unrotated frame axes).
    pub overlays: Vec<Lookalike>,
}

impl Capture {
    /// A default, clean capture of `width × height` pixels centred on the patch.
    pub fn clean(width_px: u32, height_px: u32, pixel_size_um: f64) -> Capture {
        Capture {
            width_px,
            height_px,
            pixel_size_um,
            center_um: [0.0, 0.0],
            rotation_rad: 0.0,
            polarised: true,
            immersion: false,
            brightness: 1.0,
            vignetting: 0.0,
            gradient: 0.0,
            gradient_dir_rad: 0.0,
            colour_gain: [1.0; 3],
            blur_sigma_px: 0.0,
            noise_sd: 0.0,
            noise_seed: 0,
            jpeg_quality: None,
            mask: Mask::default(),
            overlays: Vec::new(),
        }
    }

    /// Frame size in pixels for a field area (cm²), aspect and pixel size.
    pub fn frame_size(field_cm2: f64, aspect: f64, pixel_size_um: f64) -> (u32, u32) {
        let h_um = (field_cm2 * 1e8 / aspect).sqrt();
        let w = (h_um * aspect / pixel_size_um).round().max(8.0) as u32;
        let h = (h_um / pixel_size_um).round().max(8.0) as u32;
        (w, h)
    }

    /// Draws a random capture from `params` (size, optics, light, masks, bubbles, glare).
    pub fn random(params: &SynthParams, rng: &mut SynthRng) -> Capture {
        let pixel_size_um = rng.range2(params.pixel_size_um);
        let field = rng.range2(params.field_cm2);
        let (w, h) = Self::frame_size(field, params.aspect, pixel_size_um);
        let mut c = Capture::clean(w, h, pixel_size_um);
        c.polarised = rng.chance(params.polarised_prob);
        c.immersion = rng.chance(params.immersion_prob);
        c.brightness = rng.range2(params.brightness);
        c.vignetting = rng.range2(params.vignetting);
        c.gradient = rng.range2(params.illumination_gradient);
        c.gradient_dir_rad = rng.range(0.0, std::f64::consts::TAU);
        let cc = params.colour_cast;
        c.colour_gain = [
            1.0 + rng.range(-cc, cc),
            1.0 + rng.range(-cc, cc) * 0.5,
            1.0 + rng.range(-cc, cc),
        ];
        c.blur_sigma_px = rng.range2(params.blur_sigma_um) / pixel_size_um;
        c.noise_sd = rng.range2(params.noise_sd);
        c.noise_seed = rng.next_u64();
        c.jpeg_quality = params.jpeg_quality.map(|[lo, hi]| {
            (f64::from(lo) + rng.uniform() * (f64::from(hi) - f64::from(lo) + 1.0))
                .floor()
                .min(f64::from(hi)) as u8
        });
        if rng.chance(params.round_fov_prob) {
            let cx = (f64::from(w) - 1.0) / 2.0;
            let cy = (f64::from(h) - 1.0) / 2.0;
            // Between touching the long sides and just clipping the corners.
            let half_diag = (cx * cx + cy * cy).sqrt();
            let r = rng.range(cx.max(cy), 0.95 * half_diag);
            c.mask.circle = Some([cx, cy, r]);
        }
        if rng.chance(params.text_band_prob) {
            let bh = ((f64::from(h) * rng.range(0.035, 0.06)).round() as u32).clamp(8, h / 4);
            let top = rng.chance(0.7);
            let band = if top {
                [0, 0, w - 1, bh - 1]
            } else {
                [0, h - bh, w - 1, h - 1]
            };
            c.mask.bands.push(band);
            let mag = (175.0 / pixel_size_um).round();
            c.mask.text = Some(format!(
                "S{:03}  {}x{}  2026/{:02}/{:02} {:02}:{:02}  {mag}x",
                rng.below(1000),
                w,
                h,
                1 + rng.below(12),
                1 + rng.below(28),
                8 + rng.below(10),
                rng.below(60)
            ));
        }
        let area = field;
        let wu = f64::from(w) * pixel_size_um;
        let hu = f64::from(h) * pixel_size_um;
        let mut add = |kind: LookalikeKind, rate: f64, size: [f64; 2], rng: &mut SynthRng| {
            for _ in 0..rng.poisson(rate * area) {
                c.overlays.push(Lookalike {
                    kind,
                    center_um: [
                        rng.range(-wu / 2.0, wu / 2.0),
                        rng.range(-hu / 2.0, hu / 2.0),
                    ],
                    size_um: rng.range2(size),
                    angle_rad: rng.range(0.0, std::f64::consts::TAU),
                    width_um: 0.0,
                    shape_seed: rng.next_u64(),
                });
            }
        };
        let bubbles = if c.immersion {
            params.lookalikes.bubble_per_cm2
        } else {
            0.0
        };
        let glare = if c.polarised {
            0.0
        } else {
            params.lookalikes.glare_per_cm2
        };
        add(LookalikeKind::Bubble, bubbles, [50.0, 500.0], rng);
        add(LookalikeKind::Glare, glare, [40.0, 250.0], rng);
        c
    }

    /// The same capture moved by `shift_um` (patch µm) and rotated by `rotation_rad`,
    /// with new noise: a re-imaging of the same spot.
    #[must_use]
    pub fn moved(&self, shift_um: [f64; 2], rotation_rad: f64, noise_seed: u64) -> Capture {
        let mut c = self.clone();
        c.center_um = [c.center_um[0] + shift_um[0], c.center_um[1] + shift_um[1]];
        c.rotation_rad += rotation_rad;
        c.noise_seed = noise_seed;
        c
    }

    /// Maps a patch point (µm) to image pixels.
    pub fn to_px(&self, p: [f64; 2]) -> [f64; 2] {
        let (s, co) = self.rotation_rad.sin_cos();
        let dx = p[0] - self.center_um[0];
        let dy = p[1] - self.center_um[1];
        // Rotate by -rotation.
        let rx = co * dx + s * dy;
        let ry = -s * dx + co * dy;
        [
            rx / self.pixel_size_um + (f64::from(self.width_px) - 1.0) / 2.0,
            ry / self.pixel_size_um + (f64::from(self.height_px) - 1.0) / 2.0,
        ]
    }

    /// Maps image pixels to a patch point (µm); the inverse of [`Capture::to_px`].
    pub fn to_um(&self, q: [f64; 2]) -> [f64; 2] {
        let rx = (q[0] - (f64::from(self.width_px) - 1.0) / 2.0) * self.pixel_size_um;
        let ry = (q[1] - (f64::from(self.height_px) - 1.0) / 2.0) * self.pixel_size_um;
        let (s, co) = self.rotation_rad.sin_cos();
        [
            co * rx - s * ry + self.center_um[0],
            s * rx + co * ry + self.center_um[1],
        ]
    }

    /// Maps a frame-relative point (µm from the frame centre, image axes) to pixels.
    pub fn frame_um_to_px(&self, p: [f64; 2]) -> [f64; 2] {
        [
            p[0] / self.pixel_size_um + (f64::from(self.width_px) - 1.0) / 2.0,
            p[1] / self.pixel_size_um + (f64::from(self.height_px) - 1.0) / 2.0,
        ]
    }

    /// Rotation of a patch direction into image axes, radians.
    pub fn angle_to_image(&self, a: f64) -> f64 {
        a - self.rotation_rad
    }

    /// Frame area, cm².
    pub fn field_area_cm2(&self) -> f64 {
        f64::from(self.width_px)
            * f64::from(self.height_px)
            * self.pixel_size_um
            * self.pixel_size_um
            * 1e-8
    }

    /// Number of analysed (unmasked) pixels.
    pub fn analysed_pixels(&self) -> u64 {
        if self.mask.is_empty() {
            return u64::from(self.width_px) * u64::from(self.height_px);
        }
        let mut n = 0u64;
        for y in 0..self.height_px {
            for x in 0..self.width_px {
                n += u64::from(self.mask.pixel_analysed(x, y));
            }
        }
        n
    }

    /// Analysed area, cm²: analysed pixels × pixel area.
    pub fn analysed_area_cm2(&self) -> f64 {
        self.analysed_pixels() as f64 * self.pixel_size_um * self.pixel_size_um * 1e-8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // to_um inverts to_px under shift and rotation.
    #[test]
    fn transform_round_trip() {
        let mut c = Capture::clean(640, 512, 3.0);
        c.center_um = [120.0, -40.0];
        c.rotation_rad = 0.3;
        let p = [311.0, -77.5];
        let q = c.to_um(c.to_px(p));
        assert!((q[0] - p[0]).abs() < 1e-9 && (q[1] - p[1]).abs() < 1e-9);
        // The frame centre maps to the centre pixel.
        let m = c.to_px(c.center_um);
        assert!((m[0] - 319.5).abs() < 1e-9 && (m[1] - 255.5).abs() < 1e-9);
    }

    // A 10x10 frame with a 2-row band leaves 80 analysed pixels; pixel_of follows the
    // half-open pixel convention.
    #[test]
    fn band_mask_area() {
        let mut c = Capture::clean(10, 10, 10.0);
        c.mask.bands.push([0, 0, 9, 1]);
        assert_eq!(c.analysed_pixels(), 80);
        assert!((c.analysed_area_cm2() - 80.0 * 100.0 * 1e-8).abs() < 1e-15);
        assert_eq!(pixel_of([-0.5, 0.49], 10, 10), Some((0, 0)));
        assert_eq!(pixel_of([9.5, 3.0], 10, 10), None);
        assert!(!c.mask.point_analysed([3.0, 1.2], 10, 10));
        assert!(c.mask.point_analysed([3.0, 1.6], 10, 10));
    }
}
