//! End-to-end study analysis from precomputed per-image reports: aggregation,
//! endpoint tables, arm comparisons, repeatability, outcomes, checks and the
//! files written. Expected p-values, CIs and estimates were computed with
//! scipy 1.17.1 / statsmodels 0.15.0 / pingouin 0.7.0 from the same numbers
//! (the calls are quoted); tests do not need Python.

use std::path::Path;

use trichometry::report::{ImageReport, Provenance};
use trichometry::study::aggregate::{Measure, ALL_SITES};
use trichometry::study::manifest::{parse_manifest, Severity};
use trichometry::study::tables::{PLabel, VisitSummary};
use trichometry::study::{analyse, output, PrimaryEndpoint, StudyConfig, StudyResult};

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1e-300)
}

fn report(image: &str, hairs: u32, area_cm2: f64) -> ImageReport {
    let prov = Provenance {
        crate_version: "test".into(),
        config_hash: "0".into(),
        calibration_source: None,
    };
    let mut r = ImageReport::empty(image.to_string(), Default::default(), prov);
    r.hair_count = Some(hairs);
    r.analysed_area_cm2 = Some(area_cm2);
    r.density_per_cm2 = Some(f64::from(hairs) / area_cm2);
    r.pixel_size_um = Some(5.0);
    r.input_sha256 = Some(format!("sha-{image}"));
    r
}

fn row<'a>(
    res: &'a StudyResult,
    arm: &str,
    site: &str,
    m: Measure,
    visit: &str,
) -> &'a VisitSummary {
    res.summary
        .iter()
        .find(|r| r.arm == arm && r.site == site && r.measure == m && r.visit == visit)
        .unwrap_or_else(|| panic!("no summary row {arm}/{site}/{visit}"))
}

/// Seven subjects, frontal and vertex, visits B, M3, M12 (listed out of order,
/// ordered by visit_day). Subject 1's frontal baseline is two tiles; subject 7 misses M3.
fn single_arm() -> (String, Vec<ImageReport>) {
    let f_b = [80, 90, 85, 70, 95, 88, 76];
    let v_b = [60, 72, 66, 58, 75, 70, 62];
    let d_f = [4, -2, 6, 10, 14, -4, 8];
    let d_v = [2, 0, 2, 2, 2, 0, 2];
    let mut csv = String::from("subject,visit,visit_day,site,image,pixel_size_um,satisfaction\n");
    let mut reps = Vec::new();
    for s in 0..7 {
        let id = format!("S{}", s + 1);
        for (visit, day) in [("M12", 365), ("B", 0), ("M3", 90)] {
            if visit == "M3" && s == 6 {
                continue;
            }
            let (f, v) = match visit {
                "B" => (f_b[s], v_b[s]),
                "M3" => (f_b[s] + d_f[s] / 2, v_b[s] + d_v[s] / 2),
                _ => (f_b[s] + d_f[s], v_b[s] + d_v[s]),
            };
            let sat = if visit == "M12" {
                ((s % 5) + 1).to_string()
            } else {
                String::new()
            };
            if visit == "B" && s == 0 {
                // 50 hairs on 0.6 cm² and 30 on 0.4 cm²: pooled 80/cm², not the mean 79.2 of the two densities.
                csv += &format!("{id},B,{day},frontal,{id}_B_f1.png,5,\n{id},B,{day},frontal,{id}_B_f2.png,5,\n");
                reps.push(report(&format!("{id}_B_f1.png"), 50, 0.6));
                reps.push(report(&format!("{id}_B_f2.png"), 30, 0.4));
            } else {
                let name = format!("{id}_{visit}_f.png");
                csv += &format!("{id},{visit},{day},frontal,{name},5,{sat}\n");
                reps.push(report(&name, f as u32, 1.0));
            }
            let name = format!("{id}_{visit}_v.png");
            csv += &format!("{id},{visit},{day},vertex,{name},5,{sat}\n");
            reps.push(report(&name, v as u32, 1.0));
        }
    }
    (csv, reps)
}

fn analyse_single(cfg: &StudyConfig) -> StudyResult {
    let (csv, reps) = single_arm();
    let m = parse_manifest(csv.as_bytes(), Path::new("")).unwrap();
    analyse(&m, &reps, cfg).unwrap()
}

// Visits follow visit_day; the baseline is the first; all-sites rows average sites per subject.
#[test]
fn orders_visits_and_pools() {
    let res = analyse_single(&StudyConfig::default());
    assert_eq!(res.visits, vec!["B", "M3", "M12"]);
    assert_eq!(res.baseline, "B");
    assert_eq!(res.sites, vec!["frontal", "vertex", ALL_SITES]);
    let s1b = res
        .subject_visits
        .iter()
        .find(|r| r.subject == "S1" && r.visit == "B" && r.site == "frontal")
        .unwrap();
    assert_eq!(s1b.n_images, 2);
    assert_eq!(s1b.density_per_cm2, Some(80.0));
    let s1b_all = res
        .subject_visits
        .iter()
        .find(|r| r.subject == "S1" && r.visit == "B" && r.site == ALL_SITES)
        .unwrap();
    assert_eq!(s1b_all.density_per_cm2, Some(70.0)); // (80 + 60) / 2
                                                     // The all-sites n is 7 subjects, not 14 site-values.
    assert_eq!(row(&res, "all", ALL_SITES, Measure::Density, "B").n, 7);
}

// The all-sites M12 row matches scipy: exact Wilcoxon, paired t and its CI, percent change.
#[test]
fn all_sites_endpoint_matches_scipy() {
    let res = analyse_single(&StudyConfig::default());
    let r = row(&res, "all", ALL_SITES, Measure::Density, "M12");
    assert_eq!((r.n, r.n_missing, r.change_n), (7, 0, 7));
    // numpy on the all-sites M12 values: mean 78.07142857142857, sd 7.496824724667168, median 77, range 70–93
    assert!(close(r.mean.unwrap(), 78.07142857142857, 1e-12));
    assert!(close(r.sd.unwrap(), 7.496824724667168, 1e-10));
    assert_eq!(
        (r.median, r.min, r.max),
        (Some(77.0), Some(70.0), Some(93.0))
    );
    // scipy.stats.wilcoxon(d, method="exact") with d = [3, -1, 4, 6, 8, -2, 5]: statistic 3.0, p 0.078125
    assert_eq!(r.wilcoxon_method.as_deref(), Some("exact"));
    assert!(close(r.wilcoxon_p.unwrap(), 0.078125, 1e-12));
    // scipy.stats.ttest_rel(aM, aB): t 2.3892745956723305, p 0.05407970506783143,
    // CI (-0.07926236441757872, 6.65069093584615)
    assert!(close(r.t.unwrap(), 2.3892745956723305, 1e-10));
    assert!(close(r.t_p.unwrap(), 0.05407970506783143, 1e-8));
    assert!(close(r.change_ci_low.unwrap(), -0.07926236441757872, 1e-8));
    assert!(close(r.change_ci_high.unwrap(), 6.65069093584615, 1e-10));
    // numpy: 100·d/aB → mean 4.550093653909876, sd 4.803265025572099
    assert!(close(r.pct_change_mean.unwrap(), 4.550093653909876, 1e-10));
    assert!(close(r.pct_change_sd.unwrap(), 4.803265025572099, 1e-10));
    assert_eq!(r.p_label, Some(PLabel::Exploratory));
}

// Per-site rows with ties and zeros use the normal approximation, as scipy does.
#[test]
fn per_site_ties_and_zeros() {
    let res = analyse_single(&StudyConfig::default());
    let f = row(&res, "all", "frontal", Measure::Density, "M12");
    // scipy.stats.wilcoxon(df, method="approx", correction=True): p 0.0903917145624604
    assert_eq!(f.wilcoxon_method.as_deref(), Some("normal"));
    assert!(close(f.wilcoxon_p.unwrap(), 0.0903917145624604, 1e-9));
    let v = row(&res, "all", "vertex", Measure::Density, "M12");
    // dv = [2, 0, 2, 2, 2, 0, 2]: zeros dropped (zero_method="wilcox"), p 0.03688842570704982;
    // scipy.stats.ttest_1samp(dv, 0): p 0.008237354145108098
    assert_eq!(v.n_zero_change, 2);
    assert!(close(v.wilcoxon_p.unwrap(), 0.03688842570704982, 1e-9));
    assert!(close(v.t_p.unwrap(), 0.008237354145108098, 1e-8));
}

// A subject missing a visit is counted as missing and left out of that visit's paired test.
#[test]
fn missing_visit_counted() {
    let res = analyse_single(&StudyConfig::default());
    let r = row(&res, "all", ALL_SITES, Measure::Density, "M3");
    assert_eq!((r.n_subjects, r.n, r.n_missing, r.change_n), (7, 6, 1, 6));
    let b = row(&res, "all", ALL_SITES, Measure::Density, "B");
    assert!(b.is_baseline && b.t_p.is_none() && b.p_label.is_none());
}

// --primary labels exactly one row primary; a different --baseline changes the reference visit.
#[test]
fn primary_and_baseline() {
    let mut cfg = StudyConfig::default();
    cfg.primary = Some(PrimaryEndpoint::parse("M12:all_sites:density").unwrap());
    let res = analyse_single(&cfg);
    let prim: Vec<_> = res
        .summary
        .iter()
        .filter(|r| r.p_label == Some(PLabel::Primary))
        .collect();
    assert_eq!(prim.len(), 1);
    assert_eq!(
        (prim[0].visit.as_str(), prim[0].site.as_str()),
        ("M12", ALL_SITES)
    );

    let mut cfg = StudyConfig::default();
    cfg.baseline = Some("M3".into());
    let res = analyse_single(&cfg);
    assert_eq!(res.baseline, "M3");
    assert!(row(&res, "all", ALL_SITES, Measure::Density, "M3").is_baseline);
    let mut bad = StudyConfig::default();
    bad.baseline = Some("M6".into());
    let (csv, reps) = single_arm();
    let m = parse_manifest(csv.as_bytes(), Path::new("")).unwrap();
    assert_eq!(
        analyse(&m, &reps, &bad).unwrap_err().code(),
        "config_invalid"
    );
}

// Outcome columns: one answer per subject × visit, distribution and share ≥ 4.
#[test]
fn outcome_summary() {
    let mut cfg = StudyConfig::default();
    cfg.outcomes = vec!["satisfaction".into()];
    let res = analyse_single(&cfg);
    assert_eq!(res.outcomes.len(), 1);
    let o = &res.outcomes[0];
    // answers (s % 5) + 1 for s = 0..7: 1,2,3,4,5,1,2 → two of seven ≥ 4
    assert_eq!(o.visit, "M12");
    assert_eq!(o.n, 7);
    assert_eq!(o.distribution.get("1"), Some(&2));
    assert_eq!(o.distribution.get("5"), Some(&1));
    assert!(close(o.pct_at_least.unwrap(), 100.0 * 2.0 / 7.0, 1e-12));
    assert!(close(o.mean.unwrap(), 18.0 / 7.0, 1e-12));
}

// Two arms: Welch on change and ANCOVA on follow-up with baseline match scipy / statsmodels.
#[test]
fn two_arm_comparison() {
    let xa = [80, 92, 75, 88, 85, 79, 90, 83];
    let ya = [116, 131, 105, 127, 120, 117, 128, 121];
    let xb = [84, 77, 91, 86, 81, 89, 78];
    let yb = [88, 80, 97, 90, 84, 95, 79];
    let mut csv = String::from("subject,arm,visit,image\n");
    let mut reps = Vec::new();
    for (arm, xs, ys) in [("active", &xa[..], &ya[..]), ("vehicle", &xb[..], &yb[..])] {
        for (i, (x, y)) in xs.iter().zip(ys).enumerate() {
            for (visit, v) in [("B", x), ("M6", y)] {
                let name = format!("{arm}{i}_{visit}.png");
                csv += &format!("{arm}{i},{arm},{visit},{name}\n");
                reps.push(report(&name, *v, 1.0));
            }
        }
    }
    let m = parse_manifest(csv.as_bytes(), Path::new("")).unwrap();
    let mut cfg = StudyConfig::default();
    cfg.primary = Some(PrimaryEndpoint::parse("M6:target:density").unwrap());
    let res = analyse(&m, &reps, &cfg).unwrap();
    let c = res
        .comparisons
        .iter()
        .find(|c| c.measure == Measure::Density)
        .unwrap();
    assert_eq!(
        (c.arm.as_str(), c.reference_arm.as_str()),
        ("active", "vehicle")
    );
    assert_eq!((c.n_arm, c.n_reference), (8, 7));
    // scipy.stats.ttest_ind(ya - xa, yb - xb, equal_var=False): p 1.3873646488544934e-11, df 11.514021418202615,
    // CI (30.007905619460736, 35.527808666253556)
    assert!(close(c.welch_p.unwrap(), 1.3873646488544934e-11, 1e-6));
    assert!(close(c.welch_ci_low.unwrap(), 30.007905619460736, 1e-9));
    assert!(close(c.welch_ci_high.unwrap(), 35.527808666253556, 1e-9));
    // statsmodels smf.ols("y ~ g + x"): coef g 32.67013888888891, CI (30.754486088477794, 34.58579168930002),
    // p 9.264266090803292e-14, coef x 1.3420138888888846
    assert!(close(c.ancova_estimate.unwrap(), 32.67013888888891, 1e-10));
    assert!(close(c.ancova_ci_low.unwrap(), 30.754486088477794, 1e-10));
    assert!(close(c.ancova_ci_high.unwrap(), 34.58579168930002, 1e-10));
    assert!(close(c.ancova_p.unwrap(), 9.264266090803292e-14, 1e-5));
    assert!(close(c.ancova_slope.unwrap(), 1.3420138888888846, 1e-10));
    assert_eq!(c.p_label, PLabel::Primary);
    // In a two-arm study the within-arm paired tests are exploratory.
    let within = row(&res, "active", "target", Measure::Density, "M6");
    assert_eq!(within.p_label, Some(PLabel::Exploratory));
    // scipy.stats.ttest_rel(yb, xb): p 0.0011974729496169035
    let vb = row(&res, "vehicle", "target", Measure::Density, "M6");
    assert!(close(vb.t_p.unwrap(), 0.0011974729496169035, 1e-8));
}

// Replicate photographs give CV, ICC(1,1) and SDC equal to pingouin / numpy.
#[test]
fn repeatability_from_replicates() {
    let reps_vals = [
        [80, 83, 78],
        [95, 92, 97],
        [70, 74, 71],
        [88, 85, 90],
        [101, 98, 99],
        [76, 79, 75],
    ];
    let mut csv = String::from("subject,visit,site,replicate,image\n");
    let mut reps = Vec::new();
    for (s, vals) in reps_vals.iter().enumerate() {
        for (k, v) in vals.iter().enumerate() {
            let name = format!("S{s}_r{k}.png");
            csv += &format!("S{s},B,vertex,{k},{name}\n");
            reps.push(report(&name, *v, 1.0));
        }
    }
    let m = parse_manifest(csv.as_bytes(), Path::new("")).unwrap();
    let res = analyse(&m, &reps, &StudyConfig::default()).unwrap();
    let r = res
        .repeatability
        .iter()
        .find(|r| r.measure == Measure::Density)
        .unwrap();
    // pingouin.intraclass_corr: ICC(1,1) 0.957745; numpy Sw 2.23606797749979, SDC 6.1980642139300235, CV 2.686254167962441 %
    assert!((r.icc.unwrap() - 0.957745).abs() < 5e-7);
    assert!(close(r.within_sd, 2.23606797749979, 1e-12));
    assert!(close(r.sdc, 6.1980642139300235, 1e-12));
    assert!(close(r.cv_pct, 2.686254167962441, 1e-12));
    // The study value of a subject-visit pools its replicates: S0 = (80 + 83 + 78) / 3 cm².
    let s0 = res
        .subject_visits
        .iter()
        .find(|r| r.subject == "S0")
        .unwrap();
    assert!(close(s0.density_per_cm2.unwrap(), 241.0 / 3.0, 1e-12));
}

// Study checks: the same photograph under two rows, a pixel-size shift, a device change, a missing report.
#[test]
fn study_checks() {
    let csv = "subject,visit,image,device\nS1,B,a.png,cam1\nS1,M1,b.png,cam2\nS2,B,c.png,cam1\nS2,M1,d.png,cam1\nS3,M1,e.png,cam1\n";
    let m = parse_manifest(csv.as_bytes(), Path::new("")).unwrap();
    let a = report("a.png", 80, 1.0);
    let mut b = report("b.png", 90, 1.0);
    b.pixel_size_um = Some(5.5);
    let c = report("c.png", 70, 1.0);
    let mut d = report("c-copy.png", 70, 1.0);
    d.image = "d.png".into();
    d.input_sha256 = c.input_sha256.clone();
    let res = analyse(&m, &[a, b, c, d], &StudyConfig::default()).unwrap();
    let got: Vec<(u64, &str, Severity)> = res
        .problems
        .iter()
        .map(|p| (p.line, p.code.as_str(), p.severity))
        .collect();
    assert_eq!(
        got,
        vec![
            (3, "calibration_shift", Severity::Warning),
            (3, "acquisition_shift", Severity::Warning),
            (5, "same_photograph", Severity::Warning),
            (6, "missing_baseline", Severity::Warning),
            (6, "no_report", Severity::Error),
        ]
    );
}

// write_all writes CSV/JSON tables, PNG + SVG plots and the Markdown report.
#[test]
fn writes_all_outputs() {
    let res = analyse_single(&StudyConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let written = output::write_all(&res, dir.path()).unwrap();
    for name in [
        "images.csv",
        "subject_visits.csv",
        "visit_summary.csv",
        "problems.csv",
        "study.json",
        "report.md",
        "density_all_sites.png",
        "density_all_sites.svg",
        "change_frontal.png",
        "change_vertex.svg",
    ] {
        assert!(dir.path().join(name).is_file(), "{name} missing");
    }
    assert!(written.len() >= 17);
    let summary = std::fs::read_to_string(dir.path().join("visit_summary.csv")).unwrap();
    assert!(summary
        .starts_with("arm,site,measure,unit,visit,is_baseline,n_subjects,n,n_missing,mean,sd"));
    // 3 sites × 3 measures with data (density, non-vellus density is null here...) × 3 visits + header
    let n_rows = summary.lines().count() - 1;
    assert_eq!(n_rows, res.summary.len());
    let png = image::open(dir.path().join("density_all_sites.png")).unwrap();
    assert_eq!((png.width(), png.height()), (900, 600));
    let svg = std::fs::read_to_string(dir.path().join("change_vertex.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("Change in density"));
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(md.contains("| M12 | 7 (0) | 78.1 ± 7.5 |"));
    assert!(md.contains("every p-value in this report is exploratory"));
    let back: StudyResult =
        serde_json::from_slice(&std::fs::read(dir.path().join("study.json")).unwrap()).unwrap();
    assert_eq!(back.summary.len(), res.summary.len());
}
