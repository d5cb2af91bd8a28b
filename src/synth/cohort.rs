//! A longitudinal demonstration cohort: subjects × scalp sites × visits, the
//! same follicles photographed again at every visit, with hairs gained and lost.
//!
//! It mirrors a typical single-arm hair-growth study (androgenetic alopecia,
//! one treatment, target areas of the frontal and vertex scalp photographed at
//! baseline and at 1, 3, 6 and 12 months; baseline densities 75–95 hairs/cm²,
//! mean increase +35 hairs/cm², SD 6.5, at 12 months). In: [`CohortParams`]
//! and a seed. Out: one image per subject × site × visit with its
//! `NAME.truth.json` sidecar, a study `manifest.csv` (`subject,visit,visit_day,
//! site,image,pixel_size_um,arm`) that `trichometry study` reads as it is, a
//! `truth.csv` with each image's true density, and `cohort.json` with the plan.
//!
//! # Model
//! Each subject × site is one [`Patch`] of scalp with a fixed **target area**:
//! the rectangle of the nominal frame, centred on the patch origin (a
//! tattoo-marked target area in a trial). Per subject, the planned 12-month
//! change is `c = mean + sd · z`, with the subjects' `z` drawn standard normal
//! and then standardised over the cohort (sample mean 0, sample SD 1), so the
//! planned changes have exactly the study's mean and SD. Each site's change is
//! `c + e_site`, with per-site deviations drawn normal and centred over the
//! sites, so the subject's average over sites stays `c`. Each site's baseline
//! density is drawn uniformly from `baseline_density_per_cm2`. At visit `k`
//! the planned density is `baseline + f_k · change`, where `f_k` is the visit's
//! share of the 12-month change (a ramp), and the planned **target count** is
//! `round(planned density · target area)`.
//!
//! The baseline patch is drawn with [`Patch::random_with_density`] and each
//! later visit with [`Patch::evolve`] from the visit before: survivors keep
//! their follicle id, exit and direction; `loss_fraction` of the hairs are
//! shed and replaced, and the net change over the whole patch is the planned
//! density change. Hairs land anywhere in the patch, so the number landing in
//! the target area is random; draws are repeated (each from its own stream)
//! until the count of exits in the target area equals the planned target count,
//! i.e. the cohort is conditioned on its plan. Clipping before each visit's
//! photograph draws every shaft's visible length anew from `scalp.length_um`.
//!
//! Every visit is photographed with the subject × site's one capture set-up
//! (same device, pixel size and lighting), re-positioned with
//! [`Capture::reimage`] and `jitter`: the frame lands a little off the target
//! area, so the **truth of an image is what its own frame shows**:
//! `density_per_cm2 = count_exit_in_area / analysed_area_cm2` of its sidecar,
//! which is close to, but not exactly, the plan.
//!
//! # Determinism
//! Every random draw comes from [`SynthRng`] streams keyed by
//! `("cohort", seed, subject, site, purpose, attempt)`; images are rendered
//! independently (in parallel with the `rayon` feature), so the same
//! parameters, seed and [`super::GENERATOR_VERSION`] give the same bytes.
//!
//! ```
//! use trichometry::synth::cohort::{plan_cohort, CohortParams};
//! let mut params = CohortParams::default();
//! params.subjects = 2;
//! params.field_mm2 = 4.0;
//! let scans = plan_cohort(&params, 7)?;
//! assert_eq!(scans.len(), 2 * 2 * 5); // subjects × sites × visits
//! let s = &scans[4]; // S01, frontal, month12
//! assert_eq!((s.subject.as_str(), s.site.as_str(), s.visit.as_str()), ("S01", "frontal", "month12"));
//! // Exits in the target area follow the plan, hair by hair.
//! assert_eq!(s.target_count, (s.planned_density_per_cm2 * s.target_area_cm2).round() as u64);
//! # Ok::<(), trichometry::Error>(())
//! ```
//!
//! # References
//! \[1\] J. Kaufman et al. (1998), "Finasteride in the treatment of men with
//!     androgenetic alopecia", J. Am. Acad. Dermatol. 39(4):578-589
//!     (1 cm² target-area counts at baseline and follow-up, phototrichogram).
//! \[2\] U. Blume-Peytavi et al. (2011), "S1 guideline for diagnostic evaluation
//!     in androgenetic alopecia in men, women and adolescents", Br. J. Dermatol.
//!     164(1):5-15 (phototrichogram of clipped, tattoo-marked target areas).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::capture::Capture;
use super::longitudinal::{RepeatJitter, VisitChange};
use super::rng::SynthRng;
use super::scenario::{LookalikeRates, SynthParams};
use super::scene::Patch;
use super::{patch_margin_um, render_patch, write_atomic, SynthImage, GENERATOR_VERSION};
use crate::error::{Error, Result};

/// One visit of the cohort's schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CohortVisit {
    /// Visit name, as written into the manifest's `visit` column.
    pub name: String,
    /// Study day (baseline = 0), written into `visit_day`.
    pub day: f64,
    /// Share of the 12-month change reached at this visit (0 at baseline, 1 at the last visit).
    pub change_fraction: f64,
}

impl CohortVisit {
    fn new(name: &str, day: f64, change_fraction: f64) -> Self {
        CohortVisit {
            name: name.to_string(),
            day,
            change_fraction,
        }
    }
}

/// Everything that defines a cohort. Defaults mirror the study of issue #6
/// (see the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CohortParams {
    /// Number of subjects, named `S01`, `S02`, …
    pub subjects: u32,
    /// Arm name written into the manifest's `arm` column.
    pub arm: String,
    /// Scalp sites photographed at every visit.
    pub sites: Vec<String>,
    /// Visit schedule; the first visit is the baseline.
    pub visits: Vec<CohortVisit>,
    /// Range of the baseline density of each subject × site, hairs/cm² (drawn uniformly).
    pub baseline_density_per_cm2: [f64; 2],
    /// Mean over subjects of the planned change at the last visit, hairs/cm².
    pub change_mean_per_cm2: f64,
    /// SD over subjects of the planned change at the last visit, hairs/cm².
    pub change_sd_per_cm2: f64,
    /// SD of a site's change about its subject's change, hairs/cm² (centred over sites).
    pub site_change_sd_per_cm2: f64,
    /// Fraction of the patch's hairs shed (and replaced) between two visits, 0–1.
    pub loss_fraction: f64,
    /// Mean change of shaft diameter between two visits, µm (treatment thickens shafts).
    pub diameter_change_um: f64,
    /// SD of the per-hair diameter change between two visits, µm.
    pub diameter_change_sd_um: f64,
    /// Area of each photograph (and of the target area), mm². A trial's target area is 100 mm² (1 cm²).
    pub field_mm2: f64,
    /// Pixel size of every photograph, µm/px.
    pub pixel_size_um: f64,
    /// How far a re-positioned photograph lands from the previous one.
    pub jitter: RepeatJitter,
    /// Hairs, skin and imaging (its `pixel_size_um`, `field_cm2`, `aspect` and
    /// `density_per_cm2` are overridden by the fields above).
    pub scalp: SynthParams,
}

impl Default for CohortParams {
    fn default() -> Self {
        CohortParams {
            subjects: 16,
            arm: "active".to_string(),
            sites: vec!["frontal".to_string(), "vertex".to_string()],
            visits: vec![
                CohortVisit::new("baseline", 0.0, 0.0),
                CohortVisit::new("month1", 30.0, 0.1),
                CohortVisit::new("month3", 91.0, 0.4),
                CohortVisit::new("month6", 182.0, 0.75),
                CohortVisit::new("month12", 365.0, 1.0),
            ],
            baseline_density_per_cm2: [75.0, 95.0],
            change_mean_per_cm2: 35.0,
            change_sd_per_cm2: 6.5,
            site_change_sd_per_cm2: 3.0,
            loss_fraction: 0.05,
            diameter_change_um: 1.0,
            diameter_change_sd_um: 1.5,
            field_mm2: 25.0,
            pixel_size_um: 5.0,
            jitter: RepeatJitter::default(),
            scalp: Self::trial_scalp(),
        }
    }
}

impl CohortParams {
    /// Scalp and imaging of a trial's phototrichogram: clipped hair, mostly
    /// dark terminal shafts with some intermediate and vellus hairs (a third of
    /// the vellus unpigmented), follicular units of 1–3 hairs, light skin, a
    /// few empty openings and pigment specks, immersion and cross-polarised
    /// light (no glare), mild vignetting, noise and defocus, JPEG quality 90–95.
    pub fn trial_scalp() -> SynthParams {
        SynthParams {
            aspect: 1.0,
            hairs_per_unit_weights: [0.6, 0.3, 0.1, 0.0],
            min_unit_spacing_um: 400.0,
            length_um: [300.0, 1000.0],
            direction_spread_deg: 10.0,
            direction_field_deg: 30.0,
            class_weights: [0.7, 0.15, 0.15],
            light_hair_fraction: 0.0,
            light_vellus_fraction: 0.3,
            skin_tone: [0.0, 0.25],
            lookalikes: LookalikeRates {
                opening_per_cm2: 10.0,
                pigment_per_cm2: 10.0,
                ..LookalikeRates::default()
            },
            polarised_prob: 1.0,
            immersion_prob: 1.0,
            vignetting: [0.1, 0.2],
            illumination_gradient: [0.0, 0.1],
            colour_cast: 0.03,
            blur_sigma_um: [0.0, 2.0],
            noise_sd: [1.0, 2.0],
            jpeg_quality: Some([90, 95]),
            round_fov_prob: 0.0,
            text_band_prob: 0.0,
            ..SynthParams::for_scenario(super::Scenario::Phototrichogram)
        }
    }

    /// The scalp parameters with this cohort's pixel size and field.
    fn scalp_params(&self) -> SynthParams {
        let mut p = self.scalp.clone();
        p.pixel_size_um = [self.pixel_size_um; 2];
        p.field_cm2 = [self.field_mm2 * 0.01; 2];
        p.density_per_cm2 = self.baseline_density_per_cm2;
        p
    }

    /// Checks the schedule, the sites and every range.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Config`] naming the first offending field.
    pub fn validate(&self) -> Result<()> {
        let cfg = |f: &str, why: String| Err(Error::config(format!("cohort.{f}"), why));
        if !(1..=999).contains(&self.subjects) {
            return cfg(
                "subjects",
                format!("{} must be within 1..=999", self.subjects),
            );
        }
        let name_ok = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        };
        if !name_ok(&self.arm) {
            return cfg(
                "arm",
                format!(
                    "`{}` must be non-empty ASCII letters, digits, - or _",
                    self.arm
                ),
            );
        }
        if self.sites.is_empty() || self.visits.is_empty() {
            return cfg("sites", "at least one site and one visit are needed".into());
        }
        let mut seen = BTreeSet::new();
        for s in &self.sites {
            if !name_ok(s) || !seen.insert(s.as_str()) {
                return cfg(
                    "sites",
                    format!("`{s}` is empty, not ASCII letters/digits/-/_, or repeated"),
                );
            }
        }
        let mut seen = BTreeSet::new();
        for (i, v) in self.visits.iter().enumerate() {
            if !name_ok(&v.name) || !seen.insert(v.name.as_str()) {
                return cfg(
                    "visits",
                    format!(
                        "`{}` is empty, not ASCII letters/digits/-/_, or repeated",
                        v.name
                    ),
                );
            }
            if !v.day.is_finite() || !v.change_fraction.is_finite() {
                return cfg(
                    "visits",
                    format!("`{}`: day and change_fraction must be finite", v.name),
                );
            }
            if i > 0 && v.day <= self.visits[i - 1].day {
                return cfg("visits", format!("`{}`: days must increase", v.name));
            }
        }
        if self.visits[0].change_fraction != 0.0 {
            return cfg("visits", "the baseline's change_fraction must be 0".into());
        }
        let [lo, hi] = self.baseline_density_per_cm2;
        if !(lo.is_finite() && hi.is_finite() && lo >= 0.0 && lo <= hi && hi <= 1000.0) {
            return cfg(
                "baseline_density_per_cm2",
                format!("[{lo}, {hi}] must be ordered within 0..=1000"),
            );
        }
        for (f, v, max) in [
            (
                "change_mean_per_cm2",
                self.change_mean_per_cm2.abs(),
                1000.0,
            ),
            ("change_sd_per_cm2", self.change_sd_per_cm2, 1000.0),
            (
                "site_change_sd_per_cm2",
                self.site_change_sd_per_cm2,
                1000.0,
            ),
            ("loss_fraction", self.loss_fraction, 1.0),
            ("diameter_change_um", self.diameter_change_um.abs(), 50.0),
            ("diameter_change_sd_um", self.diameter_change_sd_um, 50.0),
        ] {
            if !(v.is_finite() && (0.0..=max).contains(&v)) {
                return cfg(
                    f,
                    format!("must be finite, non-negative (SDs, fractions) and at most {max}"),
                );
            }
        }
        if !(self.field_mm2.is_finite() && (0.5..=400.0).contains(&self.field_mm2)) {
            return cfg(
                "field_mm2",
                format!("{} must be within 0.5..=400", self.field_mm2),
            );
        }
        for (f, v) in [
            ("jitter.shift_sd_um", self.jitter.shift_sd_um),
            ("jitter.rotation_sd_deg", self.jitter.rotation_sd_deg),
            ("jitter.brightness_sd", self.jitter.brightness_sd),
            ("jitter.defocus_max_um", self.jitter.defocus_max_um),
        ] {
            if !(v.is_finite() && (0.0..=1000.0).contains(&v)) {
                return cfg(f, format!("{v} must be finite within 0..=1000"));
            }
        }
        self.scalp_params().validate()
    }
}

/// One planned photograph: a subject × site × visit, its scalp and its capture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CohortScan {
    /// Subject, `S01` …
    pub subject: String,
    /// Arm.
    pub arm: String,
    /// Site.
    pub site: String,
    /// Visit name.
    pub visit: String,
    /// Study day of the visit.
    pub visit_day: f64,
    /// File stem of the image, `{subject}_{site}_{visit}`.
    pub stem: String,
    /// Planned density at this visit, hairs/cm².
    pub planned_density_per_cm2: f64,
    /// Area of the target rectangle, cm².
    pub target_area_cm2: f64,
    /// Exits in the target rectangle (equals the plan unless no draw reached it).
    pub target_count: u64,
    /// Hairs in the target rectangle kept from the previous visit (same follicle id).
    pub kept: u64,
    /// Hairs in the target rectangle new since the previous visit.
    pub gained: u64,
    /// Hairs in the target rectangle at the previous visit that are gone.
    pub lost: u64,
    /// The scalp at this visit.
    pub patch: Patch,
    /// The photograph's set-up.
    pub capture: Capture,
}

/// Follicle ids whose exit lies in the centred rectangle `half` (µm).
fn ids_in_target(patch: &Patch, half: [f64; 2]) -> BTreeSet<u64> {
    patch
        .hairs
        .iter()
        .filter(|h| h.exit_um[0].abs() < half[0] && h.exit_um[1].abs() < half[1])
        .map(|h| h.follicle_id)
        .collect()
}

/// Most draws tried for one patch before keeping the closest to the plan.
const MAX_ATTEMPTS: u64 = 2000;

/// Repeats `draw(attempt)` until the target count is `want`; keeps the closest otherwise.
fn conditioned(want: u64, half: [f64; 2], mut draw: impl FnMut(u64) -> Patch) -> Patch {
    let mut best: Option<(u64, Patch)> = None;
    for attempt in 0..MAX_ATTEMPTS {
        let p = draw(attempt);
        let n = ids_in_target(&p, half).len() as u64;
        let miss = n.abs_diff(want);
        if miss == 0 {
            return p;
        }
        if best.as_ref().is_none_or(|(m, _)| miss < *m) {
            best = Some((miss, p));
        }
    }
    best.map(|(_, p)| p).unwrap_or_else(|| draw(0))
}

/// Standardises `z` to sample mean 0 and sample SD 1 (n − 1); unchanged when
/// fewer than two values or no spread.
fn standardise(z: &mut [f64]) {
    let n = z.len() as f64;
    if z.len() < 2 {
        z.iter_mut().for_each(|v| *v = 0.0);
        return;
    }
    let m = z.iter().sum::<f64>() / n;
    let sd = (z.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    if sd > 0.0 {
        z.iter_mut().for_each(|v| *v = (*v - m) / sd);
    }
}

/// Draws the whole cohort — every patch and capture — without rendering.
///
/// Scans come out in subject × site × visit order.
///
/// # Errors
/// [`crate::ErrorKind::Config`] when `params` do not validate.
pub fn plan_cohort(params: &CohortParams, seed: u64) -> Result<Vec<CohortScan>> {
    params.validate()?;
    let scalp = params.scalp_params();
    let mut z: Vec<f64> = (0..u64::from(params.subjects))
        .map(|s| SynthRng::from_label("cohort-change", &[seed, s]).normal())
        .collect();
    standardise(&mut z);
    let mut out = Vec::new();
    for (si, zs) in z.iter().enumerate() {
        let s = si as u64;
        let subject = format!("S{:02}", si + 1);
        let change = params.change_mean_per_cm2 + params.change_sd_per_cm2 * zs;
        let mut dev: Vec<f64> = (0..params.sites.len() as u64)
            .map(|k| {
                params.site_change_sd_per_cm2
                    * SynthRng::from_label("cohort-site", &[seed, s, k]).normal()
            })
            .collect();
        let mean_dev = dev.iter().sum::<f64>() / dev.len() as f64;
        dev.iter_mut().for_each(|d| *d -= mean_dev);
        for (ki, site) in params.sites.iter().enumerate() {
            let k = ki as u64;
            let site_change = change + dev[ki];
            let mut rng = SynthRng::from_label("cohort", &[seed, s, k]);
            let baseline = rng.range2(params.baseline_density_per_cm2);
            let nominal = Capture::random(&scalp, &mut rng.fork());
            let frame = [
                f64::from(nominal.width_px) * nominal.pixel_size_um,
                f64::from(nominal.height_px) * nominal.pixel_size_um,
            ];
            let half = [frame[0] / 2.0, frame[1] / 2.0];
            let target_area_cm2 = frame[0] * frame[1] * 1e-8;
            let m = patch_margin_um(&scalp);
            let extent = [frame[0] + 2.0 * m, frame[1] + 2.0 * m];
            let mut prev: Option<(Patch, f64)> = None;
            for (vi, visit) in params.visits.iter().enumerate() {
                let v = vi as u64;
                let planned = baseline + visit.change_fraction * site_change;
                let want = (planned * target_area_cm2).round().max(0.0) as u64;
                let mut patch = match &prev {
                    None => conditioned(want, half, |a| {
                        let mut r = SynthRng::from_label("cohort-patch", &[seed, s, k, 0, a]);
                        Patch::random_with_density(&scalp, extent, baseline, &mut r)
                    }),
                    Some((p, prev_planned)) => {
                        let change = VisitChange {
                            density_change_per_cm2: planned - prev_planned,
                            loss_fraction: params.loss_fraction,
                            diameter_change_um: params.diameter_change_um,
                            diameter_change_sd_um: params.diameter_change_sd_um,
                            ..VisitChange::default()
                        };
                        conditioned(want, half, |a| {
                            let mut r = SynthRng::from_label("cohort-patch", &[seed, s, k, v, a]);
                            p.evolve(&change, &mut r)
                        })
                    }
                };
                // Clipped before the photograph: every visible length drawn anew.
                let mut clip = SynthRng::from_label("cohort-clip", &[seed, s, k, v]);
                for h in &mut patch.hairs {
                    h.length_um = clip.range2(scalp.length_um);
                }
                let now = ids_in_target(&patch, half);
                let (kept, gained, lost) = match &prev {
                    None => (now.len() as u64, 0, 0),
                    Some((p, _)) => {
                        let before = ids_in_target(p, half);
                        let kept = now.intersection(&before).count() as u64;
                        (kept, now.len() as u64 - kept, before.len() as u64 - kept)
                    }
                };
                let mut jr = SynthRng::from_label("cohort-capture", &[seed, s, k, v]);
                let capture = nominal.reimage(&params.jitter, &mut jr);
                out.push(CohortScan {
                    subject: subject.clone(),
                    arm: params.arm.clone(),
                    site: site.clone(),
                    visit: visit.name.clone(),
                    visit_day: visit.day,
                    stem: format!("{subject}_{site}_{}", visit.name),
                    planned_density_per_cm2: planned,
                    target_area_cm2,
                    target_count: now.len() as u64,
                    kept,
                    gained,
                    lost,
                    patch: patch.clone(),
                    capture,
                });
                prev = Some((patch, planned));
            }
        }
    }
    Ok(out)
}

/// One row of `truth.csv`: the true density of one photograph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CohortTruthRow {
    /// Subject.
    pub subject: String,
    /// Arm.
    pub arm: String,
    /// Site.
    pub site: String,
    /// Visit.
    pub visit: String,
    /// Study day.
    pub visit_day: f64,
    /// Image file name (as in the manifest).
    pub image: String,
    /// µm per pixel.
    pub pixel_size_um: f64,
    /// Analysed area of the photograph, cm².
    pub analysed_area_cm2: f64,
    /// Hairs whose exit lies in the analysed area (the sidecar's `count_exit_in_area`).
    pub count_exit_in_area: u64,
    /// `count_exit_in_area / analysed_area_cm2`, hairs/cm²: **the truth**.
    pub density_per_cm2: f64,
    /// Planned density of the target area, hairs/cm².
    pub planned_density_per_cm2: f64,
    /// Exits in the target area (patch coordinates).
    pub target_count: u64,
    /// Hairs of the target area kept since the previous visit (same follicle).
    pub target_kept: u64,
    /// Hairs of the target area gained since the previous visit.
    pub target_gained: u64,
    /// Hairs of the target area lost since the previous visit.
    pub target_lost: u64,
}

/// One row of the study manifest the cohort writes.
#[derive(Debug, Clone, Serialize)]
struct CohortManifestRow<'a> {
    subject: &'a str,
    visit: &'a str,
    visit_day: f64,
    site: &'a str,
    image: &'a str,
    pixel_size_um: f64,
    arm: &'a str,
}

/// The plan written to `cohort.json`.
#[derive(Debug, Clone, Serialize)]
struct CohortRecord<'a> {
    generator_version: &'static str,
    seed: u64,
    params: &'a CohortParams,
}

/// What [`write_cohort`] wrote.
#[derive(Debug, Clone)]
pub struct CohortWritten {
    /// The study manifest.
    pub manifest: PathBuf,
    /// The truth table.
    pub truth: PathBuf,
    /// One row per image, in manifest order.
    pub rows: Vec<CohortTruthRow>,
}

/// Renders one scan into its image and truth.
fn render_scan(scan: &CohortScan, seed: u64, index: u32) -> SynthImage {
    let mut img = render_patch(&scan.patch, &scan.capture);
    img.truth.seed = seed;
    img.truth.scenario = "cohort".to_string();
    img.truth.index = index;
    img
}

/// Encodes and writes one image and its sidecar; returns its truth row.
fn write_scan(out: &Path, scan: &CohortScan, mut img: SynthImage) -> Result<CohortTruthRow> {
    let (name, bytes) = {
        let mut bytes = Vec::new();
        let name = match img.jpeg_quality {
            Some(q) => {
                let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, q);
                img.image
                    .write_with_encoder(enc)
                    .map(|_| format!("{}.jpg", scan.stem))
            }
            None => {
                let enc = image::codecs::png::PngEncoder::new(&mut bytes);
                img.image
                    .write_with_encoder(enc)
                    .map(|_| format!("{}.png", scan.stem))
            }
        }
        .map_err(|e| Error::invalid_input(format!("encoding {}: {e}", scan.stem)))?;
        (name, bytes)
    };
    write_atomic(&out.join(&name), &bytes)?;
    img.truth.image = name.clone();
    let json = serde_json::to_vec(&img.truth).map_err(|e| Error::invalid_input(e.to_string()))?;
    write_atomic(&out.join(format!("{}.truth.json", scan.stem)), &json)?;
    let t = &img.truth;
    Ok(CohortTruthRow {
        subject: scan.subject.clone(),
        arm: scan.arm.clone(),
        site: scan.site.clone(),
        visit: scan.visit.clone(),
        visit_day: scan.visit_day,
        image: name,
        pixel_size_um: t.pixel_size_um,
        analysed_area_cm2: t.analysed_area_cm2,
        count_exit_in_area: u64::from(t.count_exit_in_area),
        density_per_cm2: t.density_per_cm2,
        planned_density_per_cm2: scan.planned_density_per_cm2,
        target_count: scan.target_count,
        target_kept: scan.kept,
        target_gained: scan.gained,
        target_lost: scan.lost,
    })
}

fn csv_bytes<T: Serialize>(rows: &[T]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r)
            .map_err(|e| Error::invalid_input(e.to_string()))?;
    }
    w.into_inner()
        .map_err(|e| Error::invalid_input(e.to_string()))
}

/// Generates the cohort into `out` (created): images and `NAME.truth.json`
/// sidecars, `manifest.csv` (study manifest, subject × site × visit order),
/// `truth.csv` ([`CohortTruthRow`]s, same order) and `cohort.json` (seed,
/// generator version and parameters). Every file is written atomically.
///
/// # Errors
/// [`crate::ErrorKind::Config`] for invalid `params`; `io_error` naming the file.
pub fn write_cohort(out: &Path, params: &CohortParams, seed: u64) -> Result<CohortWritten> {
    let scans = plan_cohort(params, seed)?;
    std::fs::create_dir_all(out).map_err(|e| Error::from_io(e, out))?;
    let work = |(i, scan): (usize, &CohortScan)| -> Result<CohortTruthRow> {
        let img = render_scan(scan, seed, i as u32);
        write_scan(out, scan, img)
    };
    #[cfg(feature = "rayon")]
    let rows: Vec<Result<CohortTruthRow>> = {
        use rayon::prelude::*;
        scans.par_iter().enumerate().map(work).collect()
    };
    #[cfg(not(feature = "rayon"))]
    let rows: Vec<Result<CohortTruthRow>> = scans.iter().enumerate().map(work).collect();
    let rows: Vec<CohortTruthRow> = rows.into_iter().collect::<Result<_>>()?;
    let manifest_rows: Vec<CohortManifestRow> = rows
        .iter()
        .map(|r| CohortManifestRow {
            subject: &r.subject,
            visit: &r.visit,
            visit_day: r.visit_day,
            site: &r.site,
            image: &r.image,
            pixel_size_um: r.pixel_size_um,
            arm: &r.arm,
        })
        .collect();
    let manifest = out.join("manifest.csv");
    write_atomic(&manifest, &csv_bytes(&manifest_rows)?)?;
    let truth = out.join("truth.csv");
    write_atomic(&truth, &csv_bytes(&rows)?)?;
    let record = CohortRecord {
        generator_version: GENERATOR_VERSION,
        seed,
        params,
    };
    let json =
        serde_json::to_vec_pretty(&record).map_err(|e| Error::invalid_input(e.to_string()))?;
    write_atomic(&out.join("cohort.json"), &json)?;
    Ok(CohortWritten {
        manifest,
        truth,
        rows,
    })
}

/// Reads a `truth.csv` written by [`write_cohort`].
///
/// # Errors
/// `io_error` when it cannot be read; [`crate::ErrorKind::Manifest`] with the
/// line number for a row that does not parse.
pub fn read_truth(path: &Path) -> Result<Vec<CohortTruthRow>> {
    let bytes = std::fs::read(path).map_err(|e| Error::from_io(e, path))?;
    let mut rdr = csv::Reader::from_reader(bytes.as_slice());
    let mut out = Vec::new();
    for (i, r) in rdr.deserialize().enumerate() {
        let row: CohortTruthRow = r.map_err(|e| {
            Error::new(crate::ErrorKind::Manifest {
                line: i as u64 + 2,
                reason: format!("not a cohort truth row: {e}"),
            })
            .with_path(path)
        })?;
        out.push(row);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A cohort small enough for a debug build: 3 subjects, 2 sites, 2 visits, 4 mm² fields.
    fn tiny() -> CohortParams {
        CohortParams {
            subjects: 3,
            visits: vec![
                CohortVisit::new("baseline", 0.0, 0.0),
                CohortVisit::new("month12", 365.0, 1.0),
            ],
            field_mm2: 4.0,
            ..CohortParams::default()
        }
    }

    // Planned 12-month changes have exactly the study's mean and SD over subjects
    // (subject = mean of its sites), and each target area holds the planned count.
    #[test]
    fn plan_follows_the_study() {
        let p = CohortParams {
            subjects: 5,
            ..tiny()
        };
        let scans = plan_cohort(&p, 3).unwrap();
        assert_eq!(scans.len(), 5 * 2 * 2);
        let mut per_subject: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        for pair in scans.chunks(2) {
            let (b, m) = (&pair[0], &pair[1]);
            assert_eq!(
                (b.visit.as_str(), m.visit.as_str()),
                ("baseline", "month12")
            );
            assert!((75.0..95.0).contains(&b.planned_density_per_cm2));
            per_subject
                .entry(&b.subject)
                .or_default()
                .push(m.planned_density_per_cm2 - b.planned_density_per_cm2);
            for s in pair {
                let want = (s.planned_density_per_cm2 * s.target_area_cm2).round() as u64;
                assert_eq!(s.target_count, want, "{}", s.stem);
            }
        }
        let c: Vec<f64> = per_subject
            .values()
            .map(|v| v.iter().sum::<f64>() / v.len() as f64)
            .collect();
        let mean = c.iter().sum::<f64>() / c.len() as f64;
        let sd = (c.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (c.len() - 1) as f64).sqrt();
        assert!((mean - 35.0).abs() < 1e-9, "{mean}");
        assert!((sd - 6.5).abs() < 1e-9, "{sd}");
    }

    // The same follicles persist between visits: survivors keep id and exit, the
    // patch loses exactly round(n · loss_fraction) hairs and changes by exactly
    // round(Δdensity · patch area); target-area kept/gained/lost add up.
    #[test]
    fn follicles_persist_and_changes_are_exact() {
        let p = tiny();
        let scans = plan_cohort(&p, 11).unwrap();
        for pair in scans.chunks(2) {
            let (b, m) = (&pair[0], &pair[1]);
            let n = b.patch.hairs.len() as i64;
            let net = ((m.planned_density_per_cm2 - b.planned_density_per_cm2) * b.patch.area_cm2())
                .round() as i64;
            let lost = ((n as f64 * p.loss_fraction).round() as i64).max(-net);
            assert_eq!(m.patch.hairs.len() as i64, n + net, "{}", m.stem);
            let before: BTreeMap<u64, [f64; 2]> = b
                .patch
                .hairs
                .iter()
                .map(|h| (h.follicle_id, h.exit_um))
                .collect();
            let kept: Vec<_> = m
                .patch
                .hairs
                .iter()
                .filter(|h| before.contains_key(&h.follicle_id))
                .collect();
            assert_eq!(kept.len() as i64, n - lost);
            assert!(kept.iter().all(|h| before[&h.follicle_id] == h.exit_um));
            assert!(m
                .patch
                .hairs
                .iter()
                .filter(|h| !before.contains_key(&h.follicle_id))
                .all(|h| h.follicle_id >= b.patch.next_follicle_id));
            assert_eq!(m.kept + m.gained, m.target_count);
            assert_eq!(b.target_count - m.lost + m.gained, m.target_count);
            assert!(m.kept > 0);
        }
    }

    // Bad parameters are refused with the field named, never a panic.
    #[test]
    fn validate_names_the_field() {
        let mut p = tiny();
        p.visits[1].day = 0.0;
        assert!(p
            .validate()
            .unwrap_err()
            .to_string()
            .contains("cohort.visits"));
        let mut p = tiny();
        p.sites = vec!["a".into(), "a".into()];
        assert!(p
            .validate()
            .unwrap_err()
            .to_string()
            .contains("cohort.sites"));
        let mut p = tiny();
        p.field_mm2 = f64::NAN;
        assert!(plan_cohort(&p, 0).is_err());
        let mut p = tiny();
        p.subjects = 0;
        assert!(p.validate().is_err());
    }

    // Standardised draws have sample mean 0 and SD 1; one value becomes 0.
    #[test]
    fn standardise_mean_sd() {
        let mut z = vec![1.0, 4.0, 2.0, 9.0];
        standardise(&mut z);
        let m = z.iter().sum::<f64>() / 4.0;
        let v = z.iter().map(|x| (x - m).powi(2)).sum::<f64>() / 3.0;
        assert!(m.abs() < 1e-12 && (v - 1.0).abs() < 1e-12);
        let mut one = vec![5.0];
        standardise(&mut one);
        assert_eq!(one, vec![0.0]);
    }
}
