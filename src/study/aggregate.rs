//! Aggregation: per-image reports to one value per subject × visit × site,
//! and the subject-level "all sites" value.
//!
//! In: manifest rows joined with their [`ImageReport`]s ([`ImageRow`]s).
//! Out: [`SubjectVisitRow`]s. When several images cover one site at one visit
//! (tiles, or replicates) they are pooled — total hairs over total analysed
//! area — never averaged as if each were a subject. For "all sites" the
//! subject stays the unit of analysis: the subject's site values are averaged
//! (each site weighted equally), never pooled as extra subjects.

use std::collections::HashMap;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::manifest::{ManifestRow, Problem, Severity, StudyManifest};
use crate::report::ImageReport;

/// Site name of the subject-level average over sites.
pub const ALL_SITES: &str = "all_sites";

/// A per-image measure that the study summarises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Hairs per cm² (all hairs, vellus included): the primary measure.
    Density,
    /// Non-vellus hairs per cm².
    NonVellusDensity,
    /// Cumulative hair thickness, mm of summed diameters per cm².
    CumulativeThickness,
    /// Mean shaft diameter, µm.
    MeanDiameter,
    /// Vellus hairs as a percentage of all hairs, %.
    VellusShare,
}

impl Measure {
    /// Every measure, in table order.
    pub const ALL: [Measure; 5] = [
        Measure::Density,
        Measure::NonVellusDensity,
        Measure::CumulativeThickness,
        Measure::MeanDiameter,
        Measure::VellusShare,
    ];

    /// The snake_case name used in tables and in `--primary`.
    pub fn as_str(self) -> &'static str {
        match self {
            Measure::Density => "density",
            Measure::NonVellusDensity => "non_vellus_density",
            Measure::CumulativeThickness => "cumulative_thickness",
            Measure::MeanDiameter => "mean_diameter",
            Measure::VellusShare => "vellus_share",
        }
    }

    /// Unit of the measure.
    pub fn unit(self) -> &'static str {
        match self {
            Measure::Density | Measure::NonVellusDensity => "hairs/cm²",
            Measure::CumulativeThickness => "mm/cm²",
            Measure::MeanDiameter => "µm",
            Measure::VellusShare => "%",
        }
    }

    /// Parses a name as given by [`Measure::as_str`].
    pub fn parse(s: &str) -> Option<Measure> {
        Measure::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// One image of the study: its manifest row and the numbers from its report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageRow {
    /// Manifest line.
    pub line: u64,
    /// Subject.
    pub subject: String,
    /// Arm.
    pub arm: String,
    /// Visit.
    pub visit: String,
    /// Site.
    pub site: String,
    /// Replicate label, if any.
    pub replicate: Option<String>,
    /// The manifest's `image` cell.
    pub image: String,
    /// SHA-256 of the image file.
    pub input_sha256: Option<String>,
    /// Pixel size used, µm/px.
    pub pixel_size_um: Option<f64>,
    /// Analysed area, cm².
    pub analysed_area_cm2: Option<f64>,
    /// Hairs counted.
    pub hair_count: Option<u32>,
    /// Hairs per cm².
    pub density_per_cm2: Option<f64>,
    /// Non-vellus hairs counted.
    pub non_vellus_count: Option<u32>,
    /// Vellus hairs counted.
    pub vellus_count: Option<u32>,
    /// Cumulative thickness, mm/cm².
    pub cumulative_thickness_mm_per_cm2: Option<f64>,
    /// Mean diameter, µm.
    pub mean_diameter_um: Option<f64>,
    /// The report's error, if the image could not be counted (the row is then not aggregated).
    pub error: Option<String>,
}

impl ImageRow {
    /// Joins a manifest row with its report.
    pub fn new(row: &ManifestRow, report: &ImageReport) -> Self {
        ImageRow {
            line: row.line,
            subject: row.subject.clone(),
            arm: row.arm.clone(),
            visit: row.visit.clone(),
            site: row.site.clone(),
            replicate: row.replicate.clone(),
            image: row.image.clone(),
            input_sha256: report.input_sha256.clone(),
            pixel_size_um: report.pixel_size_um.or(row.pixel_size_um),
            analysed_area_cm2: report.analysed_area_cm2,
            hair_count: report.hair_count,
            density_per_cm2: report.density_per_cm2,
            non_vellus_count: report.non_vellus_count,
            vellus_count: report.vellus_count,
            cumulative_thickness_mm_per_cm2: report.cumulative_thickness_mm_per_cm2,
            mean_diameter_um: report.mean_diameter_um,
            error: report.error.clone(),
        }
    }
}

/// Joins manifest rows with reports by the `image` string (the report's
/// `image` field is the manifest cell verbatim, as `trichometry count
/// --manifest` writes it). Rows without a report get a `no_report` error
/// problem and are left out; error reports are kept (with `error` set) and get
/// an `image_error` problem.
pub fn join_reports(
    manifest: &StudyManifest,
    reports: &[ImageReport],
    problems: &mut Vec<Problem>,
) -> Vec<ImageRow> {
    let by_image: HashMap<&str, &ImageReport> =
        reports.iter().map(|r| (r.image.as_str(), r)).collect();
    let mut out = Vec::with_capacity(manifest.rows.len());
    for row in &manifest.rows {
        match by_image.get(row.image.as_str()) {
            None => problems.push(Problem::new(
                row.line,
                Severity::Error,
                "no_report",
                format!("no report for image `{}`", row.image),
            )),
            Some(rep) => {
                if let Some(e) = &rep.error {
                    problems.push(Problem::new(
                        row.line,
                        Severity::Error,
                        "image_error",
                        format!("image `{}` could not be counted: {e}", row.image),
                    ));
                }
                out.push(ImageRow::new(row, rep));
            }
        }
    }
    out
}

/// The measures of one subject × visit × site (or all sites).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubjectVisitRow {
    /// Subject.
    pub subject: String,
    /// Arm.
    pub arm: String,
    /// Visit.
    pub visit: String,
    /// Site, or [`ALL_SITES`].
    pub site: String,
    /// Images pooled (for all sites: sites averaged).
    pub n_images: usize,
    /// Total hairs counted (null for all sites).
    pub hair_count: Option<u64>,
    /// Total analysed area, cm² (null for all sites).
    pub analysed_area_cm2: Option<f64>,
    /// Hairs per cm²: total hairs / total area (all sites: mean of the site values).
    pub density_per_cm2: Option<f64>,
    /// Non-vellus hairs per cm².
    pub non_vellus_density_per_cm2: Option<f64>,
    /// Cumulative thickness, mm/cm² (area-weighted over images).
    pub cumulative_thickness_mm_per_cm2: Option<f64>,
    /// Mean diameter, µm (hair-count-weighted over images).
    pub mean_diameter_um: Option<f64>,
    /// Vellus share, % of hairs.
    pub vellus_share_pct: Option<f64>,
}

impl SubjectVisitRow {
    /// The value of one measure.
    pub fn value(&self, m: Measure) -> Option<f64> {
        match m {
            Measure::Density => self.density_per_cm2,
            Measure::NonVellusDensity => self.non_vellus_density_per_cm2,
            Measure::CumulativeThickness => self.cumulative_thickness_mm_per_cm2,
            Measure::MeanDiameter => self.mean_diameter_um,
            Measure::VellusShare => self.vellus_share_pct,
        }
    }

    fn set(&mut self, m: Measure, v: Option<f64>) {
        match m {
            Measure::Density => self.density_per_cm2 = v,
            Measure::NonVellusDensity => self.non_vellus_density_per_cm2 = v,
            Measure::CumulativeThickness => self.cumulative_thickness_mm_per_cm2 = v,
            Measure::MeanDiameter => self.mean_diameter_um = v,
            Measure::VellusShare => self.vellus_share_pct = v,
        }
    }
}

/// Pools images of one site at one visit into one row.
///
/// - density: Σ hairs / Σ area when every image has both; otherwise the
///   area-weighted mean of densities when every image has an area; otherwise
///   the plain mean of densities;
/// - non-vellus density: Σ non-vellus / Σ area;
/// - cumulative thickness: Σ(thickness·area) / Σ area (the same as pooling Σ diameters / Σ area);
/// - mean diameter: Σ(mean·hairs) / Σ hairs;
/// - vellus share: 100·Σ vellus / Σ hairs.
///
/// A measure is null unless every image provides what it needs, so a pooled
/// value never silently covers only part of the site. Images with an error are skipped.
///
/// # Examples
/// ```
/// use trichometry::study::aggregate::{pool, ImageRow};
/// let img = |h: u32, a: f64| ImageRow { line: 2, subject: "S1".into(), arm: "all".into(),
///     visit: "B".into(), site: "vertex".into(), replicate: None, image: "x".into(),
///     input_sha256: None, pixel_size_um: Some(5.0), analysed_area_cm2: Some(a),
///     hair_count: Some(h), density_per_cm2: Some(h as f64 / a), non_vellus_count: None,
///     vellus_count: None, cumulative_thickness_mm_per_cm2: None, mean_diameter_um: None, error: None };
/// let (a, b) = (img(100, 1.0), img(30, 0.5));
/// let row = pool(&[&a, &b]).unwrap();
/// assert!((row.density_per_cm2.unwrap() - 130.0 / 1.5).abs() < 1e-12); // not (100 + 60) / 2
/// ```
pub fn pool(images: &[&ImageRow]) -> Option<SubjectVisitRow> {
    let ok: Vec<&ImageRow> = images
        .iter()
        .copied()
        .filter(|r| r.error.is_none())
        .collect();
    let first = ok.first()?;
    let all_area: Option<Vec<f64>> = ok
        .iter()
        .map(|r| r.analysed_area_cm2.filter(|a| *a > 0.0))
        .collect();
    let all_hairs: Option<Vec<f64>> = ok.iter().map(|r| r.hair_count.map(f64::from)).collect();
    let sum_area = all_area.as_ref().map(|a| a.iter().sum::<f64>());
    let sum_hairs = all_hairs.as_ref().map(|h| h.iter().sum::<f64>());
    let density = match (sum_hairs, sum_area) {
        (Some(h), Some(a)) => Some(h / a),
        _ => {
            let d: Option<Vec<f64>> = ok.iter().map(|r| r.density_per_cm2).collect();
            d.map(|d| match &all_area {
                Some(a) => d.iter().zip(a).map(|(d, a)| d * a).sum::<f64>() / a.iter().sum::<f64>(),
                None => d.iter().sum::<f64>() / d.len() as f64,
            })
        }
    };
    let ratio_to_area = |f: &dyn Fn(&ImageRow) -> Option<f64>| -> Option<f64> {
        let a = all_area.as_ref()?;
        let v: Option<Vec<f64>> = ok.iter().map(|r| f(r)).collect();
        Some(v?.iter().sum::<f64>() / a.iter().sum::<f64>())
    };
    let non_vellus = ratio_to_area(&|r| r.non_vellus_count.map(f64::from));
    let thickness =
        ratio_to_area(&|r| Some(r.cumulative_thickness_mm_per_cm2? * r.analysed_area_cm2?));
    let per_hair = |f: &dyn Fn(&ImageRow) -> Option<f64>| -> Option<f64> {
        let h = sum_hairs.filter(|h| *h > 0.0)?;
        let v: Option<Vec<f64>> = ok.iter().map(|r| f(r)).collect();
        Some(v?.iter().sum::<f64>() / h)
    };
    let mean_diameter = per_hair(&|r| {
        let h = f64::from(r.hair_count?);
        if h == 0.0 {
            Some(0.0)
        } else {
            Some(r.mean_diameter_um? * h)
        }
    });
    let vellus_share = per_hair(&|r| r.vellus_count.map(f64::from)).map(|s| 100.0 * s);
    Some(SubjectVisitRow {
        subject: first.subject.clone(),
        arm: first.arm.clone(),
        visit: first.visit.clone(),
        site: first.site.clone(),
        n_images: ok.len(),
        hair_count: sum_hairs.map(|h| h as u64),
        analysed_area_cm2: sum_area,
        density_per_cm2: density,
        non_vellus_density_per_cm2: non_vellus,
        cumulative_thickness_mm_per_cm2: thickness,
        mean_diameter_um: mean_diameter,
        vellus_share_pct: vellus_share,
    })
}

/// One row per subject × visit × site (pooled images), followed — when the
/// study has more than one site — by one [`ALL_SITES`] row per subject × visit.
///
/// The all-sites value of a measure is the mean over the sites the subject
/// has at baseline; at a visit where one of those sites is missing it is null
/// (so that baseline and follow-up average the same sites). A subject without
/// any baseline row averages the sites present at each visit.
///
/// Rows come out in subject (first appearance) × visit (study order) × site order.
pub fn subject_visits(
    images: &[ImageRow],
    visits: &[String],
    sites: &[String],
    baseline: &str,
) -> Vec<SubjectVisitRow> {
    let mut groups: IndexMap<(&str, &str, &str), Vec<&ImageRow>> = IndexMap::new();
    for r in images {
        groups
            .entry((r.subject.as_str(), r.visit.as_str(), r.site.as_str()))
            .or_default()
            .push(r);
    }
    let subjects: Vec<&str> = {
        let mut seen = indexmap::IndexSet::new();
        for r in images {
            seen.insert(r.subject.as_str());
        }
        seen.into_iter().collect()
    };
    let mut out = Vec::new();
    for s in &subjects {
        for v in visits {
            for site in sites {
                if let Some(g) = groups.get(&(*s, v.as_str(), site.as_str())) {
                    if let Some(row) = pool(g) {
                        out.push(row);
                    }
                }
            }
        }
    }
    if sites.len() > 1 {
        let mut all = Vec::new();
        for s in &subjects {
            let of = |v: &str| -> Vec<&SubjectVisitRow> {
                out.iter()
                    .filter(|r| r.subject == *s && r.visit == v)
                    .collect()
            };
            let base_sites: Vec<String> = of(baseline).iter().map(|r| r.site.clone()).collect();
            for v in visits {
                let rows = of(v);
                if rows.is_empty() {
                    continue;
                }
                let use_sites: Vec<&String> = if base_sites.is_empty() {
                    rows.iter().map(|r| &r.site).collect()
                } else {
                    base_sites.iter().collect()
                };
                let mut row = SubjectVisitRow {
                    subject: s.to_string(),
                    arm: rows[0].arm.clone(),
                    visit: v.clone(),
                    site: ALL_SITES.to_string(),
                    n_images: rows.iter().map(|r| r.n_images).sum(),
                    hair_count: None,
                    analysed_area_cm2: None,
                    density_per_cm2: None,
                    non_vellus_density_per_cm2: None,
                    cumulative_thickness_mm_per_cm2: None,
                    mean_diameter_um: None,
                    vellus_share_pct: None,
                };
                for m in Measure::ALL {
                    let vals: Option<Vec<f64>> = use_sites
                        .iter()
                        .map(|site| {
                            rows.iter()
                                .find(|r| &r.site == *site)
                                .and_then(|r| r.value(m))
                        })
                        .collect();
                    row.set(m, vals.map(|v| v.iter().sum::<f64>() / v.len() as f64));
                }
                all.push(row);
            }
        }
        out.extend(all);
    }
    out
}

/// The replicate readings of each subject × visit × site that has at least
/// two replicates: one pooled value per replicate label. Keys are
/// `(site, subject, visit)`.
pub fn replicate_groups(
    images: &[ImageRow],
    m: Measure,
) -> IndexMap<(String, String, String), Vec<f64>> {
    let mut reps: IndexMap<(String, String, String), IndexMap<String, Vec<&ImageRow>>> =
        IndexMap::new();
    for r in images {
        if let Some(rep) = &r.replicate {
            reps.entry((r.site.clone(), r.subject.clone(), r.visit.clone()))
                .or_default()
                .entry(rep.clone())
                .or_default()
                .push(r);
        }
    }
    reps.into_iter()
        .filter_map(|(k, by_rep)| {
            let vals: Vec<f64> = by_rep
                .values()
                .filter_map(|g| pool(g).and_then(|row| row.value(m)))
                .collect();
            (vals.len() >= 2).then_some((k, vals))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img(subject: &str, visit: &str, site: &str, hairs: u32, area: f64) -> ImageRow {
        ImageRow {
            line: 2,
            subject: subject.into(),
            arm: "all".into(),
            visit: visit.into(),
            site: site.into(),
            replicate: None,
            image: format!("{subject}_{visit}_{site}"),
            input_sha256: None,
            pixel_size_um: Some(5.0),
            analysed_area_cm2: Some(area),
            hair_count: Some(hairs),
            density_per_cm2: Some(hairs as f64 / area),
            non_vellus_count: Some(hairs / 2),
            vellus_count: Some(hairs - hairs / 2),
            cumulative_thickness_mm_per_cm2: None,
            mean_diameter_um: Some(50.0),
            error: None,
        }
    }

    // All sites averages a subject's sites (one subject stays one unit), using baseline's sites.
    #[test]
    fn all_sites_average_per_subject() {
        let imgs = vec![
            img("S1", "B", "frontal", 80, 1.0),
            img("S1", "B", "vertex", 60, 1.0),
            img("S1", "M1", "frontal", 90, 1.0),
            img("S1", "M1", "vertex", 70, 1.0),
            img("S2", "B", "frontal", 100, 1.0),
            img("S2", "B", "vertex", 50, 1.0),
            img("S2", "M1", "frontal", 120, 1.0), // vertex missing at M1
        ];
        let visits = vec!["B".to_string(), "M1".to_string()];
        let sites = vec!["frontal".to_string(), "vertex".to_string()];
        let rows = subject_visits(&imgs, &visits, &sites, "B");
        let all: Vec<&SubjectVisitRow> = rows.iter().filter(|r| r.site == ALL_SITES).collect();
        assert_eq!(all.len(), 4);
        assert_eq!(all[0].density_per_cm2, Some(70.0));
        assert_eq!(all[1].density_per_cm2, Some(80.0));
        assert_eq!(all[2].density_per_cm2, Some(75.0));
        assert_eq!(all[3].density_per_cm2, None); // S2 lacks vertex at M1
        assert_eq!(all[1].vellus_share_pct, Some(50.0));
    }

    // Pooling weights by area and skips error images; a missing field nulls the measure.
    #[test]
    fn pool_weights_and_nulls() {
        let a = img("S1", "B", "v", 50, 0.5);
        let b = img("S1", "B", "v", 300, 2.0);
        let mut c = img("S1", "B", "v", 1, 1.0);
        c.error = Some("decode".into());
        let row = pool(&[&a, &b, &c]).unwrap();
        assert_eq!(row.n_images, 2);
        assert_eq!(row.density_per_cm2, Some(350.0 / 2.5));
        assert_eq!(row.non_vellus_density_per_cm2, Some(175.0 / 2.5));
        assert_eq!(row.cumulative_thickness_mm_per_cm2, None);
    }
}
