//! Endpoint tables: per arm × site × measure × visit summaries with change
//! from baseline and tests against baseline; between-arm comparisons;
//! repeatability; outcome columns.
//!
//! In: [`SubjectVisitRow`]s and the study's visit order. Out: tidy rows, one
//! struct per table, serialisable to CSV and JSON. The subject is the unit of
//! analysis throughout.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::aggregate::{replicate_groups, ImageRow, Measure, SubjectVisitRow};
use super::manifest::{Problem, Severity, StudyManifest};
use super::stats::{self, ZeroMethod};
use super::PrimaryEndpoint;
use crate::error::Result;

/// Label of a p-value: the pre-specified primary endpoint or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PLabel {
    /// The endpoint named by `--primary`.
    Primary,
    /// Any other test: hypothesis-generating, not adjusted for multiplicity.
    Exploratory,
}

/// One row of the per-visit summary: one arm × site × measure × visit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitSummary {
    /// Arm.
    pub arm: String,
    /// Site or `all_sites`.
    pub site: String,
    /// Measure name.
    pub measure: Measure,
    /// Unit of the measure.
    pub unit: String,
    /// Visit.
    pub visit: String,
    /// True for the baseline visit.
    pub is_baseline: bool,
    /// Subjects of this arm with any value at this site.
    pub n_subjects: usize,
    /// Subjects with a value at this visit.
    pub n: usize,
    /// Subjects without a value at this visit (counted, not imputed).
    pub n_missing: usize,
    /// Mean.
    pub mean: Option<f64>,
    /// Standard deviation.
    pub sd: Option<f64>,
    /// Median.
    pub median: Option<f64>,
    /// Minimum.
    pub min: Option<f64>,
    /// Maximum.
    pub max: Option<f64>,
    /// Lower end of the CI of the mean.
    pub ci_low: Option<f64>,
    /// Upper end of the CI of the mean.
    pub ci_high: Option<f64>,
    /// Subjects with both baseline and this visit (the paired comparison's n).
    pub change_n: usize,
    /// Mean change from baseline (visit − baseline).
    pub change_mean: Option<f64>,
    /// SD of the change.
    pub change_sd: Option<f64>,
    /// Lower end of the CI of the mean change.
    pub change_ci_low: Option<f64>,
    /// Upper end of the CI of the mean change.
    pub change_ci_high: Option<f64>,
    /// Mean of per-subject percent changes, 100·(visit − baseline)/baseline.
    pub pct_change_mean: Option<f64>,
    /// SD of the percent changes.
    pub pct_change_sd: Option<f64>,
    /// Lower end of the CI of the mean percent change.
    pub pct_change_ci_low: Option<f64>,
    /// Upper end of the CI of the mean percent change.
    pub pct_change_ci_high: Option<f64>,
    /// Paired t statistic.
    pub t: Option<f64>,
    /// Its degrees of freedom.
    pub t_df: Option<f64>,
    /// Paired t-test p-value (two-sided).
    pub t_p: Option<f64>,
    /// Wilcoxon W⁺ (sum of ranks of increases).
    pub wilcoxon_w_plus: Option<f64>,
    /// Wilcoxon signed-rank p-value (two-sided).
    pub wilcoxon_p: Option<f64>,
    /// `exact` or `normal`.
    pub wilcoxon_method: Option<String>,
    /// Zero differences (handled per the study's zero method).
    pub n_zero_change: usize,
    /// Label of this row's p-values (null on the baseline row).
    pub p_label: Option<PLabel>,
}

/// One row of the between-arm comparison (two-arm studies): change from
/// baseline of `arm` vs `reference_arm` at one site × measure × visit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmComparison {
    /// Site or `all_sites`.
    pub site: String,
    /// Measure.
    pub measure: Measure,
    /// Visit.
    pub visit: String,
    /// The arm compared.
    pub arm: String,
    /// The reference (control) arm.
    pub reference_arm: String,
    /// Subjects of `arm` with baseline and visit.
    pub n_arm: usize,
    /// Subjects of `reference_arm` with baseline and visit.
    pub n_reference: usize,
    /// Welch: mean change of `arm` − mean change of `reference_arm`.
    pub welch_estimate: Option<f64>,
    /// Welch CI low.
    pub welch_ci_low: Option<f64>,
    /// Welch CI high.
    pub welch_ci_high: Option<f64>,
    /// Welch degrees of freedom.
    pub welch_df: Option<f64>,
    /// Welch p-value.
    pub welch_p: Option<f64>,
    /// ANCOVA: adjusted difference of follow-up values at equal baseline.
    pub ancova_estimate: Option<f64>,
    /// ANCOVA standard error.
    pub ancova_se: Option<f64>,
    /// ANCOVA CI low.
    pub ancova_ci_low: Option<f64>,
    /// ANCOVA CI high.
    pub ancova_ci_high: Option<f64>,
    /// ANCOVA p-value.
    pub ancova_p: Option<f64>,
    /// ANCOVA common slope on baseline.
    pub ancova_slope: Option<f64>,
    /// Label of the p-values.
    pub p_label: PLabel,
}

/// Repeatability of one measure at one site, from replicate photographs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepeatabilityRow {
    /// Site.
    pub site: String,
    /// Measure.
    pub measure: Measure,
    /// Units (subject × visit) with at least two replicates.
    pub n_units: usize,
    /// Readings in those units.
    pub n_readings: usize,
    /// Grand mean, unit of the measure.
    pub mean: f64,
    /// Within-unit SD (standard error of measurement), unit of the measure.
    pub within_sd: f64,
    /// Within-unit coefficient of variation, %.
    pub cv_pct: f64,
    /// ICC(1,1).
    pub icc: Option<f64>,
    /// Smallest detectable change, unit of the measure.
    pub sdc: f64,
}

/// Summary of one outcome column (e.g. a 1–5 satisfaction score) at one arm × visit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutcomeSummary {
    /// Outcome column.
    pub outcome: String,
    /// Arm.
    pub arm: String,
    /// Visit.
    pub visit: String,
    /// Subjects with an answer.
    pub n: usize,
    /// Mean answer.
    pub mean: Option<f64>,
    /// SD.
    pub sd: Option<f64>,
    /// Median.
    pub median: Option<f64>,
    /// Count of each answer, in ascending numeric order.
    pub distribution: IndexMap<String, usize>,
    /// Percentage of answers ≥ the success threshold.
    pub pct_at_least: Option<f64>,
    /// The success threshold (default 4).
    pub at_least: f64,
}

/// Options of the table builders.
#[derive(Debug, Clone)]
pub struct TableOptions<'a> {
    /// Baseline visit.
    pub baseline: &'a str,
    /// Visits in study order.
    pub visits: &'a [String],
    /// Confidence level (e.g. 0.95).
    pub level: f64,
    /// Zero handling of the Wilcoxon test.
    pub zero_method: ZeroMethod,
    /// The primary endpoint, if named.
    pub primary: Option<&'a PrimaryEndpoint>,
    /// True when the study compares arms (the primary p-value is then the arm comparison's).
    pub two_arms: bool,
}

fn first_appearance<'a>(it: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut seen = indexmap::IndexSet::new();
    for s in it {
        seen.insert(s);
    }
    seen.into_iter().map(str::to_string).collect()
}

/// Values of one arm × site × measure: subject → (visit → value).
fn by_subject(
    rows: &[SubjectVisitRow],
    arm: Option<&str>,
    site: &str,
    m: Measure,
) -> IndexMap<String, IndexMap<String, f64>> {
    let mut out: IndexMap<String, IndexMap<String, f64>> = IndexMap::new();
    for r in rows
        .iter()
        .filter(|r| r.site == site && arm.is_none_or(|a| r.arm == a))
    {
        let e = out.entry(r.subject.clone()).or_default();
        if let Some(v) = r.value(m) {
            e.insert(r.visit.clone(), v);
        }
    }
    out
}

/// Paired (baseline, visit) values of the subjects that have both.
fn pairs(
    subj: &IndexMap<String, IndexMap<String, f64>>,
    baseline: &str,
    visit: &str,
) -> Vec<(f64, f64)> {
    subj.values()
        .filter_map(|vals| Some((*vals.get(baseline)?, *vals.get(visit)?)))
        .collect()
}

/// Measures with at least one value in `rows`.
pub fn measures_present(rows: &[SubjectVisitRow]) -> Vec<Measure> {
    Measure::ALL
        .into_iter()
        .filter(|m| rows.iter().any(|r| r.value(*m).is_some()))
        .collect()
}

/// The per-visit summary table: for every arm × site × measure × visit, n,
/// mean ± SD, median, range and CI; change and percent change from baseline
/// (per subject, then summarised); paired t-test and Wilcoxon signed-rank test
/// of the change. Subjects missing the visit or the baseline are left out of
/// that visit's paired comparison and counted in `n_missing` / `n − change_n`.
/// Percent change skips subjects with a zero baseline.
///
/// # Errors
/// `invalid_input` when a value is not finite or the level is out of range.
pub fn visit_summary(rows: &[SubjectVisitRow], opts: &TableOptions) -> Result<Vec<VisitSummary>> {
    let arms = first_appearance(rows.iter().map(|r| r.arm.as_str()));
    let sites = first_appearance(rows.iter().map(|r| r.site.as_str()));
    let measures = measures_present(rows);
    let mut out = Vec::new();
    for arm in &arms {
        for site in &sites {
            for &m in &measures {
                let subj = by_subject(rows, Some(arm), site, m);
                let n_subjects = subj.len();
                if n_subjects == 0 {
                    continue;
                }
                for visit in opts.visits {
                    let vals: Vec<f64> = subj
                        .values()
                        .filter_map(|v| v.get(visit).copied())
                        .collect();
                    let d = stats::describe(&vals, opts.level)?;
                    let is_baseline = visit == opts.baseline;
                    let p = if is_baseline {
                        Vec::new()
                    } else {
                        pairs(&subj, opts.baseline, visit)
                    };
                    let diff: Vec<f64> = p.iter().map(|(b, v)| v - b).collect();
                    let pct: Vec<f64> = p
                        .iter()
                        .filter(|(b, _)| *b != 0.0)
                        .map(|(b, v)| 100.0 * (v - b) / b)
                        .collect();
                    let dc = stats::describe(&diff, opts.level)?;
                    let dp = stats::describe(&pct, opts.level)?;
                    let t = stats::paired_t(&diff, opts.level)?;
                    let w = stats::wilcoxon(&diff, opts.zero_method)?;
                    let is_primary =
                        !opts.two_arms && opts.primary.is_some_and(|pe| pe.matches(visit, site, m));
                    out.push(VisitSummary {
                        arm: arm.clone(),
                        site: site.clone(),
                        measure: m,
                        unit: m.unit().to_string(),
                        visit: visit.clone(),
                        is_baseline,
                        n_subjects,
                        n: vals.len(),
                        n_missing: n_subjects - vals.len(),
                        mean: d.map(|d| d.mean),
                        sd: d.and_then(|d| d.sd),
                        median: d.map(|d| d.median),
                        min: d.map(|d| d.min),
                        max: d.map(|d| d.max),
                        ci_low: d.and_then(|d| d.ci).map(|c| c[0]),
                        ci_high: d.and_then(|d| d.ci).map(|c| c[1]),
                        change_n: diff.len(),
                        change_mean: dc.map(|d| d.mean),
                        change_sd: dc.and_then(|d| d.sd),
                        change_ci_low: dc.and_then(|d| d.ci).map(|c| c[0]),
                        change_ci_high: dc.and_then(|d| d.ci).map(|c| c[1]),
                        pct_change_mean: dp.map(|d| d.mean),
                        pct_change_sd: dp.and_then(|d| d.sd),
                        pct_change_ci_low: dp.and_then(|d| d.ci).map(|c| c[0]),
                        pct_change_ci_high: dp.and_then(|d| d.ci).map(|c| c[1]),
                        t: t.map(|t| t.t),
                        t_df: t.map(|t| t.df),
                        t_p: t.map(|t| t.p),
                        wilcoxon_w_plus: w.map(|w| w.w_plus),
                        wilcoxon_p: w.map(|w| w.p),
                        wilcoxon_method: w.map(|w| {
                            match w.method {
                                stats::WilcoxonMethod::Exact => "exact",
                                stats::WilcoxonMethod::Normal => "normal",
                            }
                            .to_string()
                        }),
                        n_zero_change: diff.iter().filter(|d| **d == 0.0).count(),
                        p_label: (!is_baseline).then_some(if is_primary {
                            PLabel::Primary
                        } else {
                            PLabel::Exploratory
                        }),
                    });
                }
            }
        }
    }
    Ok(out)
}

/// Between-arm comparisons of a two-arm study: for every site × measure ×
/// follow-up visit, Welch's t-test on the change from baseline and the ANCOVA
/// of the follow-up value with baseline as covariate; estimates are
/// `arm − reference_arm`.
///
/// # Errors
/// As [`visit_summary`].
pub fn arm_comparisons(
    rows: &[SubjectVisitRow],
    arm: &str,
    reference_arm: &str,
    opts: &TableOptions,
) -> Result<Vec<ArmComparison>> {
    let sites = first_appearance(rows.iter().map(|r| r.site.as_str()));
    let mut out = Vec::new();
    for site in &sites {
        for m in measures_present(rows) {
            let a = by_subject(rows, Some(arm), site, m);
            let b = by_subject(rows, Some(reference_arm), site, m);
            for visit in opts.visits.iter().filter(|v| *v != opts.baseline) {
                let pa = pairs(&a, opts.baseline, visit);
                let pb = pairs(&b, opts.baseline, visit);
                let ca: Vec<f64> = pa.iter().map(|(x, y)| y - x).collect();
                let cb: Vec<f64> = pb.iter().map(|(x, y)| y - x).collect();
                let w = stats::welch_t(&ca, &cb, opts.level)?;
                let an = stats::ancova(&pa, &pb, opts.level)?;
                let is_primary = opts.primary.is_some_and(|pe| pe.matches(visit, site, m));
                out.push(ArmComparison {
                    site: site.clone(),
                    measure: m,
                    visit: visit.clone(),
                    arm: arm.to_string(),
                    reference_arm: reference_arm.to_string(),
                    n_arm: pa.len(),
                    n_reference: pb.len(),
                    welch_estimate: w.map(|w| w.estimate),
                    welch_ci_low: w.map(|w| w.ci[0]),
                    welch_ci_high: w.map(|w| w.ci[1]),
                    welch_df: w.map(|w| w.df),
                    welch_p: w.map(|w| w.p),
                    ancova_estimate: an.map(|a| a.estimate),
                    ancova_se: an.map(|a| a.se),
                    ancova_ci_low: an.map(|a| a.ci[0]),
                    ancova_ci_high: an.map(|a| a.ci[1]),
                    ancova_p: an.map(|a| a.p),
                    ancova_slope: an.map(|a| a.slope),
                    p_label: if is_primary {
                        PLabel::Primary
                    } else {
                        PLabel::Exploratory
                    },
                });
            }
        }
    }
    Ok(out)
}

/// Repeatability per site and measure from images that carry a replicate label.
///
/// # Errors
/// `invalid_input` for non-finite values.
pub fn repeatability(images: &[ImageRow], sites: &[String]) -> Result<Vec<RepeatabilityRow>> {
    let mut out = Vec::new();
    for m in Measure::ALL {
        let groups = replicate_groups(images, m);
        for site in sites {
            let g: Vec<Vec<f64>> = groups
                .iter()
                .filter(|((s, _, _), _)| s == site)
                .map(|(_, v)| v.clone())
                .collect();
            if let Some(stats) = stats::repeatability(&g)? {
                out.push(RepeatabilityRow {
                    site: site.clone(),
                    measure: m,
                    n_units: stats.n_units,
                    n_readings: stats.n_readings,
                    mean: stats.mean,
                    within_sd: stats.within_sd,
                    cv_pct: stats.cv_pct,
                    icc: stats.icc,
                    sdc: stats.sdc,
                });
            }
        }
    }
    Ok(out)
}

/// Summaries of outcome columns per arm × visit: one answer per subject ×
/// visit (the first non-empty cell; a different answer on another row of the
/// same subject × visit is an `outcome_conflict` warning, a non-numeric one a
/// `bad_outcome` warning).
///
/// # Errors
/// `invalid_input` for non-finite values.
pub fn outcomes(
    manifest: &StudyManifest,
    columns: &[String],
    at_least: f64,
    problems: &mut Vec<Problem>,
) -> Result<Vec<OutcomeSummary>> {
    let mut out = Vec::new();
    for col in columns {
        // (arm, visit) -> subject -> (value, line)
        let mut answers: IndexMap<(String, String), IndexMap<String, (f64, u64)>> = IndexMap::new();
        for r in &manifest.rows {
            let Some(cell) = r.meta.get(col).filter(|c| !c.is_empty()) else {
                continue;
            };
            let Ok(v) = cell.parse::<f64>().map_err(|_| ()).and_then(|v| {
                if v.is_finite() {
                    Ok(v)
                } else {
                    Err(())
                }
            }) else {
                problems.push(Problem::new(
                    r.line,
                    Severity::Warning,
                    "bad_outcome",
                    format!("outcome `{col}` value `{cell}` is not a number; ignored"),
                ));
                continue;
            };
            let e = answers.entry((r.arm.clone(), r.visit.clone())).or_default();
            match e.get(&r.subject) {
                Some((v0, l0)) if *v0 != v => problems.push(Problem::new(
                    r.line,
                    Severity::Warning,
                    "outcome_conflict",
                    format!(
                        "outcome `{col}` of subject `{}` at `{}` is {v} here but {v0} on line {l0}; the first is used",
                        r.subject, r.visit
                    ),
                )),
                Some(_) => {}
                None => {
                    e.insert(r.subject.clone(), (v, r.line));
                }
            }
        }
        for arm in &manifest.arms {
            for visit in &manifest.visits {
                let Some(subj) = answers.get(&(arm.clone(), visit.clone())) else {
                    continue;
                };
                let vals: Vec<f64> = subj.values().map(|(v, _)| *v).collect();
                let d = stats::describe(&vals, 0.95)?;
                let mut sorted = vals.clone();
                sorted.sort_by(f64::total_cmp);
                let mut distribution = IndexMap::new();
                for v in &sorted {
                    *distribution.entry(format!("{v}")).or_insert(0usize) += 1;
                }
                let hits = vals.iter().filter(|v| **v >= at_least).count();
                out.push(OutcomeSummary {
                    outcome: col.clone(),
                    arm: arm.clone(),
                    visit: visit.clone(),
                    n: vals.len(),
                    mean: d.map(|d| d.mean),
                    sd: d.and_then(|d| d.sd),
                    median: d.map(|d| d.median),
                    distribution,
                    pct_at_least: (!vals.is_empty())
                        .then(|| 100.0 * hits as f64 / vals.len() as f64),
                    at_least,
                });
            }
        }
    }
    Ok(out)
}
