//! A crafted scene: skin with mild noise, and hairs, bars, discs and rings
//! drawn with known geometry, so expected counts follow from the drawing.
#![allow(dead_code)]

use image::{DynamicImage, Rgb, RgbImage};
use trichometry::report::Roi;
use trichometry::{Config, Pipeline, PixelScale};

pub const SKIN: [f32; 3] = [215.0, 200.0, 205.0];
pub const HAIR: [f32; 3] = [45.0, 40.0, 42.0];

pub struct Scene {
    pub img: RgbImage,
    pub um: f32,
}

impl Scene {
    /// Skin of `w_mm × h_mm` at `um` µm/px, with mild deterministic noise.
    pub fn new(w_mm: f32, h_mm: f32, um: f32) -> Scene {
        let (w, h) = ((w_mm * 1000.0 / um) as u32, (h_mm * 1000.0 / um) as u32);
        let mut state = 12345u32;
        let img = RgbImage::from_fn(w, h, |_, _| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let n = ((state >> 24) as f32 / 255.0 - 0.5) * 6.0;
            Rgb(SKIN.map(|c| (c + n).clamp(0.0, 255.0) as u8))
        });
        Scene { img, um }
    }
    pub fn px(&self, mm: f32) -> f32 {
        mm * 1000.0 / self.um
    }
    /// Anti-aliased flat-ended bar from `a` to `b` (mm), `width_um` wide, blended with `mix` of `col`.
    pub fn bar(&mut self, a: (f32, f32), b: (f32, f32), width_um: f32, col: [f32; 3], mix: f32) {
        let (ax, ay, bx, by) = (self.px(a.0), self.px(a.1), self.px(b.0), self.px(b.1));
        let hw = width_um / self.um / 2.0;
        let (dx, dy) = (bx - ax, by - ay);
        let len = (dx * dx + dy * dy).sqrt();
        let (tx, ty) = (dx / len, dy / len);
        let (w, h) = self.img.dimensions();
        let x0 = (ax.min(bx) - hw - 2.0).max(0.0) as u32;
        let y0 = (ay.min(by) - hw - 2.0).max(0.0) as u32;
        let x1 = ((ax.max(bx) + hw + 2.0) as u32).min(w);
        let y1 = ((ay.max(by) + hw + 2.0) as u32).min(h);
        for y in y0..y1 {
            for x in x0..x1 {
                let (px, py) = (x as f32 + 0.5 - ax, y as f32 + 0.5 - ay);
                let u = px * tx + py * ty;
                let d = (-px * ty + py * tx).abs();
                let cu = (u.min(len - u) + 0.5).clamp(0.0, 1.0);
                let cd = (hw - d + 0.5).clamp(0.0, 1.0);
                self.blend(x, y, col, mix * cu * cd);
            }
        }
    }
    pub fn disc(&mut self, c: (f32, f32), r_um: f32, col: [f32; 3], mix: f32) {
        self.ring(c, 0.0, r_um, col, mix);
    }
    pub fn ring(&mut self, c: (f32, f32), r0_um: f32, r1_um: f32, col: [f32; 3], mix: f32) {
        let (cx, cy) = (self.px(c.0), self.px(c.1));
        let (r0, r1) = (r0_um / self.um, r1_um / self.um);
        let (w, h) = self.img.dimensions();
        for y in (cy - r1 - 2.0).max(0.0) as u32..((cy + r1 + 2.0) as u32).min(h) {
            for x in (cx - r1 - 2.0).max(0.0) as u32..((cx + r1 + 2.0) as u32).min(w) {
                let d = ((x as f32 + 0.5 - cx).powi(2) + (y as f32 + 0.5 - cy).powi(2)).sqrt();
                let cov = (r1 - d + 0.5).clamp(0.0, 1.0)
                    * if r0 > 0.0 {
                        (d - r0 + 0.5).clamp(0.0, 1.0)
                    } else {
                        1.0
                    };
                self.blend(x, y, col, mix * cov);
            }
        }
    }
    pub fn blend(&mut self, x: u32, y: u32, col: [f32; 3], a: f32) {
        if a <= 0.0 {
            return;
        }
        let p = self.img.get_pixel_mut(x, y);
        for k in 0..3 {
            p[k] = (f32::from(p[k]) * (1.0 - a) + col[k] * a).round() as u8;
        }
    }
    /// A clipped hair leaving the skin at `exit` (mm) towards `tip` (mm):
    /// bluish-grey subsurface shadow beyond the exit, a small opening, and a
    /// dark shaft with a blunt cut tip.
    pub fn hair(&mut self, exit: (f32, f32), tip: (f32, f32), width_um: f32) {
        let (dx, dy) = (tip.0 - exit.0, tip.1 - exit.1);
        let l = (dx * dx + dy * dy).sqrt();
        let back = 2.0 * width_um / 1000.0;
        let under = (exit.0 - dx / l * back, exit.1 - dy / l * back);
        self.bar(under, exit, width_um * 0.9, [110.0, 120.0, 150.0], 0.55);
        self.disc(exit, width_um * 0.7, [100.0, 105.0, 130.0], 0.6);
        self.bar(exit, tip, width_um, HAIR, 1.0);
    }
    pub fn analyse(&self) -> trichometry::Analysis {
        self.analyse_roi(None)
    }
    pub fn analyse_roi(&self, roi: Option<&Roi>) -> trichometry::Analysis {
        self.analyse_with(Config::default(), roi)
    }
    pub fn analyse_with(&self, cfg: Config, roi: Option<&Roi>) -> trichometry::Analysis {
        let p = Pipeline::new(cfg).unwrap();
        p.analyse(
            &DynamicImage::ImageRgb8(self.img.clone()),
            PixelScale::new(f64::from(self.um)).unwrap(),
            roi,
        )
        .unwrap()
    }
}
