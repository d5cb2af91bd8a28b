//! Writing a [`StudyResult`] to a folder: CSV and JSON tables, the Markdown
//! report and the plots.
//!
//! Files written into `dir` (created if needed):
//! - `images.csv` — one row per image;
//! - `subject_visits.csv` — one row per subject × visit × site (and `all_sites`);
//! - `visit_summary.csv` — one row per arm × site × measure × visit;
//! - `arm_comparisons.csv` (two arms), `repeatability.csv` (replicates), `outcomes.csv` (outcome columns);
//! - `problems.csv` — every manifest and study problem with its line;
//! - `study.json` — the whole [`StudyResult`];
//! - `report.md` — the Markdown report;
//! - `density_<site>.png/.svg`, `change_<site>.png/.svg` — plots of density.
//!
//! Each file is written to a temporary name and renamed into place, so a
//! half-written table never looks complete.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::tables::OutcomeSummary;
use super::StudyResult;
use crate::error::{Error, Result};

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|e| Error::from_io(e, &tmp))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::from_io(e, path))
}

/// Serialises rows as CSV bytes (header from the first row's field names).
///
/// # Errors
/// `internal_error` if a row cannot be serialised as CSV (a nested field).
pub fn csv_bytes<T: Serialize>(rows: &[T]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r)
            .map_err(|e| Error::new(crate::ErrorKind::Internal(format!("CSV: {e}"))))?;
    }
    w.into_inner()
        .map_err(|e| Error::new(crate::ErrorKind::Internal(format!("CSV: {e}"))))
}

#[derive(Serialize)]
struct OutcomeCsv<'a> {
    outcome: &'a str,
    arm: &'a str,
    visit: &'a str,
    n: usize,
    mean: Option<f64>,
    sd: Option<f64>,
    median: Option<f64>,
    /// `value:count` pairs joined with `;`.
    distribution: String,
    at_least: f64,
    pct_at_least: Option<f64>,
}

impl<'a> From<&'a OutcomeSummary> for OutcomeCsv<'a> {
    fn from(o: &'a OutcomeSummary) -> Self {
        OutcomeCsv {
            outcome: &o.outcome,
            arm: &o.arm,
            visit: &o.visit,
            n: o.n,
            mean: o.mean,
            sd: o.sd,
            median: o.median,
            distribution: o
                .distribution
                .iter()
                .map(|(k, v)| format!("{k}:{v}"))
                .collect::<Vec<_>>()
                .join(";"),
            at_least: o.at_least,
            pct_at_least: o.pct_at_least,
        }
    }
}

/// Writes the CSV and JSON tables of `result` into `dir`; returns the paths written.
///
/// # Errors
/// `io_error` when the folder or a file cannot be written.
pub fn write_tables(result: &StudyResult, dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::from_io(e, dir))?;
    let mut written = Vec::new();
    let mut put = |name: &str, bytes: Vec<u8>| -> Result<()> {
        let p = dir.join(name);
        write_atomic(&p, &bytes)?;
        written.push(p);
        Ok(())
    };
    put("images.csv", csv_bytes(&result.images)?)?;
    put("subject_visits.csv", csv_bytes(&result.subject_visits)?)?;
    put("visit_summary.csv", csv_bytes(&result.summary)?)?;
    if !result.comparisons.is_empty() {
        put("arm_comparisons.csv", csv_bytes(&result.comparisons)?)?;
    }
    if !result.repeatability.is_empty() {
        put("repeatability.csv", csv_bytes(&result.repeatability)?)?;
    }
    if !result.outcomes.is_empty() {
        let rows: Vec<OutcomeCsv> = result.outcomes.iter().map(OutcomeCsv::from).collect();
        put("outcomes.csv", csv_bytes(&rows)?)?;
    }
    put("problems.csv", csv_bytes(&result.problems)?)?;
    let json = serde_json::to_vec_pretty(result)
        .map_err(|e| Error::new(crate::ErrorKind::Internal(format!("JSON: {e}"))))?;
    put("study.json", json)?;
    Ok(written)
}

/// Writes the density plots (trajectories and change from baseline, PNG and
/// SVG) for every site; returns, per site, the file names written.
///
/// # Errors
/// `io_error` when a file cannot be written; `internal_error` if drawing fails.
pub fn write_plots(result: &StudyResult, dir: &Path) -> Result<Vec<(String, Vec<String>)>> {
    use super::aggregate::Measure;
    use super::plot::{self, PlotKind};
    std::fs::create_dir_all(dir).map_err(|e| Error::from_io(e, dir))?;
    let m = Measure::Density;
    if !result.measures.contains(&m) {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for site in &result.sites {
        let mut files = Vec::new();
        for (kind, prefix) in [
            (PlotKind::Trajectories, "density"),
            (PlotKind::Change, "change"),
        ] {
            let stem = format!("{prefix}_{}", plot::file_stem(site));
            let png = plot::png(result, site, m, kind)?;
            write_atomic(&dir.join(format!("{stem}.png")), &png)?;
            let svg = plot::svg(result, site, m, kind)?;
            write_atomic(&dir.join(format!("{stem}.svg")), svg.as_bytes())?;
            files.push(format!("{stem}.png"));
            files.push(format!("{stem}.svg"));
        }
        out.push((site.clone(), files));
    }
    Ok(out)
}

/// Writes everything: tables ([`write_tables`]), plots ([`write_plots`]) and
/// `report.md`; returns the paths written.
///
/// # Errors
/// As [`write_tables`] and [`write_plots`].
pub fn write_all(result: &StudyResult, dir: &Path) -> Result<Vec<PathBuf>> {
    let mut written = write_tables(result, dir)?;
    let plots = write_plots(result, dir)?;
    for (_, files) in &plots {
        written.extend(files.iter().map(|f| dir.join(f)));
    }
    let md = super::report::markdown(result, &plots);
    let p = dir.join("report.md");
    write_atomic(&p, md.as_bytes())?;
    written.push(p);
    Ok(written)
}
