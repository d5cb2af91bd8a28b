//! Study-level consistency checks across the images of a study.
//!
//! In: [`ImageRow`]s and manifest rows. Out: warning [`Problem`]s — a pixel
//! size, device or exposure that changes between visits of one subject, and
//! one photograph (same `input_sha256`) filed under two rows. Checks never
//! change the numbers; they tell the reviewer where to look.

use indexmap::IndexMap;

use super::aggregate::ImageRow;
use super::manifest::{Problem, Severity, StudyManifest};

/// Relative pixel-size difference above which a subject's calibration counts as shifted (0.5 %).
pub const PIXEL_SIZE_TOLERANCE: f64 = 0.005;

/// Warns when a subject's pixel size differs between visits by more than
/// [`PIXEL_SIZE_TOLERANCE`] (relative to the first value seen). One warning
/// per subject and visit, on the first line where the shift shows.
pub fn calibration_shifts(images: &[ImageRow]) -> Vec<Problem> {
    let mut first: IndexMap<&str, (f64, &str, u64)> = IndexMap::new();
    let mut warned: indexmap::IndexSet<(&str, &str)> = indexmap::IndexSet::new();
    let mut out = Vec::new();
    for r in images {
        let Some(px) = r.pixel_size_um else { continue };
        match first.get(r.subject.as_str()) {
            None => {
                first.insert(&r.subject, (px, &r.visit, r.line));
            }
            Some(&(px0, v0, l0)) => {
                if r.visit != v0
                    && ((px - px0) / px0).abs() > PIXEL_SIZE_TOLERANCE
                    && warned.insert((&r.subject, &r.visit))
                {
                    out.push(Problem::new(
                        r.line,
                        Severity::Warning,
                        "calibration_shift",
                        format!(
                            "subject `{}`: pixel size {px} µm/px at `{}` but {px0} µm/px at `{v0}` (line {l0}); densities are comparable only if both calibrations are right",
                            r.subject, r.visit
                        ),
                    ));
                }
            }
        }
    }
    out
}

/// Warns when a column describing acquisition (e.g. `device`, `exposure`)
/// changes between visits of a subject. Empty cells are ignored.
pub fn acquisition_shifts(manifest: &StudyManifest, columns: &[String]) -> Vec<Problem> {
    let mut out = Vec::new();
    for col in columns {
        let mut first: IndexMap<&str, (&str, &str, u64)> = IndexMap::new();
        let mut warned: indexmap::IndexSet<(&str, &str)> = indexmap::IndexSet::new();
        for r in &manifest.rows {
            let Some(v) = r
                .meta
                .get(col)
                .map(String::as_str)
                .filter(|v| !v.is_empty())
            else {
                continue;
            };
            match first.get(r.subject.as_str()) {
                None => {
                    first.insert(&r.subject, (v, &r.visit, r.line));
                }
                Some(&(v0, visit0, l0)) => {
                    if v != v0 && r.visit != visit0 && warned.insert((&r.subject, &r.visit)) {
                        out.push(Problem::new(
                            r.line,
                            Severity::Warning,
                            "acquisition_shift",
                            format!(
                                "subject `{}`: {col} `{v}` at `{}` but `{v0}` at `{visit0}` (line {l0})",
                                r.subject, r.visit
                            ),
                        ));
                    }
                }
            }
        }
    }
    out
}

/// Warns when two rows have the same `input_sha256`: one photograph filed
/// under two visits or subjects. The warning is on the later line.
pub fn same_photographs(images: &[ImageRow]) -> Vec<Problem> {
    let mut first: IndexMap<&str, &ImageRow> = IndexMap::new();
    let mut out = Vec::new();
    for r in images {
        let Some(sha) = r.input_sha256.as_deref() else {
            continue;
        };
        match first.get(sha) {
            None => {
                first.insert(sha, r);
            }
            Some(r0) => out.push(Problem::new(
                r.line,
                Severity::Warning,
                "same_photograph",
                format!(
                    "`{}` (subject `{}`, visit `{}`) is byte-identical to `{}` on line {} (subject `{}`, visit `{}`)",
                    r.image, r.subject, r.visit, r0.image, r0.line, r0.subject, r0.visit
                ),
            )),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(line: u64, subject: &str, visit: &str, px: f64, sha: &str) -> ImageRow {
        ImageRow {
            line,
            subject: subject.into(),
            arm: "all".into(),
            visit: visit.into(),
            site: "v".into(),
            replicate: None,
            image: format!("{line}.png"),
            input_sha256: Some(sha.into()),
            pixel_size_um: Some(px),
            analysed_area_cm2: Some(1.0),
            hair_count: Some(1),
            density_per_cm2: Some(1.0),
            non_vellus_count: None,
            vellus_count: None,
            cumulative_thickness_mm_per_cm2: None,
            mean_diameter_um: None,
            error: None,
        }
    }

    // A 2 % pixel-size change between visits warns; 0.1 % does not.
    #[test]
    fn calibration_shift_threshold() {
        let rows = vec![
            row(2, "S1", "B", 5.0, "a"),
            row(3, "S1", "M1", 5.005, "b"),
            row(4, "S1", "M3", 5.1, "c"),
        ];
        let p = calibration_shifts(&rows);
        assert_eq!(p.len(), 1);
        assert_eq!((p[0].line, p[0].code.as_str()), (4, "calibration_shift"));
    }

    // The same bytes under two rows warn on the later row.
    #[test]
    fn same_photograph_found() {
        let rows = vec![row(2, "S1", "B", 5.0, "x"), row(3, "S2", "B", 5.0, "x")];
        let p = same_photographs(&rows);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].line, 3);
    }
}
