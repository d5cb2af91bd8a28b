//! Overlays: the photograph with what was counted drawn on it, for review.
//!
//! Not a pipeline stage: it never feeds back into a count. In: the decoded
//! image, its [`Analysis`] and calibration. Out: an RGB image on which each
//! counted hair is drawn as its exit → tip centre line coloured by class
//! (vellus cyan, intermediate yellow, terminal red, unclassified white), its
//! exit point as a green dot, its number (matching the report's `hairs[].id`)
//! beside the tip; follicular units of two or more hairs circled; rejected
//! components outlined faintly in grey; the region of interest outlined in
//! white; and a legend with count, density, analysed area, class key and a
//! scale bar. Text uses the bundled DejaVu Sans font, so rendering is the same
//! on every machine.

use std::collections::BTreeMap;

use ab_glyph::PxScale;
use image::{DynamicImage, Rgb, RgbImage};
use imageproc::drawing::{
    draw_filled_circle_mut, draw_filled_rect_mut, draw_hollow_circle_mut, draw_line_segment_mut,
    draw_text_mut, text_size,
};
use imageproc::rect::Rect;

use crate::calibrate::PixelScale;
use crate::pipeline::Analysis;
use crate::report::{HairClass, Roi};

/// Colour of a hair's centre line by class.
pub fn class_colour(class: Option<HairClass>) -> Rgb<u8> {
    match class {
        Some(HairClass::Vellus) => Rgb([0, 210, 255]),
        Some(HairClass::Intermediate) => Rgb([255, 210, 0]),
        Some(HairClass::Terminal) => Rgb([255, 50, 50]),
        None => Rgb([255, 255, 255]),
    }
}

const EXIT_COLOUR: Rgb<u8> = Rgb([40, 230, 40]);
const UNIT_COLOUR: Rgb<u8> = Rgb([40, 230, 40]);
const REJECT_COLOUR: Rgb<u8> = Rgb([150, 150, 150]);
const ROI_COLOUR: Rgb<u8> = Rgb([255, 255, 255]);

/// Draws the review overlay for one analysed image.
///
/// Line widths and text sizes scale with the image (text is 1/45 of the
/// shorter side, at least 12 px), so overlays of 1 MP and 12 MP images read
/// alike. A 16-bit image is shown at 8 bits.
///
/// # Examples
/// ```
/// use trichometry::{Config, Pipeline, PixelScale, overlay::render_overlay};
/// let img = image::DynamicImage::new_rgb8(300, 200);
/// let scale = PixelScale::new(5.0).unwrap();
/// let analysis = Pipeline::new(Config::default()).unwrap().analyse(&img, scale, None).unwrap();
/// let out = render_overlay(&img, &analysis, scale);
/// assert_eq!(out.dimensions(), (300, 200));
/// ```
pub fn render_overlay(image: &DynamicImage, analysis: &Analysis, scale: PixelScale) -> RgbImage {
    let mut canvas = image.to_rgb8();
    let (w, h) = canvas.dimensions();
    let short = w.min(h).max(1) as f32;
    let text_px = (short / 45.0).max(12.0);
    let line_w = ((short / 500.0).round() as i32).clamp(1, 6);
    let font = crate::assets::font();

    // Rejected components: faint outlines, drawn first so hairs stay on top.
    for c in analysis.components.iter().filter(|c| c.hairs == 0) {
        let [x0, y0, x1, y1] = c.bbox;
        blend_rect_outline(&mut canvas, x0, y0, x1, y1, REJECT_COLOUR, 0.45);
    }

    // Region of interest.
    if let Some(roi) = &analysis.roi {
        draw_roi(&mut canvas, roi, scale, line_w);
    }

    // Follicular units with two or more hairs: circle around their exits.
    let mut units: BTreeMap<u32, Vec<[f64; 2]>> = BTreeMap::new();
    for hair in &analysis.hairs {
        units.entry(hair.unit_id).or_default().push(hair.exit);
    }
    for exits in units.values().filter(|e| e.len() > 1) {
        let n = exits.len() as f64;
        let cx = exits.iter().map(|e| e[0]).sum::<f64>() / n;
        let cy = exits.iter().map(|e| e[1]).sum::<f64>() / n;
        let spread = exits
            .iter()
            .map(|e| ((e[0] - cx).powi(2) + (e[1] - cy).powi(2)).sqrt())
            .fold(0.0, f64::max);
        let r = (spread + f64::from(text_px) * 0.8).round() as i32;
        for k in 0..line_w {
            draw_hollow_circle_mut(
                &mut canvas,
                (cx.round() as i32, cy.round() as i32),
                r + k,
                UNIT_COLOUR,
            );
        }
    }

    // Hairs: centre line, exit dot, number.
    for hair in &analysis.hairs {
        let colour = class_colour(hair.class);
        thick_line(&mut canvas, hair.exit, hair.tip, line_w, colour);
        draw_filled_circle_mut(
            &mut canvas,
            (hair.exit[0].round() as i32, hair.exit[1].round() as i32),
            (line_w * 2).max(3),
            EXIT_COLOUR,
        );
        let label = hair.id.to_string();
        let (tw, th) = text_size(PxScale::from(text_px), &font, &label);
        let dx = hair.tip[0] - hair.exit[0];
        let dy = hair.tip[1] - hair.exit[1];
        let len = (dx * dx + dy * dy).sqrt().max(1e-9);
        let off = f64::from(text_px) * 0.6;
        let lx = hair.tip[0] + dx / len * off - f64::from(tw) / 2.0;
        let ly = hair.tip[1] + dy / len * off - f64::from(th) / 2.0;
        let lx = (lx.round() as i32).clamp(0, w.saturating_sub(tw) as i32);
        let ly = (ly.round() as i32).clamp(0, h.saturating_sub(th) as i32);
        draw_text_with_shadow(&mut canvas, lx, ly, text_px, &font, &label, colour);
    }

    draw_legend(&mut canvas, analysis, scale, text_px, &font);
    canvas
}

fn thick_line(canvas: &mut RgbImage, a: [f64; 2], b: [f64; 2], width: i32, colour: Rgb<u8>) {
    let dx = b[0] - a[0];
    let dy = b[1] - a[1];
    let len = (dx * dx + dy * dy).sqrt();
    let (nx, ny) = if len > 0.0 {
        (-dy / len, dx / len)
    } else {
        (0.0, 0.0)
    };
    for k in 0..width {
        let o = f64::from(k) - f64::from(width - 1) / 2.0;
        draw_line_segment_mut(
            canvas,
            ((a[0] + nx * o) as f32, (a[1] + ny * o) as f32),
            ((b[0] + nx * o) as f32, (b[1] + ny * o) as f32),
            colour,
        );
    }
}

fn blend_pixel(canvas: &mut RgbImage, x: u32, y: u32, colour: Rgb<u8>, alpha: f32) {
    if x < canvas.width() && y < canvas.height() {
        let p = canvas.get_pixel_mut(x, y);
        for c in 0..3 {
            p[c] = (f32::from(p[c]) * (1.0 - alpha) + f32::from(colour[c]) * alpha).round() as u8;
        }
    }
}

fn blend_rect_outline(
    canvas: &mut RgbImage,
    x0: u32,
    y0: u32,
    x1: u32,
    y1: u32,
    colour: Rgb<u8>,
    alpha: f32,
) {
    for x in x0..=x1 {
        blend_pixel(canvas, x, y0, colour, alpha);
        if y1 != y0 {
            blend_pixel(canvas, x, y1, colour, alpha);
        }
    }
    for y in y0.saturating_add(1)..y1 {
        blend_pixel(canvas, x0, y, colour, alpha);
        if x1 != x0 {
            blend_pixel(canvas, x1, y, colour, alpha);
        }
    }
}

fn draw_roi(canvas: &mut RgbImage, roi: &Roi, scale: PixelScale, line_w: i32) {
    match *roi {
        Roi::Circle {
            cx_px,
            cy_px,
            radius_um,
        } => {
            let r = scale.um_to_px(radius_um).round() as i32;
            for k in 0..line_w {
                draw_hollow_circle_mut(
                    canvas,
                    (cx_px.round() as i32, cy_px.round() as i32),
                    r + k,
                    ROI_COLOUR,
                );
            }
        }
        Roi::Rect {
            x0_px,
            y0_px,
            x1_px,
            y1_px,
        } => {
            let corners = [
                [x0_px, y0_px],
                [x1_px - 1.0, y0_px],
                [x1_px - 1.0, y1_px - 1.0],
                [x0_px, y1_px - 1.0],
            ];
            for i in 0..4 {
                thick_line(canvas, corners[i], corners[(i + 1) % 4], line_w, ROI_COLOUR);
            }
        }
        // An applied ROI is always a circle or a rectangle; a centred area is
        // resolved to a circle by the pipeline.
        Roi::CentredArea { .. } => {}
    }
}

fn draw_text_with_shadow(
    canvas: &mut RgbImage,
    x: i32,
    y: i32,
    px: f32,
    font: &ab_glyph::FontRef<'static>,
    text: &str,
    colour: Rgb<u8>,
) {
    let s = PxScale::from(px);
    let o = (px / 14.0).ceil() as i32;
    draw_text_mut(canvas, Rgb([0, 0, 0]), x + o, y + o, s, font, text);
    draw_text_mut(canvas, colour, x, y, s, font, text);
}

/// Length of the scale bar: the round value (100/200/500 µm, 1/2/5 mm) closest
/// to a fifth of the image width.
fn scale_bar_um(width_um: f64) -> f64 {
    let target = width_um / 5.0;
    let candidates = [
        50.0, 100.0, 200.0, 250.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0,
    ];
    candidates
        .iter()
        .copied()
        .min_by(|a, b| (a - target).abs().total_cmp(&(b - target).abs()))
        .unwrap_or(1000.0)
}

fn draw_legend(
    canvas: &mut RgbImage,
    analysis: &Analysis,
    scale: PixelScale,
    text_px: f32,
    font: &ab_glyph::FontRef<'static>,
) {
    let (w, h) = canvas.dimensions();
    let units = {
        let mut u: Vec<u32> = analysis.hairs.iter().map(|h| h.unit_id).collect();
        u.sort_unstable();
        u.dedup();
        u.len()
    };
    let lines = [
        format!(
            "{} hairs  {:.1} hairs/cm²",
            analysis.hairs.len(),
            analysis.density_per_cm2
        ),
        format!(
            "{units} units  area {:.4} cm²  {:.2} µm/px",
            analysis.analysed_area_cm2,
            scale.um_per_px()
        ),
    ];
    let pad = (text_px * 0.4).round() as i32;
    let line_h = (text_px * 1.25).round() as i32;
    let keys: [(&str, Option<HairClass>); 3] = [
        ("vellus", Some(HairClass::Vellus)),
        ("intermediate", Some(HairClass::Intermediate)),
        ("terminal", Some(HairClass::Terminal)),
    ];
    let bar_um = scale_bar_um(scale.px_to_um(f64::from(w)));
    let bar_px = scale.um_to_px(bar_um).round().max(1.0) as i32;
    let text_w = lines
        .iter()
        .map(|l| text_size(PxScale::from(text_px), font, l).0 as i32)
        .max()
        .unwrap_or(0);
    let box_w = (text_w.max(bar_px) + 2 * pad).min(w as i32);
    let box_h = (line_h * 4 + 2 * pad).min(h as i32);
    if box_w <= 0 || box_h <= 0 {
        return;
    }
    // Darkened panel.
    for y in 0..box_h as u32 {
        for x in 0..box_w as u32 {
            blend_pixel(canvas, x, y, Rgb([0, 0, 0]), 0.6);
        }
    }
    let white = Rgb([255, 255, 255]);
    for (i, line) in lines.iter().enumerate() {
        draw_text_mut(
            canvas,
            white,
            pad,
            pad + i as i32 * line_h,
            PxScale::from(text_px),
            font,
            line,
        );
    }
    // Class key.
    let mut x = pad;
    let y = pad + 2 * line_h;
    for (name, class) in keys {
        let c = class_colour(class);
        let sw = (text_px * 0.7) as u32;
        draw_filled_rect_mut(
            canvas,
            Rect::at(x, y + (line_h - sw as i32) / 2).of_size(sw.max(1), sw.max(1)),
            c,
        );
        x += sw as i32 + pad / 2;
        draw_text_mut(canvas, white, x, y, PxScale::from(text_px), font, name);
        x += text_size(PxScale::from(text_px), font, name).0 as i32 + pad;
    }
    // Scale bar.
    let by = pad + 3 * line_h + line_h / 2;
    let bar_h = (text_px / 4.0).max(2.0) as u32;
    draw_filled_rect_mut(
        canvas,
        Rect::at(pad, by).of_size(bar_px as u32, bar_h),
        white,
    );
    let label = if bar_um >= 1000.0 {
        format!("{} mm", bar_um / 1000.0)
    } else {
        format!("{bar_um} µm")
    };
    draw_text_mut(
        canvas,
        white,
        pad + bar_px + pad,
        by - line_h / 2 + bar_h as i32 / 2,
        PxScale::from(text_px),
        font,
        &label,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    // The scale bar is the round length nearest a fifth of the field width.
    #[test]
    fn scale_bar_lengths() {
        assert_eq!(scale_bar_um(5000.0), 1000.0);
        assert_eq!(scale_bar_um(2500.0), 500.0);
        assert_eq!(scale_bar_um(20000.0), 5000.0);
    }
}
