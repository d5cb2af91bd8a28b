//! The study manifest: one CSV row per image, saying whose scalp it shows, at
//! which visit and where.
//!
//! In: CSV bytes with columns `subject`, `visit`, `image` and optionally
//! `pixel_size_um`, `site`, `arm`, `visit_day`, `replicate`, the target-area
//! columns of `trichometry count`'s manifest (`roi_cx_px,roi_cy_px,roi_radius_um`
//! or `roi_x0_px,roi_y0_px,roi_x1_px,roi_y1_px`) and any others.
//! Out: a [`StudyManifest`]: the valid rows, the ordered visits, sites and
//! arms, and every problem found, each with its 1-based line number (the
//! header is line 1). A bad row is left out and reported; it never costs the
//! valid rows.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::batch::BatchInput;
use crate::error::{Error, ErrorKind, Result};

/// Site name used when the manifest has no `site` column (or an empty cell).
pub const DEFAULT_SITE: &str = "target";
/// Arm name used when the manifest has no `arm` column (or an empty cell).
pub const DEFAULT_ARM: &str = "all";

/// Columns the study interprets; all others are carried in [`ManifestRow::meta`].
pub const STUDY_COLUMNS: &[&str] = &[
    "subject",
    "visit",
    "image",
    "pixel_size_um",
    "site",
    "arm",
    "visit_day",
    "replicate",
];

/// One valid manifest row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestRow {
    /// 1-based line number in the manifest (header = 1).
    pub line: u64,
    /// Subject identifier.
    pub subject: String,
    /// Visit name, e.g. `baseline`, `M1`.
    pub visit: String,
    /// The `image` cell verbatim (also the key that joins precomputed reports).
    pub image: String,
    /// Where to read the image: `image` joined onto the manifest's folder.
    pub path: PathBuf,
    /// Pixel size from the manifest, µm/px.
    pub pixel_size_um: Option<f64>,
    /// Scalp site, e.g. `frontal`, `vertex` ([`DEFAULT_SITE`] when not given).
    pub site: String,
    /// Treatment arm ([`DEFAULT_ARM`] when not given).
    pub arm: String,
    /// Study day of the visit, used to order visits.
    pub visit_day: Option<f64>,
    /// Replicate label (the same site photographed several times at one visit).
    pub replicate: Option<String>,
    /// Target area from the `roi_*` columns (as in `trichometry count`'s
    /// manifest): a fixed area around a tattoo dot counted in every photograph.
    #[serde(default)]
    pub roi: Option<crate::report::Roi>,
    /// Every other column, verbatim (outcomes, device, exposure, ...).
    pub meta: IndexMap<String, String>,
}

/// How serious a manifest or study problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The row was left out.
    Error,
    /// The row was kept; the analysis may be affected (e.g. no baseline for a subject).
    Warning,
}

/// A problem found in the manifest or across the study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// 1-based manifest line the problem concerns (0 when it concerns no single line).
    pub line: u64,
    /// Whether the row was left out.
    pub severity: Severity,
    /// Stable snake_case code: `empty_cell`, `bad_number`, `bad_roi`, `duplicate_row`,
    /// `duplicate_image`, `unknown_file`, `missing_baseline`, `visit_day_conflict`,
    /// `no_report`, `image_error`, `calibration_shift`, `acquisition_shift`,
    /// `same_photograph`, `outcome_conflict`, `bad_outcome`.
    pub code: String,
    /// Human-readable description.
    pub message: String,
}

impl Problem {
    pub(crate) fn new(
        line: u64,
        severity: Severity,
        code: &str,
        message: impl Into<String>,
    ) -> Self {
        Problem {
            line,
            severity,
            code: code.to_string(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        if self.line > 0 {
            write!(f, "line {}: {sev}: {}", self.line, self.message)
        } else {
            write!(f, "{sev}: {}", self.message)
        }
    }
}

/// A parsed and validated study manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyManifest {
    /// Valid rows, in file order.
    pub rows: Vec<ManifestRow>,
    /// Visits in study order: by `visit_day` when every visit has one, otherwise by first appearance.
    pub visits: Vec<String>,
    /// Sites in order of first appearance.
    pub sites: Vec<String>,
    /// Arms in order of first appearance.
    pub arms: Vec<String>,
    /// Names of the extra columns (those in [`ManifestRow::meta`]), in file order.
    pub extra_columns: Vec<String>,
    /// True when the manifest has a `replicate` column.
    pub has_replicates: bool,
    /// Every problem found, in line order.
    pub problems: Vec<Problem>,
}

/// Reads and parses a study manifest; image paths are relative to its folder.
///
/// # Errors
/// `not_found`/`io_error` when the file cannot be read; as [`parse_manifest`].
pub fn read_manifest(path: &Path) -> Result<StudyManifest> {
    let bytes = std::fs::read(path).map_err(|e| Error::from_io(e, path))?;
    parse_manifest(&bytes, path.parent().unwrap_or(Path::new(""))).map_err(|e| e.with_path(path))
}

/// Parses study manifest CSV bytes.
///
/// Each row is checked: `subject`, `visit` and `image` must be non-empty;
/// `pixel_size_um` (if given) must be a positive number and `visit_day` a
/// number; an exact repeat of an earlier row is a `duplicate_row`, and the same
/// `image` listed again under different cells is a `duplicate_image`. Such rows
/// are left out with an error [`Problem`]. Visits are ordered by `visit_day`
/// when every visit has one (conflicting days for one visit are a
/// `visit_day_conflict`), otherwise by first appearance.
///
/// Whether each subject has a baseline is checked by [`StudyManifest::check_baseline`],
/// and whether the files exist by [`StudyManifest::check_files`].
///
/// # Examples
/// ```
/// use trichometry::study::manifest::parse_manifest;
/// let csv = "subject,visit,image,pixel_size_um\nS1,baseline,a.png,5\nS1,M3,b.png,x\n";
/// let m = parse_manifest(csv.as_bytes(), std::path::Path::new("")).unwrap();
/// assert_eq!(m.rows.len(), 1);
/// assert_eq!(m.problems[0].line, 3);
/// assert_eq!(m.problems[0].code, "bad_number");
/// ```
///
/// # Errors
/// `manifest_invalid` when the bytes are not CSV (ragged rows included) or a required column is missing.
pub fn parse_manifest(bytes: &[u8], base_dir: &Path) -> Result<StudyManifest> {
    let bad = |line: u64, reason: String| Error::new(ErrorKind::Manifest { line, reason });
    let (mut rdr, headers) = crate::batch::manifest_reader(bytes)?;
    let col = |name: &str| headers.iter().position(|h| h == name);
    let mut required = [0usize; 3];
    for (slot, name) in required.iter_mut().zip(["subject", "visit", "image"]) {
        *slot = col(name).ok_or_else(|| {
            bad(
                1,
                format!("no `{name}` column (columns: {})", headers.join(",")),
            )
        })?;
    }
    let [subject_col, visit_col, image_col] = required;
    let (px_col, site_col, arm_col, day_col, rep_col) = (
        col("pixel_size_um"),
        col("site"),
        col("arm"),
        col("visit_day"),
        col("replicate"),
    );
    // Columns neither the study nor the counter's target area interprets.
    let extra: Vec<usize> = (0..headers.len())
        .filter(|&c| {
            let h = headers[c].as_str();
            !STUDY_COLUMNS.contains(&h) && !crate::batch::ROI_COLUMNS.contains(&h)
        })
        .collect();
    let extra_columns: Vec<String> = extra.iter().map(|&c| headers[c].clone()).collect();

    let mut rows = Vec::new();
    let mut problems = Vec::new();
    let mut seen_rows: HashMap<Vec<String>, u64> = HashMap::new();
    let mut seen_images: HashMap<String, u64> = HashMap::new();
    for (i, rec) in rdr.records().enumerate() {
        let line = i as u64 + 2;
        let rec = rec.map_err(|e| bad(line, e.to_string()))?;
        let get = |c: usize| rec.get(c).unwrap_or("").to_string();
        let opt = |c: Option<usize>| c.map(get).filter(|s| !s.is_empty());
        let mut err = |code: &str, msg: String| {
            problems.push(Problem::new(line, Severity::Error, code, msg));
        };
        let (subject, visit, image) = (get(subject_col), get(visit_col), get(image_col));
        let empty: Vec<&str> = [("subject", &subject), ("visit", &visit), ("image", &image)]
            .iter()
            .filter(|(_, v)| v.is_empty())
            .map(|(n, _)| *n)
            .collect();
        if !empty.is_empty() {
            err("empty_cell", format!("empty `{}` cell", empty.join("`, `")));
            continue;
        }
        let pixel_size_um = match opt(px_col) {
            None => None,
            Some(v) => match v.parse::<f64>() {
                Ok(x) if x.is_finite() && x > 0.0 => Some(x),
                _ => {
                    err(
                        "bad_number",
                        format!("pixel_size_um `{v}` is not a positive number"),
                    );
                    continue;
                }
            },
        };
        let visit_day = match opt(day_col) {
            None => None,
            Some(v) => match v.parse::<f64>() {
                Ok(x) if x.is_finite() => Some(x),
                _ => {
                    err("bad_number", format!("visit_day `{v}` is not a number"));
                    continue;
                }
            },
        };
        let roi = match crate::batch::parse_roi_columns(&headers, &rec) {
            Ok(r) => r,
            Err(why) => {
                err("bad_roi", why);
                continue;
            }
        };
        let key: Vec<String> = rec.iter().map(str::to_string).collect();
        if let Some(first) = seen_rows.get(&key) {
            err(
                "duplicate_row",
                format!("repeats line {first} exactly; left out"),
            );
            continue;
        }
        seen_rows.insert(key, line);
        if let Some(first) = seen_images.get(&image) {
            err(
                "duplicate_image",
                format!("image `{image}` is already listed on line {first}; left out"),
            );
            continue;
        }
        seen_images.insert(image.clone(), line);
        let meta: IndexMap<String, String> = extra
            .iter()
            .map(|&c| (headers[c].clone(), get(c)))
            .collect();
        rows.push(ManifestRow {
            line,
            path: base_dir.join(&image),
            subject,
            visit,
            image,
            pixel_size_um,
            site: opt(site_col).unwrap_or_else(|| DEFAULT_SITE.to_string()),
            arm: opt(arm_col).unwrap_or_else(|| DEFAULT_ARM.to_string()),
            visit_day,
            replicate: opt(rep_col),
            roi,
            meta,
        });
    }

    let visits = order_visits(&rows, &mut problems);
    let sites = first_appearance(rows.iter().map(|r| r.site.as_str()));
    let arms = first_appearance(rows.iter().map(|r| r.arm.as_str()));
    problems.sort_by_key(|p| p.line);
    Ok(StudyManifest {
        rows,
        visits,
        sites,
        arms,
        extra_columns,
        has_replicates: rep_col.is_some(),
        problems,
    })
}

fn first_appearance<'a>(it: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut seen = HashSet::new();
    it.filter(|s| seen.insert(*s)).map(str::to_string).collect()
}

fn order_visits(rows: &[ManifestRow], problems: &mut Vec<Problem>) -> Vec<String> {
    let visits = first_appearance(rows.iter().map(|r| r.visit.as_str()));
    let mut days: HashMap<&str, (f64, u64)> = HashMap::new();
    for r in rows {
        if let Some(d) = r.visit_day {
            match days.get(r.visit.as_str()) {
                Some(&(d0, l0)) if d0 != d => problems.push(Problem::new(
                    r.line,
                    Severity::Warning,
                    "visit_day_conflict",
                    format!(
                        "visit `{}` has visit_day {d} here but {d0} on line {l0}; the first is used",
                        r.visit
                    ),
                )),
                Some(_) => {}
                None => {
                    days.insert(&r.visit, (d, r.line));
                }
            }
        }
    }
    if visits.iter().all(|v| days.contains_key(v.as_str())) {
        let mut v = visits.clone();
        // Stable: equal days keep first-appearance order.
        v.sort_by(|a, b| days[a.as_str()].0.total_cmp(&days[b.as_str()].0));
        v
    } else {
        visits
    }
}

impl StudyManifest {
    /// Resolves the baseline visit: `name` if given (it must be a visit of the
    /// manifest), otherwise the first visit in study order.
    ///
    /// # Errors
    /// `config_invalid` when `name` is not a visit of the manifest or there are no rows.
    pub fn baseline(&self, name: Option<&str>) -> Result<String> {
        match name {
            Some(n) if self.visits.iter().any(|v| v == n) => Ok(n.to_string()),
            Some(n) => Err(Error::config(
                "baseline",
                format!(
                    "`{n}` is not a visit of the manifest (visits: {})",
                    self.visits.join(", ")
                ),
            )),
            None => self
                .visits
                .first()
                .cloned()
                .ok_or_else(|| Error::config("baseline", "the manifest has no valid rows")),
        }
    }

    /// Adds a `missing_baseline` warning, on the subject's first line, for
    /// every subject × site that has rows but none at `baseline`. Such
    /// subjects stay in the per-visit tables and are left out of every change
    /// from baseline.
    pub fn check_baseline(&mut self, baseline: &str) {
        let mut first: IndexMap<(&str, &str), (u64, bool)> = IndexMap::new();
        for r in &self.rows {
            let e = first
                .entry((&r.subject, &r.site))
                .or_insert((r.line, false));
            e.1 |= r.visit == baseline;
        }
        let mut new: Vec<Problem> = first
            .iter()
            .filter(|(_, (_, has))| !has)
            .map(|((s, site), (line, _))| {
                Problem::new(
                    *line,
                    Severity::Warning,
                    "missing_baseline",
                    format!("subject `{s}` has no `{baseline}` (baseline) row at site `{site}`; it is left out of changes from baseline"),
                )
            })
            .collect();
        self.problems.append(&mut new);
        self.problems.sort_by_key(|p| p.line);
    }

    /// Leaves out, with an `unknown_file` error, every row whose image file does not exist.
    ///
    /// This reads file metadata only (the one file-system access of the study module
    /// besides [`read_manifest`]).
    pub fn check_files(&mut self) {
        let mut keep = Vec::with_capacity(self.rows.len());
        for r in self.rows.drain(..) {
            if r.path.is_file() {
                keep.push(r);
            } else {
                self.problems.push(Problem::new(
                    r.line,
                    Severity::Error,
                    "unknown_file",
                    format!("image `{}` not found at {}", r.image, r.path.display()),
                ));
            }
        }
        self.rows = keep;
        self.problems.sort_by_key(|p| p.line);
    }

    /// The rows as inputs for [`crate::batch`], in row order; `meta` carries
    /// the study columns too, so every report can be traced to its subject and visit.
    pub fn batch_inputs(&self) -> Vec<BatchInput> {
        self.rows
            .iter()
            .map(|r| {
                let mut meta = IndexMap::new();
                meta.insert("subject".to_string(), r.subject.clone());
                meta.insert("visit".to_string(), r.visit.clone());
                meta.insert("site".to_string(), r.site.clone());
                meta.insert("arm".to_string(), r.arm.clone());
                if let Some(rep) = &r.replicate {
                    meta.insert("replicate".to_string(), rep.clone());
                }
                meta.extend(r.meta.iter().map(|(k, v)| (k.clone(), v.clone())));
                BatchInput {
                    image: r.image.clone(),
                    path: r.path.clone(),
                    pixel_size_um: r.pixel_size_um,
                    roi: r.roi.clone(),
                    meta,
                    problem: None,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> StudyManifest {
        parse_manifest(s.as_bytes(), Path::new("")).unwrap()
    }

    // Every kind of bad row is reported with its line, and the good rows survive.
    #[test]
    fn reports_each_problem_with_line() {
        let m = parse(
            "subject,visit,image,pixel_size_um\n\
             S1,V0,a.png,5\n\
             S1,V1,b.png,abc\n\
             ,V1,c.png,5\n\
             S1,V0,a.png,5\n\
             S2,V0,a.png,5\n\
             S2,V0,d.png,5\n",
        );
        assert_eq!(m.rows.len(), 2);
        let got: Vec<(u64, &str)> = m
            .problems
            .iter()
            .map(|p| (p.line, p.code.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (3, "bad_number"),
                (4, "empty_cell"),
                (5, "duplicate_row"),
                (6, "duplicate_image")
            ]
        );
    }

    // visit_day orders visits; without it the first appearance does.
    #[test]
    fn visit_order() {
        let m = parse("subject,visit,image,visit_day\nS1,M3,a,90\nS1,B,b,0\nS1,M1,c,30\n");
        assert_eq!(m.visits, vec!["B", "M1", "M3"]);
        let m = parse("subject,visit,image\nS1,M3,a\nS1,B,b\n");
        assert_eq!(m.visits, vec!["M3", "B"]);
        assert_eq!(m.baseline(None).unwrap(), "M3");
        assert_eq!(m.baseline(Some("B")).unwrap(), "B");
        assert!(m.baseline(Some("X")).is_err());
    }

    // A subject without a baseline row is warned about on its first line, and kept.
    #[test]
    fn missing_baseline_warns() {
        let mut m = parse("subject,visit,image\nS1,B,a\nS2,M1,b\nS1,M1,c\n");
        m.check_baseline("B");
        assert_eq!(m.rows.len(), 3);
        assert_eq!(m.problems.len(), 1);
        assert_eq!(m.problems[0].line, 3);
        assert_eq!(m.problems[0].code, "missing_baseline");
        assert_eq!(m.problems[0].severity, Severity::Warning);
    }

    // A missing required column is fatal and names the column.
    #[test]
    fn missing_column_is_fatal() {
        let e = parse_manifest(b"subject,image\nS1,a\n", Path::new("")).unwrap_err();
        assert_eq!(e.code(), "manifest_invalid");
        assert!(e.to_string().contains("`visit`"));
    }

    // ROI columns give each photograph its target area (passed to the
    // counter), are not extra columns, and a half-filled ROI is a bad row.
    #[test]
    fn roi_columns_reach_the_counter() {
        let m = parse(
            "subject,visit,image,roi_cx_px,roi_cy_px,roi_radius_um,device\n\
             S1,baseline,a.png,100,120,5642,x\n\
             S1,M3,b.png,,,,x\n\
             S2,baseline,c.png,100,,5642,x\n",
        );
        assert_eq!(m.extra_columns, ["device"]);
        assert_eq!(m.rows.len(), 2);
        assert_eq!(
            m.rows[0].roi,
            Some(crate::report::Roi::Circle {
                cx_px: 100.0,
                cy_px: 120.0,
                radius_um: 5642.0
            })
        );
        assert_eq!(m.rows[1].roi, None);
        assert!(!m.rows[0].meta.contains_key("roi_cx_px"));
        let inputs = m.batch_inputs();
        assert_eq!(inputs[0].roi, m.rows[0].roi);
        assert_eq!(m.problems.len(), 1);
        assert_eq!(
            (m.problems[0].line, m.problems[0].code.as_str()),
            (4, "bad_roi")
        );
    }

    // Files that do not exist are left out with `unknown_file`.
    #[test]
    fn unknown_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.png"), b"x").unwrap();
        let mut m = parse_manifest(
            b"subject,visit,image\nS1,B,a.png\nS1,M1,nope.png\n",
            dir.path(),
        )
        .unwrap();
        m.check_files();
        assert_eq!(m.rows.len(), 1);
        assert_eq!(
            (m.problems[0].line, m.problems[0].code.as_str()),
            (3, "unknown_file")
        );
    }
}
