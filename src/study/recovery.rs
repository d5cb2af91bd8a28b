//! Recovery of a known truth: how closely a study's recovered densities and
//! changes from baseline follow the generator's truth on a synthetic cohort
//! ([`crate::synth::cohort`]).
//!
//! In: the cohort's truth rows and a [`StudyResult`] computed from its
//! images. Out: per-subject true and recovered change at one visit and site,
//! with the figures that decide whether a density endpoint is recovered:
//! the mean error of change (recovered − true, hairs/cm²), the SD of the
//! per-subject errors (n − 1), and the ordinary-least-squares slope and
//! intercept of recovered change on true change; and the per-visit endpoint
//! table (mean ± SD of density and of change) beside the same table of the truth.
//!
//! The truth is aggregated exactly as [`super::aggregate`] aggregates counts:
//! per subject × visit × site, Σ true hairs / Σ analysed area; for
//! [`ALL_SITES`], the mean of the subject's site values.
//!
//! ```
//! use trichometry::study::recovery::ols;
//! let (slope, intercept) = ols(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.5]).unwrap();
//! assert!((slope - 2.25).abs() < 1e-12 && (intercept + 0.333_333_333_333_333).abs() < 1e-12);
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::aggregate::{Measure, ALL_SITES};
use super::stats;
use super::StudyResult;
use crate::error::{Error, Result};
use crate::synth::cohort::CohortTruthRow;

/// One subject's true and recovered change from baseline at one visit and site, hairs/cm².
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubjectChange {
    /// Subject.
    pub subject: String,
    /// True density at baseline.
    pub true_baseline: f64,
    /// True density at the visit.
    pub true_visit: f64,
    /// True change (visit − baseline).
    pub true_change: f64,
    /// Recovered density at baseline.
    pub recovered_baseline: f64,
    /// Recovered density at the visit.
    pub recovered_visit: f64,
    /// Recovered change.
    pub recovered_change: f64,
    /// Recovered − true change.
    pub error: f64,
}

/// Recovery of the change from baseline at one visit and site, hairs/cm².
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recovery {
    /// Site or `all_sites`.
    pub site: String,
    /// Baseline visit.
    pub baseline: String,
    /// Follow-up visit.
    pub visit: String,
    /// Subjects with truth and recovered values at both visits.
    pub n: usize,
    /// Mean true change.
    pub true_change_mean: Option<f64>,
    /// SD of the true change.
    pub true_change_sd: Option<f64>,
    /// Mean recovered change.
    pub recovered_change_mean: Option<f64>,
    /// SD of the recovered change.
    pub recovered_change_sd: Option<f64>,
    /// Mean error of change (recovered − true).
    pub mean_error: Option<f64>,
    /// SD of the per-subject errors of change (n − 1).
    pub sd_error: Option<f64>,
    /// OLS slope of recovered change on true change (dimensionless).
    pub slope: Option<f64>,
    /// OLS intercept, hairs/cm².
    pub intercept: Option<f64>,
    /// Per subject, in subject order.
    pub subjects: Vec<SubjectChange>,
}

/// Ordinary least squares of `y` on `x`: `(slope, intercept)`; `None` when the
/// lengths differ, fewer than two points, or `x` has no spread.
pub fn ols(x: &[f64], y: &[f64]) -> Option<(f64, f64)> {
    if x.len() != y.len() || x.len() < 2 {
        return None;
    }
    let mx = stats::mean(x)?;
    let my = stats::mean(y)?;
    let sxx: f64 = x.iter().map(|v| (v - mx) * (v - mx)).sum();
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    if sxx <= 0.0 || !sxx.is_finite() {
        return None;
    }
    let slope = sxy / sxx;
    Some((slope, my - slope * mx))
}

/// True density per (subject, visit, site), including [`ALL_SITES`] when
/// there are several sites: Σ hairs / Σ area per site, then the mean over the
/// subject's sites at that visit.
pub fn true_densities(truth: &[CohortTruthRow]) -> BTreeMap<(String, String, String), f64> {
    let mut pooled: BTreeMap<(String, String, String), (f64, f64)> = BTreeMap::new();
    for r in truth {
        let e = pooled
            .entry((r.subject.clone(), r.visit.clone(), r.site.clone()))
            .or_insert((0.0, 0.0));
        e.0 += r.count_exit_in_area as f64;
        e.1 += r.analysed_area_cm2;
    }
    let mut out: BTreeMap<(String, String, String), f64> = pooled
        .into_iter()
        .filter(|(_, (_, a))| *a > 0.0)
        .map(|(k, (h, a))| (k, h / a))
        .collect();
    let sites: std::collections::BTreeSet<&str> = truth.iter().map(|r| r.site.as_str()).collect();
    if sites.len() > 1 {
        let mut by: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
        for ((s, v, _), d) in &out {
            by.entry((s.clone(), v.clone())).or_default().push(*d);
        }
        for ((s, v), ds) in by {
            if ds.len() == sites.len() {
                let m = ds.iter().sum::<f64>() / ds.len() as f64;
                out.insert((s, v, ALL_SITES.to_string()), m);
            }
        }
    }
    out
}

fn recovered_densities(result: &StudyResult) -> BTreeMap<(String, String, String), f64> {
    result
        .subject_visits
        .iter()
        .filter_map(|r| {
            r.density_per_cm2
                .map(|d| ((r.subject.clone(), r.visit.clone(), r.site.clone()), d))
        })
        .collect()
}

/// Compares the recovered change from the study's baseline to `visit` at
/// `site` with the truth, subject by subject (subjects in truth order).
///
/// # Errors
/// `invalid_input` when `visit` or `site` is not in the study.
pub fn recovery(
    truth: &[CohortTruthRow],
    result: &StudyResult,
    visit: &str,
    site: &str,
) -> Result<Recovery> {
    if !result.visits.iter().any(|v| v == visit) || !result.sites.iter().any(|s| s == site) {
        return Err(Error::invalid_input(format!(
            "`{visit}` at `{site}` is not a visit and site of the study"
        )));
    }
    let t = true_densities(truth);
    let r = recovered_densities(result);
    let base = &result.baseline;
    let mut subjects: Vec<&str> = Vec::new();
    for row in truth {
        if !subjects.contains(&row.subject.as_str()) {
            subjects.push(&row.subject);
        }
    }
    let key = |s: &str, v: &str| (s.to_string(), v.to_string(), site.to_string());
    let rows: Vec<SubjectChange> = subjects
        .iter()
        .filter_map(|s| {
            let tb = *t.get(&key(s, base))?;
            let tv = *t.get(&key(s, visit))?;
            let rb = *r.get(&key(s, base))?;
            let rv = *r.get(&key(s, visit))?;
            Some(SubjectChange {
                subject: s.to_string(),
                true_baseline: tb,
                true_visit: tv,
                true_change: tv - tb,
                recovered_baseline: rb,
                recovered_visit: rv,
                recovered_change: rv - rb,
                error: (rv - rb) - (tv - tb),
            })
        })
        .collect();
    let x: Vec<f64> = rows.iter().map(|r| r.true_change).collect();
    let y: Vec<f64> = rows.iter().map(|r| r.recovered_change).collect();
    let e: Vec<f64> = rows.iter().map(|r| r.error).collect();
    let fit = ols(&x, &y);
    Ok(Recovery {
        site: site.to_string(),
        baseline: base.clone(),
        visit: visit.to_string(),
        n: rows.len(),
        true_change_mean: stats::mean(&x),
        true_change_sd: stats::sd(&x),
        recovered_change_mean: stats::mean(&y),
        recovered_change_sd: stats::sd(&y),
        mean_error: stats::mean(&e),
        sd_error: stats::sd(&e),
        slope: fit.map(|f| f.0),
        intercept: fit.map(|f| f.1),
        subjects: rows,
    })
}

/// One visit of the endpoint table beside the truth, hairs/cm².
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitVsTruth {
    /// Site or `all_sites`.
    pub site: String,
    /// Visit.
    pub visit: String,
    /// Subjects with a recovered value.
    pub n: usize,
    /// Recovered mean density (the study's table).
    pub recovered_mean: Option<f64>,
    /// Recovered SD.
    pub recovered_sd: Option<f64>,
    /// True mean density.
    pub true_mean: Option<f64>,
    /// True SD.
    pub true_sd: Option<f64>,
    /// Recovered mean change from baseline (the study's table).
    pub recovered_change_mean: Option<f64>,
    /// Recovered SD of change.
    pub recovered_change_sd: Option<f64>,
    /// True mean change from baseline.
    pub true_change_mean: Option<f64>,
    /// True SD of change.
    pub true_change_sd: Option<f64>,
    /// The study's paired t-test p-value against baseline.
    pub t_p: Option<f64>,
}

/// The study's density table for `site` (all arms pooled when there is one
/// arm; the first arm otherwise), each visit beside the truth.
pub fn endpoint_vs_truth(
    truth: &[CohortTruthRow],
    result: &StudyResult,
    site: &str,
) -> Vec<VisitVsTruth> {
    let t = true_densities(truth);
    let arm = result.arms.first().cloned().unwrap_or_default();
    let mut out = Vec::new();
    for v in &result.visits {
        let sum = result.summary.iter().find(|s| {
            s.site == site && s.visit == *v && s.arm == arm && s.measure == Measure::Density
        });
        let mut vals = Vec::new();
        let mut changes = Vec::new();
        for ((s, visit, st), d) in &t {
            if visit == v && st == site {
                vals.push(*d);
                if let Some(b) = t.get(&(s.clone(), result.baseline.clone(), site.to_string())) {
                    changes.push(d - b);
                }
            }
        }
        out.push(VisitVsTruth {
            site: site.to_string(),
            visit: v.clone(),
            n: sum.map_or(0, |s| s.n),
            recovered_mean: sum.and_then(|s| s.mean),
            recovered_sd: sum.and_then(|s| s.sd),
            true_mean: stats::mean(&vals),
            true_sd: stats::sd(&vals),
            recovered_change_mean: sum.and_then(|s| s.change_mean),
            recovered_change_sd: sum.and_then(|s| s.change_sd),
            true_change_mean: stats::mean(&changes),
            true_change_sd: stats::sd(&changes),
            t_p: sum.and_then(|s| s.t_p),
        });
    }
    out
}

fn f1(x: Option<f64>) -> String {
    x.filter(|v| v.is_finite())
        .map_or("–".to_string(), |v| format!("{v:.1}"))
}

fn pm(m: Option<f64>, s: Option<f64>) -> String {
    match (m, s) {
        (Some(_), Some(_)) => format!("{} ± {}", f1(m), f1(s)),
        (Some(_), None) => f1(m),
        _ => "–".to_string(),
    }
}

/// Markdown: the endpoint table beside the truth, then the recovery figures
/// and the per-subject changes.
pub fn markdown(table: &[VisitVsTruth], rec: &[Recovery]) -> String {
    let mut s = String::new();
    if let Some(first) = table.first() {
        let _ = writeln!(
            s,
            "Density at `{}`, hairs/cm² (mean ± SD over subjects):\n",
            first.site
        );
    }
    let _ = writeln!(
        s,
        "| visit | n | recovered | truth | recovered change | true change | paired t p |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|");
    for r in table {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.visit,
            r.n,
            pm(r.recovered_mean, r.recovered_sd),
            pm(r.true_mean, r.true_sd),
            pm(r.recovered_change_mean, r.recovered_change_sd),
            pm(r.true_change_mean, r.true_change_sd),
            super::report::fmt_p(r.t_p)
        );
    }
    let _ = writeln!(
        s,
        "\nRecovery of the per-subject change from baseline (error = recovered − true, hairs/cm²; slope: OLS of recovered on true change):\n"
    );
    let _ = writeln!(
        s,
        "| site | visit | n | true change | recovered change | mean error | SD of errors | slope | intercept |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|");
    for r in rec {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.site,
            r.visit,
            r.n,
            pm(r.true_change_mean, r.true_change_sd),
            pm(r.recovered_change_mean, r.recovered_change_sd),
            r.mean_error.map_or("–".to_string(), |v| format!("{v:+.1}")),
            f1(r.sd_error),
            r.slope.map_or("–".to_string(), |v| format!("{v:.3}")),
            f1(r.intercept)
        );
    }
    if let Some(r) = rec.first() {
        let _ = writeln!(
            s,
            "\nPer subject at `{}`, `{}` − `{}` (hairs/cm²):\n",
            r.site, r.visit, r.baseline
        );
        let _ = writeln!(
            s,
            "| subject | true baseline | recovered baseline | true change | recovered change | error |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|---|");
        for x in &r.subjects {
            let _ = writeln!(
                s,
                "| {} | {:.1} | {:.1} | {:+.1} | {:+.1} | {:+.1} |",
                x.subject,
                x.true_baseline,
                x.recovered_baseline,
                x.true_change,
                x.recovered_change,
                x.error
            );
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(subject: &str, visit: &str, site: &str, count: u64) -> CohortTruthRow {
        CohortTruthRow {
            subject: subject.into(),
            arm: "a".into(),
            site: site.into(),
            visit: visit.into(),
            visit_day: 0.0,
            image: format!("{subject}_{site}_{visit}.jpg"),
            pixel_size_um: 5.0,
            analysed_area_cm2: 0.25,
            count_exit_in_area: count,
            density_per_cm2: count as f64 / 0.25,
            planned_density_per_cm2: 0.0,
            target_count: count,
            target_kept: 0,
            target_gained: 0,
            target_lost: 0,
        }
    }

    // OLS by hand: x = 1, 2, 3; y = 2, 4, 6.5 → x̄ = 2, ȳ = 12.5/3, Sxx = 2,
    // Sxy = (−1)(2 − ȳ) + (1)(6.5 − ȳ) = 4.5 → slope 2.25, intercept ȳ − 4.5 = −1/3.
    #[test]
    fn ols_by_hand_and_degenerate() {
        let (b, a) = ols(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.5]).unwrap();
        assert!((b - 2.25).abs() < 1e-12);
        assert!((a + 1.0 / 3.0).abs() < 1e-12);
        assert!(ols(&[1.0, 1.0], &[2.0, 3.0]).is_none());
        assert!(ols(&[1.0], &[2.0]).is_none());
        assert!(ols(&[1.0, 2.0], &[2.0]).is_none());
    }

    // All sites is the mean of the sites' pooled densities (20/0.25 = 80, 24/0.25 = 96 → 88).
    #[test]
    fn truth_all_sites_is_mean_of_sites() {
        let t = vec![row("S1", "B", "f", 20), row("S1", "B", "v", 24)];
        let d = true_densities(&t);
        let k = |site: &str| ("S1".to_string(), "B".to_string(), site.to_string());
        assert_eq!(d[&k("f")], 80.0);
        assert_eq!(d[&k(ALL_SITES)], 88.0);
    }
}
