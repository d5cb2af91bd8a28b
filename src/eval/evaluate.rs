//! Pairing images across sources and computing every comparison.
//!
//! In: named truth [`AnnotationSet`]s, a prediction set and an [`EvalConfig`].
//! Out: an [`EvalReport`].

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::matching::{match_boxes, match_points, HairCounts, Matching};
use super::metrics::{count_metrics, CountMetrics};
use super::read::{IgnoreRegions, SourceFormat};
use super::{AnnotationSet, ImageRecord, Mark, PositionKind};
use crate::error::{Error, Result};

/// Which measurement the count-level statistics compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum On {
    /// Hairs counted per image.
    Count,
    /// Hairs per cm² of analysed area.
    Density,
}

impl On {
    /// The snake_case name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            On::Count => "count",
            On::Density => "density",
        }
    }
}

/// How hairs are matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchMode {
    /// Boxes when the reference annotates boxes and every prediction has a box;
    /// points otherwise (a box's centre stands in for a missing point).
    Auto,
    /// Exit points (or box centres), gated by distance.
    Points,
    /// Boxes, gated by IoU.
    Boxes,
}

impl MatchMode {
    /// The snake_case name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchMode::Auto => "auto",
            MatchMode::Points => "points",
            MatchMode::Boxes => "boxes",
        }
    }
}

/// Settings of an evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct EvalConfig {
    /// What to compare; `None` (default): counts, or densities for a
    /// comparison where one side has no counts (e.g. a density-only CSV).
    pub on: Option<On>,
    /// Column to group images by; `None` (default): `scenario` where the data
    /// have it. An `all` group is always reported.
    pub group_by: Option<String>,
    /// Point gate floor in µm (default 100): a pair matches when the exit-point
    /// distance is ≤ max(`gate_diameters` × diameter, `gate_um`).
    pub gate_um: f64,
    /// Point gate in shaft diameters (default 2); the diameter is the truth
    /// hair's, else the prediction's.
    pub gate_diameters: f64,
    /// A fixed point gate in pixels, replacing the µm gate (default `None`);
    /// needed when no source gives a pixel size.
    pub gate_px: Option<f64>,
    /// Box gate: a pair matches when IoU ≥ `min_iou` (default 0.3).
    pub min_iou: f64,
    /// How hairs are matched (default [`MatchMode::Auto`]).
    pub match_mode: MatchMode,
    /// Do not count unmatched predictions that touch the image border as false
    /// positives (default false), for annotations that leave border hairs out.
    pub ignore_border_fp: bool,
    /// Do not count unmatched predictions whose point lies in one of these
    /// regions as false positives (default none).
    pub ignore_regions: IgnoreRegions,
}

impl Default for EvalConfig {
    fn default() -> Self {
        EvalConfig {
            on: None,
            group_by: None,
            gate_um: 100.0,
            gate_diameters: 2.0,
            gate_px: None,
            min_iou: 0.3,
            match_mode: MatchMode::Auto,
            ignore_border_fp: false,
            ignore_regions: IgnoreRegions::default(),
        }
    }
}

impl EvalConfig {
    /// Checks the settings.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Config`] for a negative or non-finite gate, or an IoU outside [0, 1].
    pub fn validate(&self) -> Result<()> {
        if !(self.gate_um.is_finite() && self.gate_um >= 0.0) {
            return Err(Error::config("gate_um", "must be a finite number ≥ 0"));
        }
        if !(self.gate_diameters.is_finite() && self.gate_diameters >= 0.0) {
            return Err(Error::config(
                "gate_diameters",
                "must be a finite number ≥ 0",
            ));
        }
        if let Some(g) = self.gate_px {
            if !(g.is_finite() && g >= 0.0) {
                return Err(Error::config("gate_px", "must be a finite number ≥ 0"));
            }
        }
        if !(self.min_iou.is_finite() && (0.0..=1.0).contains(&self.min_iou)) {
            return Err(Error::config("min_iou", "must lie in [0, 1]"));
        }
        Ok(())
    }

    /// The point gate as printed with results, e.g. `distance ≤ max(2 × diameter, 100 µm)`.
    pub fn point_gate_text(&self) -> String {
        match self.gate_px {
            Some(g) => format!("distance ≤ {g} px"),
            None => format!(
                "distance ≤ max({} × diameter, {} µm)",
                self.gate_diameters, self.gate_um
            ),
        }
    }

    /// The box gate as printed with results, e.g. `IoU ≥ 0.3`.
    pub fn box_gate_text(&self) -> String {
        format!("IoU ≥ {}", self.min_iou)
    }
}

/// What was read from one source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceSummary {
    /// Name in the report (`pred`, `truth`, or the name given as `NAME=PATH`).
    pub name: String,
    /// Path read.
    pub source: String,
    /// Format recognised.
    pub format: SourceFormat,
    /// Per-hair positions, if any.
    pub positions: Option<PositionKind>,
    /// Number of image records.
    pub images: usize,
    /// Records carrying an error.
    pub failed: usize,
}

/// A prediction (or truth) record that carries an error instead of measurements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// Source name.
    pub source: String,
    /// Image.
    pub image: String,
    /// The record's error message.
    pub error: String,
}

/// Images of one comparison that could not be paired.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Unmatched {
    /// Reference images with no record on the test side.
    pub reference: Vec<String>,
    /// Test images with no record on the reference side.
    pub test: Vec<String>,
    /// Test images whose name fits several reference images equally well.
    pub ambiguous: Vec<String>,
}

/// One comparison: a test source scored against a reference source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Reference (truth) source name.
    pub reference: String,
    /// Test source name (`pred`, or a second truth source).
    pub test: String,
    /// What the count statistics compare.
    pub on: On,
    /// Images paired by name.
    pub paired: usize,
    /// Paired images whose test (or reference) record is a failure.
    pub failed: usize,
    /// Paired images left out because one side lacks the value compared.
    pub missing_value: Vec<String>,
    /// Images that could not be paired.
    pub unmatched: Unmatched,
    /// How hairs were matched (`None` when a side has no positions).
    pub match_mode: Option<MatchMode>,
    /// The gate used, as text.
    pub gate: Option<String>,
    /// Images left out of hair matching (no pixel size for a µm gate, ...), with the reason.
    pub hair_skipped: Vec<String>,
}

/// Count-level statistics of one comparison in one group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CountRow {
    /// Reference source.
    pub reference: String,
    /// Test source.
    pub test: String,
    /// What is compared.
    pub on: On,
    /// Grouping column (`None` for the `all` row when there is no grouping).
    pub group_by: Option<String>,
    /// Group value, `all` for every image.
    pub group: String,
    /// The statistics.
    pub metrics: CountMetrics,
}

/// Pooled hair-level results of one comparison in one group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HairRow {
    /// Reference source.
    pub reference: String,
    /// Test source.
    pub test: String,
    /// Group value, `all` for every image.
    pub group: String,
    /// Images matched.
    pub images: usize,
    /// Pooled (micro-averaged) counts.
    pub counts: HairCounts,
    /// Pooled precision.
    pub precision: Option<f64>,
    /// Pooled recall.
    pub recall: Option<f64>,
    /// Pooled F1.
    pub f1: Option<f64>,
    /// Mean distance of matched points in µm (points mode with a pixel size), or mean IoU (boxes).
    pub mean_match_score: Option<f64>,
    /// Agreement of the diameters of matched hairs, where both sides give one.
    #[serde(default)]
    pub diameter: Option<DiameterAgreement>,
}

/// Diameter agreement over matched hairs (test − reference), µm.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DiameterAgreement {
    /// Matched hairs with a diameter on both sides.
    pub pairs: usize,
    /// Mean of test − reference, µm.
    pub bias_um: f64,
    /// Mean absolute difference, µm.
    pub mae_um: f64,
    /// Mean of 100 × (test − reference) / reference, %.
    pub mean_pct_error: f64,
    /// Mean absolute percentage difference, %.
    pub mape_pct: f64,
}

impl DiameterAgreement {
    /// Agreement of `(reference, test)` diameter pairs; `None` when empty.
    ///
    /// ```
    /// use trichometry::eval::DiameterAgreement;
    /// let a = DiameterAgreement::from_pairs(&[(50.0, 55.0), (20.0, 18.0)]).unwrap();
    /// assert_eq!((a.pairs, a.bias_um, a.mae_um), (2, 1.5, 3.5));
    /// assert!((a.mean_pct_error - 0.0).abs() < 1e-12 && (a.mape_pct - 10.0).abs() < 1e-12);
    /// ```
    pub fn from_pairs(pairs: &[(f64, f64)]) -> Option<Self> {
        let ok: Vec<(f64, f64)> = pairs
            .iter()
            .copied()
            .filter(|(r, t)| r.is_finite() && t.is_finite() && *r > 0.0)
            .collect();
        if ok.is_empty() {
            return None;
        }
        let n = ok.len() as f64;
        let mean = |f: &dyn Fn(f64, f64) -> f64| ok.iter().map(|&(r, t)| f(r, t)).sum::<f64>() / n;
        Some(DiameterAgreement {
            pairs: ok.len(),
            bias_um: mean(&|r, t| t - r),
            mae_um: mean(&|r, t| (t - r).abs()),
            mean_pct_error: mean(&|r, t| 100.0 * (t - r) / r),
            mape_pct: mean(&|r, t| 100.0 * (t - r).abs() / r),
        })
    }
}

/// The compared values of one image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageCountRow {
    /// Reference source.
    pub reference: String,
    /// Test source.
    pub test: String,
    /// The reference's image name.
    pub image: String,
    /// The test side's image name.
    pub test_image: String,
    /// Group value (empty when the image has none).
    pub group: String,
    /// Reference value (count or density).
    pub truth: f64,
    /// Test value.
    pub pred: f64,
    /// `pred − truth`.
    pub diff: f64,
}

/// Hair-level results of one image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageHairRow {
    /// Reference source.
    pub reference: String,
    /// Test source.
    pub test: String,
    /// The reference's image name.
    pub image: String,
    /// Group value (empty when the image has none).
    pub group: String,
    /// Counts.
    pub counts: HairCounts,
    /// Precision.
    pub precision: Option<f64>,
    /// Recall.
    pub recall: Option<f64>,
    /// F1.
    pub f1: Option<f64>,
}

/// The full result of an evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// Version of trichometry that computed it.
    pub crate_version: String,
    /// Settings used (gates included).
    pub config: EvalConfig,
    /// Truth sources read.
    pub truths: Vec<SourceSummary>,
    /// Prediction source read.
    pub prediction: SourceSummary,
    /// One entry per comparison: prediction vs each truth, then each pair of truths.
    pub comparisons: Vec<Comparison>,
    /// Count-level statistics, per comparison and group.
    pub count: Vec<CountRow>,
    /// Hair-level statistics, per comparison and group.
    pub hair: Vec<HairRow>,
    /// The compared values per image (for review and plots).
    pub count_images: Vec<ImageCountRow>,
    /// Hair-level statistics per image.
    pub images: Vec<ImageHairRow>,
    /// Records carrying an error (not scored).
    pub failures: Vec<Failure>,
}

/// The file-name part of an image path (after the last `/` or `\`).
pub(crate) fn basename(s: &str) -> &str {
    s.rsplit(['/', '\\']).next().unwrap_or(s)
}

/// A file name without its last extension.
pub(crate) fn stem(b: &str) -> &str {
    match b.rfind('.') {
        Some(i) if i > 0 => &b[..i],
        _ => b,
    }
}

/// How many trailing folder names two paths share (beyond the file name).
fn shared_folders(a: &str, b: &str) -> usize {
    let fa: Vec<&str> = a.split(['/', '\\']).rev().skip(1).collect();
    let fb: Vec<&str> = b.split(['/', '\\']).rev().skip(1).collect();
    fa.iter().zip(&fb).take_while(|(x, y)| x == y).count()
}

/// Pairs `test` records with `reference` records by image name: the file name
/// with its extension, falling back to the stem; ties between reference images
/// of the same name are broken by the number of trailing folders shared.
/// Returns `(reference index, test index)` pairs and what stayed unpaired.
pub(crate) fn pair_images(
    reference: &[ImageRecord],
    test: &[ImageRecord],
) -> (Vec<(usize, usize)>, Unmatched) {
    let mut by_base: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut by_stem: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, r) in reference.iter().enumerate() {
        let b = basename(&r.image);
        by_base.entry(b).or_default().push(i);
        by_stem.entry(stem(b)).or_default().push(i);
    }
    let mut used = vec![false; reference.len()];
    let mut pairs = Vec::new();
    let mut un = Unmatched::default();
    for (j, t) in test.iter().enumerate() {
        let b = basename(&t.image);
        let pick = |cands: Option<&Vec<usize>>| -> Vec<usize> {
            cands
                .map(|c| c.iter().copied().filter(|&i| !used[i]).collect())
                .unwrap_or_default()
        };
        let mut cands = pick(by_base.get(b));
        if cands.is_empty() {
            cands = pick(by_stem.get(stem(b)));
        }
        if cands.is_empty() {
            un.test.push(t.image.clone());
            continue;
        }
        let best = cands
            .iter()
            .map(|&i| shared_folders(&reference[i].image, &t.image))
            .max()
            .unwrap_or(0);
        let top: Vec<usize> = cands
            .into_iter()
            .filter(|&i| shared_folders(&reference[i].image, &t.image) == best)
            .collect();
        if top.len() == 1 {
            used[top[0]] = true;
            pairs.push((top[0], j));
        } else {
            un.ambiguous.push(t.image.clone());
        }
    }
    un.reference = reference
        .iter()
        .zip(&used)
        .filter(|(_, u)| !**u)
        .map(|(r, _)| r.image.clone())
        .collect();
    (pairs, un)
}

fn summary(name: &str, s: &AnnotationSet) -> SourceSummary {
    SourceSummary {
        name: name.to_string(),
        source: s.source.clone(),
        format: s.format,
        positions: s.positions,
        images: s.records.len(),
        failed: s.records.iter().filter(|r| r.error.is_some()).count(),
    }
}

/// Scores `pred` against every truth source, and every pair of truth sources
/// against each other (the second of a pair is scored against the first).
///
/// `truths` are `(name, set)` pairs; names must be distinct and must not be
/// `pred`. Images are paired by name (see the module docs); failed records are
/// listed in [`EvalReport::failures`] and left out of the statistics.
///
/// # Examples
/// ```
/// use trichometry::eval::{evaluate, AnnotationSet, EvalConfig, ImageRecord, SourceFormat};
/// let set = |counts: &[(&str, f64)]| AnnotationSet {
///     source: "mem".into(),
///     format: SourceFormat::CountCsv,
///     positions: None,
///     records: counts.iter().map(|&(n, c)| {
///         let mut r = ImageRecord::new(n);
///         r.count = Some(c);
///         r
///     }).collect(),
/// };
/// let truth = set(&[("a.jpg", 10.0), ("b.jpg", 20.0)]);
/// let pred = set(&[("out/a.jpg", 12.0), ("out/b.jpg", 20.0)]);
/// let report = evaluate(&[("truth".into(), truth)], &pred, &EvalConfig::default())?;
/// assert_eq!(report.count[0].metrics.mae, Some(1.0));
/// # Ok::<(), trichometry::Error>(())
/// ```
///
/// # Errors
/// [`crate::ErrorKind::Config`] for an invalid configuration, no truth source,
/// or duplicate source names.
pub fn evaluate(
    truths: &[(String, AnnotationSet)],
    pred: &AnnotationSet,
    cfg: &EvalConfig,
) -> Result<EvalReport> {
    cfg.validate()?;
    if truths.is_empty() {
        return Err(Error::config(
            "truth",
            "at least one truth source is needed",
        ));
    }
    for (i, (name, _)) in truths.iter().enumerate() {
        if name == "pred" || truths[..i].iter().any(|(n, _)| n == name) {
            return Err(Error::config(
                "truth",
                format!("source name `{name}` is used twice (or is `pred`)"),
            ));
        }
    }
    let mut report = EvalReport {
        crate_version: env!("CARGO_PKG_VERSION").to_string(),
        config: cfg.clone(),
        truths: truths.iter().map(|(n, s)| summary(n, s)).collect(),
        prediction: summary("pred", pred),
        comparisons: Vec::new(),
        count: Vec::new(),
        hair: Vec::new(),
        count_images: Vec::new(),
        images: Vec::new(),
        failures: Vec::new(),
    };
    let all_sources = truths
        .iter()
        .map(|(n, s)| (n.as_str(), s))
        .chain(std::iter::once(("pred", pred)));
    for (name, s) in all_sources {
        for r in &s.records {
            if let Some(e) = &r.error {
                report.failures.push(Failure {
                    source: name.to_string(),
                    image: r.image.clone(),
                    error: e.clone(),
                });
            }
        }
    }
    let mut jobs: Vec<(&str, &AnnotationSet, &str, &AnnotationSet)> = truths
        .iter()
        .map(|(n, s)| (n.as_str(), s, "pred", pred))
        .collect();
    for i in 0..truths.len() {
        for j in i + 1..truths.len() {
            jobs.push((&truths[i].0, &truths[i].1, &truths[j].0, &truths[j].1));
        }
    }
    for (rn, rs, tn, ts) in jobs {
        compare(rn, rs, tn, ts, cfg, &mut report);
    }
    Ok(report)
}

fn value(r: &ImageRecord, on: On) -> Option<f64> {
    match on {
        On::Count => r.count,
        On::Density => r.density_per_cm2,
    }
    .filter(|v| v.is_finite())
}

/// Group key of a pair: the reference's column, else the test's.
fn group_of(col: Option<&str>, r: &ImageRecord, t: &ImageRecord) -> String {
    col.and_then(|c| r.columns.get(c).or_else(|| t.columns.get(c)))
        .cloned()
        .unwrap_or_default()
}

fn compare(
    ref_name: &str,
    rs: &AnnotationSet,
    test_name: &str,
    ts: &AnnotationSet,
    cfg: &EvalConfig,
    report: &mut EvalReport,
) {
    let (pairs, unmatched) = pair_images(&rs.records, &ts.records);
    let has_count = |s: &AnnotationSet| s.records.iter().any(|r| r.count.is_some());
    let on = cfg.on.unwrap_or_else(|| {
        if has_count(rs) && has_count(ts) {
            On::Count
        } else {
            On::Density
        }
    });
    let group_by: Option<String> = cfg.group_by.clone().or_else(|| {
        pairs
            .iter()
            .any(|&(i, j)| {
                rs.records[i].columns.contains_key("scenario")
                    || ts.records[j].columns.contains_key("scenario")
            })
            .then(|| "scenario".to_string())
    });
    let gcol = group_by.as_deref();

    // Count level.
    let mut failed = 0;
    let mut missing = Vec::new();
    let mut groups: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    let mut all = Vec::new();
    let mut ok_pairs = Vec::new();
    for &(i, j) in &pairs {
        let (r, t) = (&rs.records[i], &ts.records[j]);
        if r.error.is_some() || t.error.is_some() {
            failed += 1;
            continue;
        }
        ok_pairs.push((i, j));
        match (value(r, on), value(t, on)) {
            (Some(a), Some(b)) => {
                report.count_images.push(ImageCountRow {
                    reference: ref_name.to_string(),
                    test: test_name.to_string(),
                    image: r.image.clone(),
                    test_image: t.image.clone(),
                    group: group_of(gcol, r, t),
                    truth: a,
                    pred: b,
                    diff: b - a,
                });
                all.push((a, b));
                if gcol.is_some() {
                    groups.entry(group_of(gcol, r, t)).or_default().push((a, b));
                }
            }
            _ => missing.push(r.image.clone()),
        }
    }
    let row = |group: String, p: &[(f64, f64)]| CountRow {
        reference: ref_name.to_string(),
        test: test_name.to_string(),
        on,
        group_by: group_by.clone(),
        group,
        metrics: count_metrics(p),
    };
    report.count.push(row("all".into(), &all));
    for (g, p) in &groups {
        report.count.push(row(g.clone(), p));
    }

    // Hair level.
    let mut comparison = Comparison {
        reference: ref_name.to_string(),
        test: test_name.to_string(),
        on,
        paired: pairs.len(),
        failed,
        missing_value: missing,
        unmatched,
        match_mode: None,
        gate: None,
        hair_skipped: Vec::new(),
    };
    if rs.positions.is_some() && ts.positions.is_some() {
        let mode = match cfg.match_mode {
            MatchMode::Auto => {
                let test_boxes = ok_pairs.iter().all(|&(_, j)| {
                    ts.records[j]
                        .marks
                        .iter()
                        .flatten()
                        .all(|m| m.bbox.is_some())
                });
                if rs.positions == Some(PositionKind::Boxes) && test_boxes {
                    MatchMode::Boxes
                } else {
                    MatchMode::Points
                }
            }
            m => m,
        };
        comparison.match_mode = Some(mode);
        comparison.gate = Some(match mode {
            MatchMode::Boxes => cfg.box_gate_text(),
            _ => cfg.point_gate_text(),
        });
        #[allow(clippy::type_complexity)]
        let mut pooled: BTreeMap<String, (usize, HairCounts, f64, usize, Vec<(f64, f64)>)> =
            BTreeMap::new();
        for &(i, j) in &ok_pairs {
            let (r, t) = (&rs.records[i], &ts.records[j]);
            let (Some(rm), Some(tm)) = (&r.marks, &t.marks) else {
                continue;
            };
            let outcome = match match_image(r, rm, t, tm, mode, cfg) {
                Ok(o) => o,
                Err(why) => {
                    comparison.hair_skipped.push(format!("{}: {why}", r.image));
                    continue;
                }
            };
            let (counts, score_sum, n_scores, diameters) = outcome;
            let group = group_of(gcol, r, t);
            report.images.push(ImageHairRow {
                reference: ref_name.to_string(),
                test: test_name.to_string(),
                image: r.image.clone(),
                group: group.clone(),
                counts,
                precision: counts.precision(),
                recall: counts.recall(),
                f1: counts.f1(),
            });
            let mut keys = vec!["all".to_string()];
            if gcol.is_some() {
                keys.push(group);
            }
            for k in keys {
                let e = pooled.entry(k).or_default();
                e.0 += 1;
                e.1.add(counts);
                e.2 += score_sum;
                e.3 += n_scores;
                e.4.extend_from_slice(&diameters);
            }
        }
        // `all` first, then the groups in order.
        let mut keys: Vec<String> = pooled.keys().filter(|k| *k != "all").cloned().collect();
        if pooled.contains_key("all") {
            keys.insert(0, "all".into());
        }
        for k in keys {
            let (images, counts, s, ns, ref diameters) = pooled[&k];
            report.hair.push(HairRow {
                reference: ref_name.to_string(),
                test: test_name.to_string(),
                group: k,
                images,
                counts,
                precision: counts.precision(),
                recall: counts.recall(),
                f1: counts.f1(),
                mean_match_score: (ns > 0).then(|| s / ns as f64),
                diameter: DiameterAgreement::from_pairs(diameters),
            });
        }
    }
    report.comparisons.push(comparison);
}

/// What matching one image gives: counts, sum and number of match scores,
/// `(reference, test)` diameters of matched hairs.
type ImageMatch = (HairCounts, f64, usize, Vec<(f64, f64)>);

/// Matches one image; returns the counts, the sum and number of match
/// scores (distances in µm, or IoUs) and the `(reference, test)` diameters
/// of matched hairs, or why the image cannot be matched.
fn match_image(
    r: &ImageRecord,
    rm: &[Mark],
    t: &ImageRecord,
    tm: &[Mark],
    mode: MatchMode,
    cfg: &EvalConfig,
) -> std::result::Result<ImageMatch, String> {
    let um_per_px = r.pixel_size_um.or(t.pixel_size_um).filter(|p| *p > 0.0);
    let (m, score_scale): (Matching, f64) = match mode {
        MatchMode::Boxes => {
            // Hairs without a box (invisible in the truth) cannot be matched by IoU.
            let rb: Vec<[f64; 4]> = rm.iter().map(|k| k.bbox.unwrap_or([f64::NAN; 4])).collect();
            let tb: Vec<[f64; 4]> = tm.iter().map(|k| k.bbox.unwrap_or([f64::NAN; 4])).collect();
            (match_boxes(&rb, &tb, cfg.min_iou), 1.0)
        }
        _ => {
            let rp: Vec<[f64; 2]> = rm
                .iter()
                .map(|k| k.point_or_centre().unwrap_or([f64::NAN; 2]))
                .collect();
            let tp: Vec<[f64; 2]> = tm
                .iter()
                .map(|k| k.point_or_centre().unwrap_or([f64::NAN; 2]))
                .collect();
            match (cfg.gate_px, um_per_px) {
                (Some(g), _) => (
                    match_points(&rp, &tp, |_, _| g),
                    um_per_px.unwrap_or(f64::NAN),
                ),
                (None, Some(s)) => {
                    let gate = |i: usize, j: usize| {
                        let d = rm[i].diameter_um.or(tm[j].diameter_um).unwrap_or(0.0);
                        (cfg.gate_diameters * d).max(cfg.gate_um) / s
                    };
                    (match_points(&rp, &tp, gate), s)
                }
                (None, None) => {
                    return Err("no pixel size for a µm gate (give --gate-px)".into());
                }
            }
        }
    };
    let width = t.width.or(r.width);
    let height = t.height.or(r.height);
    let mut counts = HairCounts {
        tp: m.pairs.len(),
        fn_: m.unmatched_truth.len(),
        ..HairCounts::default()
    };
    for &j in &m.unmatched_pred {
        let mark = &tm[j];
        let on_border = cfg.ignore_border_fp && touches_border(mark, width, height);
        let in_region = mark
            .point_or_centre()
            .is_some_and(|p| cfg.ignore_regions.contains(&r.image, p));
        if on_border || in_region {
            counts.ignored += 1;
        } else {
            counts.fp += 1;
        }
    }
    let scores: Vec<f64> = m
        .pairs
        .iter()
        .map(|p| p.2 * score_scale)
        .filter(|s| s.is_finite())
        .collect();
    let diameters = m
        .pairs
        .iter()
        .filter_map(|p| Some((rm[p.0].diameter_um?, tm[p.1].diameter_um?)))
        .collect();
    Ok((counts, scores.iter().sum(), scores.len(), diameters))
}

/// A prediction touches the border when its box reaches the outermost pixel
/// row or column (or, without a box, its point lies in it).
fn touches_border(m: &Mark, width: Option<u32>, height: Option<u32>) -> bool {
    let (Some(w), Some(h)) = (width, height) else {
        return false;
    };
    let (w, h) = (f64::from(w), f64::from(h));
    match (m.bbox, m.point) {
        (Some(b), _) => b[0] <= 0.0 || b[1] <= 0.0 || b[2] >= w - 1.0 || b[3] >= h - 1.0,
        (None, Some(p)) => p[0] < 1.0 || p[1] < 1.0 || p[0] > w - 2.0 || p[1] > h - 2.0,
        (None, None) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(name: &str) -> ImageRecord {
        ImageRecord::new(name)
    }

    // Names pair by file name, then by stem; a shared folder breaks ties; leftovers are reported.
    #[test]
    fn pairs_by_name_stem_and_folder() {
        let reference = vec![
            rec("isolated/img_000.png"),
            rec("faint/img_000.png"),
            rec("b.jpg"),
            rec("only_ref.png"),
        ];
        let test = vec![
            rec("run/faint/img_000.png"),
            rec("/data/b.png"),
            rec("x/isolated/img_000.png"),
            rec("extra.png"),
        ];
        let (pairs, un) = pair_images(&reference, &test);
        assert_eq!(pairs, vec![(1, 0), (2, 1), (0, 2)]);
        assert_eq!(un.reference, vec!["only_ref.png"]);
        assert_eq!(un.test, vec!["extra.png"]);
        assert!(un.ambiguous.is_empty());
    }

    // Two reference images of one name and no folder to tell them apart: ambiguous.
    #[test]
    fn ambiguous_names_are_reported() {
        let reference = vec![rec("a/img.png"), rec("b/img.png")];
        let test = vec![rec("img.png")];
        let (pairs, un) = pair_images(&reference, &test);
        assert!(pairs.is_empty());
        assert_eq!(un.ambiguous, vec!["img.png"]);
    }

    // A box on the last column touches the border; one a pixel in does not.
    #[test]
    fn border_rule() {
        let m = |b: [f64; 4]| Mark {
            point: None,
            bbox: Some(b),
            diameter_um: None,
        };
        assert!(touches_border(
            &m([90.0, 5.0, 99.0, 9.0]),
            Some(100),
            Some(50)
        ));
        assert!(!touches_border(
            &m([90.0, 5.0, 98.0, 9.0]),
            Some(100),
            Some(50)
        ));
        assert!(touches_border(
            &m([0.0, 5.0, 3.0, 9.0]),
            Some(100),
            Some(50)
        ));
    }
}
