//! Counting tests on small crafted images: hairs, units, crossings, look-alikes,
//! border rule, ROI, masks and diameters. Every scene is drawn here with known
//! geometry, so the expected values follow from the drawing.

use image::{DynamicImage, Rgb, RgbImage};
use trichometry::report::Roi;
use trichometry::{Config, Pipeline, PixelScale};

const SKIN: [f32; 3] = [215.0, 200.0, 205.0];
const HAIR: [f32; 3] = [45.0, 40.0, 42.0];

struct Scene {
    img: RgbImage,
    um: f32,
}

impl Scene {
    /// Skin of `w_mm × h_mm` at `um` µm/px, with mild deterministic noise.
    fn new(w_mm: f32, h_mm: f32, um: f32) -> Scene {
        let (w, h) = ((w_mm * 1000.0 / um) as u32, (h_mm * 1000.0 / um) as u32);
        let mut state = 12345u32;
        let img = RgbImage::from_fn(w, h, |_, _| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let n = ((state >> 24) as f32 / 255.0 - 0.5) * 6.0;
            Rgb(SKIN.map(|c| (c + n).clamp(0.0, 255.0) as u8))
        });
        Scene { img, um }
    }
    fn px(&self, mm: f32) -> f32 {
        mm * 1000.0 / self.um
    }
    /// Anti-aliased flat-ended bar from `a` to `b` (mm), `width_um` wide, blended with `mix` of `col`.
    fn bar(&mut self, a: (f32, f32), b: (f32, f32), width_um: f32, col: [f32; 3], mix: f32) {
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
    fn disc(&mut self, c: (f32, f32), r_um: f32, col: [f32; 3], mix: f32) {
        self.ring(c, 0.0, r_um, col, mix);
    }
    fn ring(&mut self, c: (f32, f32), r0_um: f32, r1_um: f32, col: [f32; 3], mix: f32) {
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
    fn blend(&mut self, x: u32, y: u32, col: [f32; 3], a: f32) {
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
    fn hair(&mut self, exit: (f32, f32), tip: (f32, f32), width_um: f32) {
        let (dx, dy) = (tip.0 - exit.0, tip.1 - exit.1);
        let l = (dx * dx + dy * dy).sqrt();
        let back = 2.0 * width_um / 1000.0;
        let under = (exit.0 - dx / l * back, exit.1 - dy / l * back);
        self.bar(under, exit, width_um * 0.9, [110.0, 120.0, 150.0], 0.55);
        self.disc(exit, width_um * 0.7, [100.0, 105.0, 130.0], 0.6);
        self.bar(exit, tip, width_um, HAIR, 1.0);
    }
    fn analyse(&self) -> trichometry::Analysis {
        self.analyse_roi(None)
    }
    fn analyse_roi(&self, roi: Option<&Roi>) -> trichometry::Analysis {
        let p = Pipeline::new(Config::default()).unwrap();
        p.analyse(
            &DynamicImage::ImageRgb8(self.img.clone()),
            PixelScale::new(f64::from(self.um)).unwrap(),
            roi,
        )
        .unwrap()
    }
}

fn count(a: &trichometry::Analysis) -> usize {
    a.hairs.len()
}

// One dark clipped hair counts 1 at 2.5, 5 and 10 µm/px.
#[test]
fn single_hair_counts_one_at_three_scales() {
    for um in [2.5, 5.0, 10.0] {
        let mut s = Scene::new(2.5, 2.0, um);
        s.hair((0.8, 1.2), (1.9, 0.7), 70.0);
        let a = s.analyse();
        assert_eq!(count(&a), 1, "at {um} µm/px: {:?}", a.components);
    }
}

// A 2-, 3- and 4-hair follicular unit fanning from one opening counts 2, 3, 4 with one unit id.
#[test]
fn units_of_two_three_four_share_one_unit() {
    for n in 2..=4usize {
        let mut s = Scene::new(2.5, 2.5, 5.0);
        let exit = (0.6, 1.25);
        for k in 0..n {
            let ang = (-30.0 + 60.0 * k as f32 / (n - 1) as f32).to_radians();
            s.hair(
                exit,
                (exit.0 + 1.2 * ang.cos(), exit.1 + 1.2 * ang.sin()),
                70.0,
            );
        }
        let a = s.analyse();
        assert_eq!(count(&a), n, "{n}-hair unit: {:?}", a.components);
        assert!(
            a.hairs.iter().all(|h| h.unit_id == a.hairs[0].unit_id),
            "{n}: {:?}",
            a.hairs
                .iter()
                .map(|h| (h.unit_id, h.exit, h.tip))
                .collect::<Vec<_>>()
        );
    }
}

// Two parallel touching shafts leaving one opening count 2 (a band twice as wide is two shafts).
#[test]
fn parallel_touching_pair_counts_two() {
    let mut s = Scene::new(2.5, 2.0, 5.0);
    s.hair((0.5, 1.0), (2.0, 1.0), 70.0);
    s.bar((0.5, 1.07), (1.5, 1.07), 70.0, HAIR, 1.0);
    let a = s.analyse();
    assert_eq!(count(&a), 2, "{:?}", a.components);
    assert_eq!(a.hairs[0].unit_id, a.hairs[1].unit_id);
}

// Two hairs crossing in an X count 2.
#[test]
fn crossing_counts_two() {
    let mut s = Scene::new(2.5, 2.5, 5.0);
    s.hair((0.4, 0.5), (2.0, 2.0), 70.0);
    s.hair((0.4, 2.0), (2.0, 0.5), 70.0);
    let a = s.analyse();
    assert_eq!(count(&a), 2, "{:?}", a.components);
}

// A flake, an empty opening, a round dot, a bubble and a loose clipping count 0.
#[test]
fn look_alikes_count_zero() {
    let mut s = Scene::new(3.0, 2.5, 5.0);
    s.disc((0.5, 0.5), 220.0, [245.0, 245.0, 240.0], 0.8); // flake (pale, wide)
    s.disc((0.6, 0.55), 160.0, [240.0, 240.0, 235.0], 0.8);
    s.disc((1.5, 0.5), 60.0, [100.0, 105.0, 130.0], 0.6); // empty opening
    s.disc((2.4, 0.5), 50.0, [30.0, 25.0, 25.0], 1.0); // pigment dot
    s.ring((0.7, 1.7), 110.0, 150.0, [60.0, 60.0, 70.0], 0.8); // bubble rim
    s.bar((1.6, 1.6), (2.4, 2.0), 70.0, HAIR, 1.0); // loose clipping: two blunt ends
    let a = s.analyse();
    assert_eq!(count(&a), 0, "{:?}", a.components);
}

// A white hair on dark skin counts 1 (polarity is decided per image).
#[test]
fn white_hair_on_dark_skin_counts_one() {
    let mut s = Scene::new(2.5, 2.0, 5.0);
    for p in s.img.pixels_mut() {
        *p = Rgb([p[0] / 3, p[1] / 3, p[2] / 3]);
    }
    s.bar((0.68, 1.03), (0.8, 1.0), 55.0, [200.0, 200.0, 200.0], 0.4); // grey shaft under the skin
    s.disc((0.8, 1.0), 45.0, [180.0, 180.0, 180.0], 0.4);
    s.bar((0.8, 1.0), (2.0, 0.8), 60.0, [235.0, 235.0, 230.0], 1.0);
    let a = s.analyse();
    assert_eq!(count(&a), 1, "{:?} {:?}", a.components, a.qc_flags);
}

// A tattoo dot counts 0 and centres a CentredArea ROI.
#[test]
fn tattoo_dot_centres_roi() {
    let mut s = Scene::new(4.0, 4.0, 5.0);
    s.disc((2.6, 1.8), 400.0, [20.0, 20.0, 35.0], 1.0);
    let a = s.analyse_roi(Some(&Roi::CentredArea { area_cm2: 0.03 }));
    assert_eq!(count(&a), 0, "{:?}", a.components);
    match a.roi {
        Some(Roi::Circle {
            cx_px,
            cy_px,
            radius_um,
        }) => {
            assert!(
                (cx_px - 520.0).abs() < 3.0 && (cy_px - 360.0).abs() < 3.0,
                "{cx_px},{cy_px}"
            );
            // Area πr² = 0.03 cm² → r = 977.2 µm (hand calculation).
            assert!((radius_um - 977.2).abs() < 1.0);
        }
        ref r => panic!("unexpected roi {r:?}"),
    }
    assert!(!a.qc_flags.iter().any(|f| f == "roi_centre_assumed"));
    assert!((a.analysed_area_cm2 - 0.03).abs() < 0.001);
}

fn mixed_scene() -> Scene {
    let mut s = Scene::new(3.0, 3.0, 5.0);
    s.hair((0.5, 0.5), (1.6, 0.9), 70.0);
    s.hair((2.2, 2.4), (1.4, 1.5), 60.0);
    s.hair((0.6, 2.2), (1.5, 2.6), 80.0);
    s.hair((0.6, 2.2), (1.6, 2.2), 80.0);
    s.disc((2.4, 0.6), 50.0, [30.0, 25.0, 25.0], 1.0);
    s
}

// Rotating by 90° and mirroring do not change the count.
#[test]
fn rotation_and_mirror_invariant() {
    let s = mixed_scene();
    let n = count(&s.analyse());
    assert_eq!(n, 4, "{:?}", s.analyse().components);
    for img in [
        image::imageops::rotate90(&s.img),
        image::imageops::flip_horizontal(&s.img),
        image::imageops::flip_vertical(&s.img),
    ] {
        let t = Scene { img, um: s.um };
        assert_eq!(count(&t.analyse()), n);
    }
}

// Masking half the image black halves the analysed area.
#[test]
fn black_half_halves_area() {
    let s = mixed_scene();
    let full = s.analyse().analysed_area_cm2;
    let mut t = Scene {
        img: s.img.clone(),
        um: s.um,
    };
    let w = t.img.width();
    for (x, _, p) in t.img.enumerate_pixels_mut() {
        if x < w / 2 {
            *p = Rgb([0, 0, 0]);
        }
    }
    let half = t.analyse().analysed_area_cm2;
    // 3 mm × 3 mm = 0.09 cm² (hand calculation); half is 0.045 cm².
    assert!((full - 0.09).abs() < 1e-9);
    assert!((half - 0.045).abs() < 0.0005, "{half}");
}

// A hair entering from outside the frame, whose exit is outside, is not counted.
#[test]
fn hair_with_exit_outside_frame_not_counted() {
    let mut s = Scene::new(2.5, 2.0, 5.0);
    s.hair((-0.3, 1.0), (1.2, 1.1), 70.0);
    let a = s.analyse();
    assert_eq!(count(&a), 0, "{:?}", a.components);
    // Mirror: the tip leaves the frame, the exit is inside: counted.
    let mut t = Scene::new(2.5, 2.0, 5.0);
    t.hair((1.2, 1.1), (2.9, 1.0), 70.0);
    assert_eq!(count(&t.analyse()), 1);
}

// The exit is found at the end with the opening, whichever way the hair points.
#[test]
fn exit_end_is_the_opening() {
    for (exit, tip) in [((0.5, 0.5), (1.8, 1.4)), ((1.8, 1.4), (0.5, 0.5))] {
        let mut s = Scene::new(2.5, 2.0, 5.0);
        s.hair(exit, tip, 70.0);
        let a = s.analyse();
        assert_eq!(count(&a), 1);
        let h = &a.hairs[0];
        let (ex, ey) = (exit.0 * 200.0, exit.1 * 200.0);
        let d = ((h.exit[0] - f64::from(ex)).powi(2) + (h.exit[1] - f64::from(ey)).powi(2)).sqrt();
        assert!(d < 20.0, "exit at {:?}, drawn at ({ex},{ey})", h.exit);
        // Length 1.58 mm exit to tip (hand calculation), within 10%.
        assert!((h.length_um - 1581.0).abs() < 160.0, "{}", h.length_um);
    }
}

// An empty field (skin and noise) counts 0 and is not an error.
#[test]
fn empty_image_counts_zero() {
    let s = Scene::new(2.0, 2.0, 5.0);
    let a = s.analyse();
    assert_eq!(count(&a), 0);
    assert_eq!(a.density_per_cm2, 0.0);
}

// The measured diameter of a drawn hair is within 10% at several pixel sizes and orientations.
#[test]
fn diameter_within_ten_percent() {
    for um in [2.5f32, 5.0] {
        for deg in [0.0f32, 30.0, 90.0, 135.0] {
            let mut s = Scene::new(2.5, 2.5, um);
            let a = deg.to_radians();
            let c = (1.25, 1.25);
            let e = (c.0 - 0.6 * a.cos(), c.1 - 0.6 * a.sin());
            let t = (c.0 + 0.6 * a.cos(), c.1 + 0.6 * a.sin());
            s.hair(e, t, 60.0);
            let r = s.analyse();
            assert_eq!(count(&r), 1, "{um} µm/px {deg}°: {:?}", r.components);
            let d = r.hairs[0].diameter_um;
            assert!((d - 60.0).abs() <= 6.0, "{um} µm/px {deg}°: {d} µm");
        }
    }
}

// Degenerate images never panic and count 0.
#[test]
fn degenerate_images_do_not_panic() {
    let p = Pipeline::new(Config::default()).unwrap();
    let s = PixelScale::new(5.0).unwrap();
    let mut state = 7u32;
    let noise = image::GrayImage::from_fn(300, 300, |_, _| {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        image::Luma([(state >> 24) as u8])
    });
    for img in [
        DynamicImage::new_rgb8(1, 1),
        DynamicImage::new_luma8(3, 100_000),
        DynamicImage::new_luma8(100_000, 3),
        DynamicImage::ImageLuma8(image::GrayImage::from_pixel(200, 200, image::Luma([255]))),
        DynamicImage::new_rgba16(64, 64),
        DynamicImage::ImageLuma8(noise),
    ] {
        let a = p.analyse(&img, s, None).unwrap();
        assert_eq!(a.hairs.len(), 0);
    }
}

// An ROI outside the image is an error; one partly outside is clipped and flagged.
#[test]
fn roi_outside_error_and_clipping() {
    let s = mixed_scene();
    let p = Pipeline::new(Config::default()).unwrap();
    let img = DynamicImage::ImageRgb8(s.img.clone());
    let sc = PixelScale::new(5.0).unwrap();
    let out = Roi::Rect {
        x0_px: 1000.0,
        y0_px: 0.0,
        x1_px: 1200.0,
        y1_px: 50.0,
    };
    let e = p.analyse(&img, sc, Some(&out)).unwrap_err();
    assert_eq!(e.code(), "roi_invalid");
    let part = Roi::Rect {
        x0_px: 300.0,
        y0_px: -100.0,
        x1_px: 900.0,
        y1_px: 300.0,
    };
    let a = p.analyse(&img, sc, Some(&part)).unwrap();
    assert!(a.qc_flags.iter().any(|f| f == "roi_clipped"));
    // Clipped to [300, 600) × [0, 300): 90 000 px × 25 µm² = 0.0225 cm² (hand calculation).
    assert!((a.analysed_area_cm2 - 0.0225).abs() < 1e-9);
}
