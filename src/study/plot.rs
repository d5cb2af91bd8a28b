//! Study plots (PNG and SVG) drawn with `plotters`: each subject's value over
//! visits with the visit means ± SD, and the change from baseline by visit as
//! a dot plot with the mean and its confidence interval.
//!
//! In: a [`StudyResult`], a site and a measure. Out: PNG bytes and SVG text.
//! Text uses the bundled DejaVu Sans ([`crate::assets::FONT_TTF`]), registered
//! with plotters as `sans-serif`, so plots render the same on a machine
//! without system fonts.

use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::aggregate::Measure;
use super::StudyResult;
use crate::error::{Error, ErrorKind, Result};

/// Plot size in pixels (PNG) or user units (SVG).
pub const PLOT_SIZE: (u32, u32) = (900, 600);

/// Arm colours (Okabe–Ito palette, colour-blind safe).
const ARM_COLOURS: [RGBColor; 4] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
];

fn register_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, crate::assets::FONT_TTF)
            .is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(internal("the bundled font could not be registered"))
    }
}

fn internal(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::Internal(msg.into()))
}

fn draw_err<E: std::fmt::Debug>(e: E) -> Error {
    internal(format!("plot: {e:?}"))
}

/// Which plot to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlotKind {
    /// Each subject's value over visits, with visit means ± SD.
    Trajectories,
    /// Change from baseline by visit: one dot per subject, mean and CI.
    Change,
}

/// Mean, SD and CI of one visit.
type VisitStat = (f64, Option<f64>, Option<[f64; 2]>);

struct ArmSeries {
    arm: String,
    /// Per subject: (visit index, value).
    subjects: Vec<Vec<(usize, f64)>>,
    /// Per visit index: (mean, sd, ci) of the values or of the changes.
    summary: Vec<Option<VisitStat>>,
}

fn series(result: &StudyResult, site: &str, m: Measure, kind: PlotKind) -> Vec<ArmSeries> {
    let vidx = |v: &str| result.visits.iter().position(|x| x == v);
    let mut out = Vec::new();
    for arm in &result.arms {
        let mut by_subject: indexmap::IndexMap<&str, Vec<(usize, f64)>> = indexmap::IndexMap::new();
        for r in result
            .subject_visits
            .iter()
            .filter(|r| &r.arm == arm && r.site == site)
        {
            if let (Some(i), Some(v)) = (vidx(&r.visit), r.value(m)) {
                by_subject.entry(&r.subject).or_default().push((i, v));
            }
        }
        let b = vidx(&result.baseline);
        let subjects: Vec<Vec<(usize, f64)>> = by_subject
            .into_values()
            .filter_map(|pts| match kind {
                PlotKind::Trajectories => Some(pts),
                PlotKind::Change => {
                    let base = pts.iter().find(|(i, _)| Some(*i) == b)?.1;
                    Some(
                        pts.iter()
                            .filter(|(i, _)| Some(*i) != b)
                            .map(|(i, v)| (*i, v - base))
                            .collect(),
                    )
                }
            })
            .collect();
        let mut summary = vec![None; result.visits.len()];
        for s in result
            .summary
            .iter()
            .filter(|s| &s.arm == arm && s.site == site && s.measure == m)
        {
            let Some(i) = vidx(&s.visit) else { continue };
            summary[i] = match kind {
                PlotKind::Trajectories => s.mean.map(|mu| (mu, s.sd, None)),
                PlotKind::Change if s.is_baseline => None,
                PlotKind::Change => s.change_mean.map(|mu| {
                    (
                        mu,
                        s.change_sd,
                        s.change_ci_low.zip(s.change_ci_high).map(|(l, h)| [l, h]),
                    )
                }),
            };
        }
        out.push(ArmSeries {
            arm: arm.clone(),
            subjects,
            summary,
        });
    }
    out
}

fn y_range(series: &[ArmSeries], with_zero: bool) -> Option<(f64, f64)> {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for s in series {
        for (_, v) in s.subjects.iter().flatten() {
            lo = lo.min(*v);
            hi = hi.max(*v);
        }
        for (mu, sd, ci) in s.summary.iter().flatten() {
            let spread = sd.unwrap_or(0.0);
            lo = lo.min(mu - spread);
            hi = hi.max(mu + spread);
            if let Some([l, h]) = ci {
                lo = lo.min(*l);
                hi = hi.max(*h);
            }
        }
    }
    if with_zero {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    if !lo.is_finite() || !hi.is_finite() {
        return None;
    }
    let pad = ((hi - lo) * 0.08).max(1e-6 * hi.abs().max(1.0));
    Some((lo - pad, hi + pad))
}

/// Small deterministic horizontal offset of subject `k` (dot plots), in visit units.
fn jitter(k: usize) -> f64 {
    // Golden-ratio sequence: evenly spread, no random numbers.
    let g = (k as f64 * 0.618_033_988_749_895).fract();
    (g - 0.5) * 0.24
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    result: &StudyResult,
    site: &str,
    m: Measure,
    kind: PlotKind,
) -> Result<()> {
    let data = series(result, site, m, kind);
    root.fill(&WHITE).map_err(draw_err)?;
    let (y0, y1) = y_range(&data, kind == PlotKind::Change).unwrap_or((0.0, 1.0));
    let n = result.visits.len().max(1);
    let title = match kind {
        PlotKind::Trajectories => format!("{} ({}) by visit — {site}", m.as_str(), m.unit()),
        PlotKind::Change => format!(
            "Change in {} from {} ({}) — {site}",
            m.as_str(),
            result.baseline,
            m.unit()
        ),
    };
    let visits = result.visits.clone();
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 24))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), y0..y1)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n)
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 {
                visits.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .x_desc("visit")
        .y_desc(match kind {
            PlotKind::Trajectories => m.unit().to_string(),
            PlotKind::Change => format!("change, {}", m.unit()),
        })
        .label_style(("sans-serif", 15))
        .draw()
        .map_err(draw_err)?;
    if kind == PlotKind::Change {
        chart
            .draw_series(LineSeries::new(
                [(-0.5, 0.0), (n as f64 - 0.5, 0.0)],
                BLACK.mix(0.5).stroke_width(1),
            ))
            .map_err(draw_err)?;
    }
    let n_arms = data.len();
    for (a, s) in data.iter().enumerate() {
        let colour = ARM_COLOURS[a % ARM_COLOURS.len()];
        let offset = if n_arms > 1 {
            (a as f64 - (n_arms as f64 - 1.0) / 2.0) * 0.3
        } else {
            0.0
        };
        match kind {
            PlotKind::Trajectories => {
                for pts in &s.subjects {
                    chart
                        .draw_series(LineSeries::new(
                            pts.iter().map(|(i, v)| (*i as f64 + offset, *v)),
                            colour.mix(0.3).stroke_width(1),
                        ))
                        .map_err(draw_err)?;
                }
            }
            PlotKind::Change => {
                for (k, pts) in s.subjects.iter().enumerate() {
                    chart
                        .draw_series(pts.iter().map(|(i, v)| {
                            Circle::new(
                                (*i as f64 + offset + jitter(k), *v),
                                3,
                                colour.mix(0.55).filled(),
                            )
                        }))
                        .map_err(draw_err)?;
                }
            }
        }
        // Summary: mean with SD bars (trajectories) or CI bars (change).
        let label = format!(
            "{} — mean ± {}",
            s.arm,
            if kind == PlotKind::Change {
                "95% CI"
            } else {
                "SD"
            }
        );
        let mut first = true;
        for (i, summ) in s.summary.iter().enumerate() {
            let Some((mu, sd, ci)) = summ else { continue };
            let x = i as f64 + offset + if kind == PlotKind::Change { 0.18 } else { 0.0 };
            let bar = match kind {
                PlotKind::Trajectories => sd.map(|sd| [mu - sd, mu + sd]),
                PlotKind::Change => *ci,
            };
            if let Some([lo, hi]) = bar {
                let style = colour.stroke_width(2);
                chart
                    .draw_series([
                        PathElement::new(vec![(x, lo), (x, hi)], style),
                        PathElement::new(vec![(x - 0.05, lo), (x + 0.05, lo)], style),
                        PathElement::new(vec![(x - 0.05, hi), (x + 0.05, hi)], style),
                    ])
                    .map_err(draw_err)?;
            }
            let anno = chart
                .draw_series([Circle::new((x, *mu), 6, colour.filled())])
                .map_err(draw_err)?;
            if first {
                anno.label(label.clone())
                    .legend(move |(x, y)| Circle::new((x + 8, y), 5, colour.filled()));
                first = false;
            }
        }
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font(("sans-serif", 15))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(draw_err)?;
    root.present().map_err(draw_err)?;
    Ok(())
}

/// Renders one plot as PNG bytes.
///
/// # Errors
/// `internal_error` if drawing or encoding fails.
pub fn png(result: &StudyResult, site: &str, m: Measure, kind: PlotKind) -> Result<Vec<u8>> {
    register_font()?;
    let (w, h) = PLOT_SIZE;
    let mut buf = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        draw(&root, result, site, m, kind)?;
    }
    let img = image::RgbImage::from_raw(w, h, buf).ok_or_else(|| internal("plot buffer size"))?;
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .map_err(|e| internal(format!("PNG encoding: {e}")))?;
    Ok(out)
}

/// Renders one plot as SVG text.
///
/// # Errors
/// `internal_error` if drawing fails.
pub fn svg(result: &StudyResult, site: &str, m: Measure, kind: PlotKind) -> Result<String> {
    register_font()?;
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, PLOT_SIZE).into_drawing_area();
        draw(&root, result, site, m, kind)?;
    }
    Ok(s)
}

/// A file-name-safe version of a site name.
pub fn file_stem(site: &str) -> String {
    site.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
