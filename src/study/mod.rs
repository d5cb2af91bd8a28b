//! Study endpoints: from a manifest of subjects, visits and sites to hair
//! density tables, tests against baseline, between-arm comparisons and plots.
//!
//! This is the last stage: in, a [`manifest::StudyManifest`] plus one
//! [`ImageReport`] per manifest row (counted here through [`crate::batch`] by
//! [`count_images`], or precomputed and passed to [`analyse`]); out, a
//! [`StudyResult`] of tidy tables, written by [`output::write_all`] as CSV,
//! JSON, a Markdown report and PNG/SVG plots.
//!
//! The primary endpoint of hair-growth studies is hair density (hairs/cm²)
//! in a target area at baseline and at each follow-up visit. The subject is
//! the unit of analysis: images of one site at one visit are pooled (total
//! hairs / total area), sites are averaged per subject for "all sites", and
//! every test compares subjects, never images.
//!
//! ```
//! use trichometry::study::{analyse, manifest::parse_manifest, StudyConfig};
//! use trichometry::report::{ImageReport, Provenance};
//!
//! let csv = "subject,visit,image\nS1,B,s1b\nS1,M12,s1m\nS2,B,s2b\nS2,M12,s2m\nS3,B,s3b\nS3,M12,s3m\n";
//! let manifest = parse_manifest(csv.as_bytes(), std::path::Path::new("")).unwrap();
//! let prov = Provenance { crate_version: "0".into(), config_hash: "0".into(), calibration_source: None };
//! let reports: Vec<ImageReport> = [("s1b", 80), ("s1m", 110), ("s2b", 90), ("s2m", 130), ("s3b", 75), ("s3m", 110)]
//!     .iter()
//!     .map(|(name, hairs)| {
//!         let mut r = ImageReport::empty(name.to_string(), Default::default(), prov.clone());
//!         r.hair_count = Some(*hairs);
//!         r.analysed_area_cm2 = Some(1.0);
//!         r
//!     })
//!     .collect();
//! let result = analyse(&manifest, &reports, &StudyConfig::default()).unwrap();
//! let m12 = result.summary.iter().find(|s| s.visit == "M12").unwrap();
//! assert_eq!(m12.change_mean, Some(35.0)); // (30 + 40 + 35) / 3
//! ```

pub mod aggregate;
pub mod blind;
pub mod checks;
pub mod manifest;
pub mod output;
pub mod plot;
pub mod recovery;
pub mod report;
pub mod stats;
pub mod tables;

use serde::{Deserialize, Serialize};

use crate::batch::{self, BatchOptions};
use crate::error::{Error, Result};
use crate::pipeline::Pipeline;
use crate::report::ImageReport;
use aggregate::{ImageRow, Measure, SubjectVisitRow, ALL_SITES};
use manifest::{Problem, StudyManifest};
use stats::ZeroMethod;
use tables::{ArmComparison, OutcomeSummary, RepeatabilityRow, TableOptions, VisitSummary};

/// The pre-specified primary endpoint: one visit × site × measure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrimaryEndpoint {
    /// Visit name.
    pub visit: String,
    /// Site name, or `all_sites`.
    pub site: String,
    /// Measure.
    pub measure: Measure,
}

impl PrimaryEndpoint {
    /// Parses `VISIT:SITE:MEASURE`, e.g. `M12:all_sites:density`.
    ///
    /// ```
    /// use trichometry::study::{PrimaryEndpoint, aggregate::Measure};
    /// let p = PrimaryEndpoint::parse("M12:vertex:density").unwrap();
    /// assert_eq!(p.measure, Measure::Density);
    /// assert!(PrimaryEndpoint::parse("M12:vertex").is_err());
    /// ```
    ///
    /// # Errors
    /// `config_invalid` when the string does not have three parts or the measure is unknown.
    pub fn parse(s: &str) -> Result<Self> {
        let parts: Vec<&str> = s.split(':').collect();
        let [visit, site, measure] = parts[..] else {
            return Err(Error::config(
                "primary",
                format!("`{s}`: expected VISIT:SITE:MEASURE"),
            ));
        };
        let measure = Measure::parse(measure).ok_or_else(|| {
            Error::config(
                "primary",
                format!(
                    "unknown measure `{measure}` (one of: {})",
                    Measure::ALL.map(Measure::as_str).join(", ")
                ),
            )
        })?;
        Ok(PrimaryEndpoint {
            visit: visit.to_string(),
            site: site.to_string(),
            measure,
        })
    }

    /// True when the endpoint is this visit × site × measure.
    pub fn matches(&self, visit: &str, site: &str, m: Measure) -> bool {
        self.visit == visit && self.site == site && self.measure == m
    }
}

/// Settings of a study analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct StudyConfig {
    /// Baseline visit name. Default: the first visit in study order.
    pub baseline: Option<String>,
    /// Primary endpoint; every other p-value is labelled exploratory. Default: none (all exploratory).
    pub primary: Option<PrimaryEndpoint>,
    /// Reference (control) arm of a two-arm study. Default: the second arm in manifest order.
    pub reference_arm: Option<String>,
    /// Confidence level of every interval. Default 0.95.
    pub confidence_level: f64,
    /// Zero handling of the Wilcoxon test. Default [`ZeroMethod::Wilcox`] (zeros dropped).
    pub zero_method: ZeroMethod,
    /// Outcome columns to summarise (e.g. a 1–5 satisfaction score). Default none.
    pub outcomes: Vec<String>,
    /// Answers at or above this value count as a success in outcome tables. Default 4.
    pub outcome_at_least: f64,
    /// Manifest columns that should not change between a subject's visits.
    /// Default `device`, `exposure`, `camera`, `lens`, `magnification` (those present are checked).
    pub acquisition_columns: Vec<String>,
}

impl Default for StudyConfig {
    fn default() -> Self {
        StudyConfig {
            baseline: None,
            primary: None,
            reference_arm: None,
            confidence_level: 0.95,
            zero_method: ZeroMethod::Wilcox,
            outcomes: Vec::new(),
            outcome_at_least: 4.0,
            acquisition_columns: ["device", "exposure", "camera", "lens", "magnification"]
                .map(String::from)
                .to_vec(),
        }
    }
}

impl StudyConfig {
    /// Checks values that do not depend on the manifest.
    ///
    /// # Errors
    /// `config_invalid` for a confidence level outside (0, 1) or a non-finite outcome threshold.
    pub fn validate(&self) -> Result<()> {
        if !(self.confidence_level > 0.0 && self.confidence_level < 1.0) {
            return Err(Error::config(
                "confidence_level",
                format!(
                    "{} must lie strictly between 0 and 1",
                    self.confidence_level
                ),
            ));
        }
        if !self.outcome_at_least.is_finite() {
            return Err(Error::config("outcome_at_least", "must be finite"));
        }
        Ok(())
    }
}

/// Everything a study analysis produces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyResult {
    /// Version of the crate that produced the result.
    pub crate_version: String,
    /// Baseline visit.
    pub baseline: String,
    /// Visits in study order.
    pub visits: Vec<String>,
    /// Sites (plus `all_sites` when there are several).
    pub sites: Vec<String>,
    /// Arms.
    pub arms: Vec<String>,
    /// Measures with data.
    pub measures: Vec<Measure>,
    /// The settings used.
    pub config: StudyConfig,
    /// One row per image.
    pub images: Vec<ImageRow>,
    /// One row per subject × visit × site (and all sites).
    pub subject_visits: Vec<SubjectVisitRow>,
    /// One row per arm × site × measure × visit.
    pub summary: Vec<VisitSummary>,
    /// Between-arm comparisons (two-arm studies only).
    pub comparisons: Vec<ArmComparison>,
    /// Repeatability (manifests with a `replicate` column).
    pub repeatability: Vec<RepeatabilityRow>,
    /// Outcome summaries.
    pub outcomes: Vec<OutcomeSummary>,
    /// Every problem: manifest, joining, study checks, in line order.
    pub problems: Vec<Problem>,
}

/// Analyses a study from precomputed per-image reports.
///
/// Reports are joined to manifest rows by `image` (see
/// [`aggregate::join_reports`]); the manifest's problems are carried into the
/// result, and the baseline and study checks add theirs. The analysis itself
/// does not read files.
///
/// # Errors
/// `config_invalid` for an invalid `cfg`, an unknown baseline, primary visit/site or
/// reference arm; `invalid_input` for non-finite numbers in the reports.
pub fn analyse(
    manifest: &StudyManifest,
    reports: &[ImageReport],
    cfg: &StudyConfig,
) -> Result<StudyResult> {
    cfg.validate()?;
    let mut manifest = manifest.clone();
    let baseline = manifest.baseline(cfg.baseline.as_deref())?;
    manifest.check_baseline(&baseline);
    let mut problems = std::mem::take(&mut manifest.problems);
    let images = aggregate::join_reports(&manifest, reports, &mut problems);
    let mut sites = manifest.sites.clone();
    let rows = aggregate::subject_visits(&images, &manifest.visits, &sites, &baseline);
    if sites.len() > 1 {
        sites.push(ALL_SITES.to_string());
    }
    if let Some(p) = &cfg.primary {
        if !manifest.visits.contains(&p.visit) || !sites.contains(&p.site) {
            return Err(Error::config(
                "primary",
                format!(
                    "`{}:{}` is not a visit and site of the study (visits: {}; sites: {})",
                    p.visit,
                    p.site,
                    manifest.visits.join(", "),
                    sites.join(", ")
                ),
            ));
        }
    }
    let arms = manifest.arms.clone();
    let two_arms = arms.len() == 2;
    let reference = match &cfg.reference_arm {
        Some(a) if arms.contains(a) => Some(a.clone()),
        Some(a) => {
            return Err(Error::config(
                "reference_arm",
                format!(
                    "`{a}` is not an arm of the manifest (arms: {})",
                    arms.join(", ")
                ),
            ))
        }
        None => arms.get(1).cloned(),
    };
    let opts = TableOptions {
        baseline: &baseline,
        visits: &manifest.visits,
        level: cfg.confidence_level,
        zero_method: cfg.zero_method,
        primary: cfg.primary.as_ref(),
        two_arms,
    };
    let summary = tables::visit_summary(&rows, &opts)?;
    let comparisons = match (two_arms, &reference) {
        (true, Some(r)) => {
            let other = arms.iter().find(|a| *a != r).cloned().unwrap_or_default();
            tables::arm_comparisons(&rows, &other, r, &opts)?
        }
        _ => Vec::new(),
    };
    let repeatability = if manifest.has_replicates {
        tables::repeatability(&images, &manifest.sites)?
    } else {
        Vec::new()
    };
    let outcomes = tables::outcomes(
        &manifest,
        &cfg.outcomes,
        cfg.outcome_at_least,
        &mut problems,
    )?;
    problems.extend(checks::calibration_shifts(&images));
    problems.extend(checks::acquisition_shifts(
        &manifest,
        &cfg.acquisition_columns,
    ));
    problems.extend(checks::same_photographs(&images));
    problems.sort_by_key(|p| p.line);
    Ok(StudyResult {
        crate_version: env!("CARGO_PKG_VERSION").to_string(),
        measures: tables::measures_present(&rows),
        baseline,
        visits: manifest.visits.clone(),
        sites,
        arms,
        config: cfg.clone(),
        images,
        subject_visits: rows,
        summary,
        comparisons,
        repeatability,
        outcomes,
        problems,
    })
}

/// Counts every image of the manifest with [`batch::run_collect`] (in
/// parallel on the caller's rayon pool), returning one report per manifest
/// row, in row order, ready for [`analyse`].
pub fn count_images(
    pipeline: &Pipeline,
    manifest: &StudyManifest,
    opts: &BatchOptions,
) -> Vec<ImageReport> {
    batch::run_collect(pipeline, &manifest.batch_inputs(), opts)
}
