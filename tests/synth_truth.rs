//! The truth matches what is drawn.

use trichometry::synth::capture::pixel_of;
use trichometry::synth::{
    generate_with_params, render_patch, render_reference, scene_for, Capture, Patch, Pigment,
    Scenario, SynthParams,
};
use trichometry::HairClass;

fn lum(p: &image::Rgb<u8>) -> f64 {
    0.2126 * f64::from(p[0]) + 0.7152 * f64::from(p[1]) + 0.0722 * f64::from(p[2])
}

fn small(s: Scenario) -> SynthParams {
    let mut p = s.params();
    p.field_cm2 = [0.02, 0.04];
    p
}

// In a clean render every hair whose exit is in the frame changes its exit pixel
// against the skin-only render (opening + shaft base + shadow), and a dark or
// brown hair makes it darker. (Grey and white shafts on dark skin are lighter than skin.)
#[test]
fn exits_lie_on_darker_pixels() {
    for s in Scenario::ALL {
        for i in 0..3 {
            let (patch, cap) = scene_for(&small(s), s.name(), 5, i).unwrap();
            let with = render_reference(&patch, &cap, true);
            let skin = render_reference(&patch, &cap, false);
            let mut checked = 0;
            for h in with.truth.hairs.iter().filter(|h| h.exit_in_frame) {
                let (x, y) = pixel_of(h.exit, with.truth.width, with.truth.height).unwrap();
                let a = lum(with.image.get_pixel(x, y));
                let b = lum(skin.image.get_pixel(x, y));
                let dark = matches!(h.pigment, Pigment::Dark | Pigment::Brown);
                if dark {
                    assert!(
                        a < b - 2.0,
                        "{s}/{i}: hair {} exit ({x},{y}) lum {a:.1} vs skin {b:.1}",
                        h.id
                    );
                } else {
                    let (pa, pb) = (with.image.get_pixel(x, y).0, skin.image.get_pixel(x, y).0);
                    let diff = (0..3)
                        .map(|k| (i32::from(pa[k]) - i32::from(pb[k])).abs())
                        .max()
                        .unwrap_or(0);
                    assert!(
                        diff >= 3,
                        "{s}/{i}: hair {} exit ({x},{y}) {pa:?} vs skin {pb:?}",
                        h.id
                    );
                }
                checked += 1;
            }
            assert!(checked > 0 || with.truth.count_exit_in_frame == 0);
        }
    }
}

// With openings and sub-surface shadows off, the shaft itself is where the truth
// says: a dark shaft's pixel one diameter past the exit, and at mid-length, is darker than skin.
#[test]
fn dark_shafts_follow_their_paths() {
    for s in [
        Scenario::Isolated,
        Scenario::UnitsCrossings,
        Scenario::Edge,
        Scenario::Phototrichogram,
    ] {
        let mut p = small(s);
        p.openings = false;
        p.subsurface_shadow = false;
        p.lookalikes = Default::default();
        let mut checked = 0;
        for i in 0..6 {
            let (patch, cap) = scene_for(&p, s.name(), 9, i).unwrap();
            let with = render_reference(&patch, &cap, true);
            let skin = render_reference(&patch, &cap, false);
            let (w, h) = (with.truth.width, with.truth.height);
            for hr in &with.truth.hairs {
                let ph = patch
                    .hairs
                    .iter()
                    .find(|q| q.follicle_id == hr.follicle_id)
                    .unwrap();
                if ph.pigment != Pigment::Dark || hr.diameter_um / cap.pixel_size_um < 1.0 {
                    continue;
                }
                let mid = hr.path[hr.path.len() / 2];
                if let Some((x, y)) = pixel_of(mid, w, h) {
                    let a = lum(with.image.get_pixel(x, y));
                    let b = lum(skin.image.get_pixel(x, y));
                    assert!(
                        a < b - 10.0,
                        "{s}: hair {} mid ({x},{y}) {a:.1} vs {b:.1}",
                        hr.id
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked >= 3, "{s}: only {checked} hairs checked");
    }
}

// Flags and summary counts agree with the geometry: exits outside the frame
// really are outside, counts by class add up, density = count / area, units counted.
#[test]
fn truth_fields_are_consistent() {
    let mut saw_outside = 0;
    for s in Scenario::ALL {
        for i in 0..3 {
            let img = generate_with_params(&small(s), s.name(), 21, i).unwrap();
            let t = &img.truth;
            let (w, h) = (f64::from(t.width), f64::from(t.height));
            for hr in &t.hairs {
                let inside = hr.exit[0] >= -0.5
                    && hr.exit[0] < w - 0.5
                    && hr.exit[1] >= -0.5
                    && hr.exit[1] < h - 0.5;
                assert_eq!(hr.exit_in_frame, inside);
                if !hr.exit_in_frame {
                    assert!(!hr.in_area);
                    saw_outside += 1;
                }
                assert_eq!(
                    hr.path.first().map(|p| (p[0] - hr.exit[0]).abs() < 1e-3),
                    Some(true)
                );
                let expected_class = if hr.diameter_um < 30.0 {
                    HairClass::Vellus
                } else if hr.diameter_um > 60.0 {
                    HairClass::Terminal
                } else {
                    HairClass::Intermediate
                };
                assert_eq!(hr.class, expected_class);
                let plen: f64 = hr
                    .path
                    .windows(2)
                    .map(|p| ((p[1][0] - p[0][0]).powi(2) + (p[1][1] - p[0][1]).powi(2)).sqrt())
                    .sum();
                // Path length in µm equals the shaft length (chords of a mild arc, ±1 %).
                assert!(
                    (plen * t.pixel_size_um - hr.length_um).abs() < 0.01 * hr.length_um + 0.01,
                    "{plen} {}",
                    hr.length_um
                );
                assert_eq!(hr.visible, hr.bbox.is_some());
            }
            let counted = t.hairs.iter().filter(|h| h.in_area).count() as u32;
            assert_eq!(t.count_exit_in_area, counted);
            assert_eq!(
                t.vellus_count + t.intermediate_count + t.terminal_count,
                t.count_exit_in_area
            );
            assert!(t.count_exit_in_area <= t.count_exit_in_frame);
            assert!(
                (t.density_per_cm2 - f64::from(t.count_exit_in_area) / t.analysed_area_cm2).abs()
                    < 1e-9
            );
            assert!((t.field_area_cm2 - w * h * t.pixel_size_um.powi(2) * 1e-8).abs() < 1e-12);
            assert!(t.follicular_units <= t.count_exit_in_area);
            assert!(
                t.count_visible >= t.hairs.iter().filter(|h| h.in_area && h.visible).count() as u32
            );
        }
    }
    assert!(saw_outside > 0, "no hair enters from outside the frame");
}

// The mask geometry gives exactly the analysed area; masked corners are black in
// the image, and hairs whose exit pixel is masked are not counted.
#[test]
fn mask_area_matches_analysed_area() {
    let mut p = Scenario::Mixed.params();
    p.field_cm2 = [0.02, 0.03];
    p.round_fov_prob = 1.0;
    p.text_band_prob = 1.0;
    let img = generate_with_params(&p, "mixed", 3, 0).unwrap();
    let t = &img.truth;
    let m = t.mask.as_ref().expect("mask");
    let [cx, cy, r] = m.circle.unwrap();
    let mut analysed = 0u64;
    for y in 0..t.height {
        for x in 0..t.width {
            let out_circle = (f64::from(x) - cx).powi(2) + (f64::from(y) - cy).powi(2) > r * r;
            let in_band = m
                .bands
                .iter()
                .any(|b| x >= b[0] && x <= b[2] && y >= b[1] && y <= b[3]);
            if out_circle && !in_band {
                assert_eq!(img.image.get_pixel(x, y).0, [0, 0, 0]);
            }
            if !out_circle && !in_band {
                analysed += 1;
            }
        }
    }
    let expect = analysed as f64 * t.pixel_size_um.powi(2) * 1e-8;
    assert!(
        (t.analysed_area_cm2 - expect).abs() < 1e-12,
        "{} vs {expect}",
        t.analysed_area_cm2
    );
    assert!(t.analysed_area_cm2 < t.field_area_cm2);
    for hr in &t.hairs {
        if let Some((x, y)) = pixel_of(hr.exit, t.width, t.height) {
            let masked = (f64::from(x) - cx).powi(2) + (f64::from(y) - cy).powi(2) > r * r
                || m.bands
                    .iter()
                    .any(|b| x >= b[0] && x <= b[2] && y >= b[1] && y <= b[3]);
            assert_eq!(hr.in_area, !masked);
        }
    }
}

// Density of a generated scenario lies in its documented range on average
// (40 images of `isolated`, 40–120 hairs/cm²).
#[test]
fn isolated_density_in_range() {
    let p = small(Scenario::Isolated);
    let mut sum = 0.0;
    let mut area = 0.0;
    for i in 0..40 {
        let (patch, cap) = scene_for(&p, "isolated", 1, i).unwrap();
        sum += patch.hairs.len() as f64;
        area += patch.area_cm2();
        let _ = cap;
    }
    let d = sum / area;
    assert!((40.0..=120.0).contains(&d), "{d}");
}

// Re-imaging a patch with a shift moves every exit by the shift (in pixels) and keeps ids.
#[test]
fn reimaging_moves_exits_consistently() {
    let p = Scenario::Isolated.params();
    let mut rng = trichometry::synth::rng::SynthRng::from_label("re", &[0]);
    let patch = Patch::random(&p, [4000.0, 4000.0], &mut rng);
    let cap = Capture::clean(500, 400, 4.0);
    let moved = cap.moved([40.0, -20.0], 0.0, 3);
    let a = render_patch(&patch, &cap);
    let b = render_patch(&patch, &moved);
    let mut linked = 0;
    for ha in &a.truth.hairs {
        if let Some(hb) = b
            .truth
            .hairs
            .iter()
            .find(|h| h.follicle_id == ha.follicle_id)
        {
            assert!((ha.exit[0] - hb.exit[0] - 10.0).abs() < 1e-9);
            assert!((ha.exit[1] - hb.exit[1] + 5.0).abs() < 1e-9);
            assert_eq!(ha.id, hb.id);
            linked += 1;
        }
    }
    assert!(linked > 3);
}
