//! Study statistics against independently computed values.
//!
//! Every expected value below was computed with scipy 1.17.1, statsmodels
//! 0.15.0 and pingouin 0.7.0 (Python 3, numpy 2.4) from the same inputs; the
//! script's calls are quoted beside each value. The tests do not need Python.

use trichometry::study::stats::{
    ancova, describe, paired_t, repeatability, welch_t, wilcoxon, WilcoxonMethod, ZeroMethod,
};

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1e-300)
}

/// Baseline and 12-month densities of 16 subjects (hairs/cm²), a study shaped
/// like the one the issue describes (baseline 75–95, mean increase ≈ +35).
const BASE: [f64; 16] = [
    82.0, 75.5, 91.0, 88.0, 79.0, 85.5, 93.0, 77.0, 80.0, 86.0, 90.5, 78.0, 84.0, 89.0, 76.0, 92.0,
];
const M12: [f64; 16] = [
    118.0, 109.0, 124.5, 125.0, 112.0, 121.0, 129.0, 110.5, 117.0, 119.0, 127.0, 113.5, 120.0,
    122.0, 108.0, 130.5,
];

fn diffs() -> Vec<f64> {
    M12.iter().zip(BASE).map(|(m, b)| m - b).collect()
}

// Paired t-test statistic, p and CI match scipy.stats.ttest_rel.
#[test]
fn paired_t_matches_scipy() {
    let t = paired_t(&diffs(), 0.95).unwrap().unwrap();
    // scipy.stats.ttest_rel(m12, base): statistic 73.902584748895, pvalue 1.2275620925604436e-20, df 15
    assert!(close(t.t, 73.902584748895, 1e-10));
    assert!(close(t.p, 1.2275620925604436e-20, 1e-6));
    assert_eq!(t.df, 15.0);
    // .confidence_interval(0.95): (33.960204405153156, 35.977295594846844)
    assert!(close(t.ci[0], 33.960204405153156, 1e-10));
    assert!(close(t.ci[1], 35.977295594846844, 1e-10));
    assert!(close(t.estimate, 34.96875, 1e-14));
}

// Mean, SD, median and the t interval of a sample match numpy / scipy.stats.t.interval.
#[test]
fn describe_matches_scipy() {
    let d = describe(&BASE, 0.95).unwrap().unwrap();
    // np.mean 84.15625, np.std(ddof=1) 6.051773156136417, np.median 84.75
    assert!(close(d.mean, 84.15625, 1e-14));
    assert!(close(d.sd.unwrap(), 6.051773156136417, 1e-12));
    assert_eq!(d.median, 84.75);
    assert_eq!((d.min, d.max), (75.5, 93.0));
    // scipy.stats.t.interval(0.95, 15, loc=mean, scale=sem): (80.93148771413054, 87.38101228586946)
    let ci = d.ci.unwrap();
    assert!(close(ci[0], 80.93148771413054, 1e-10));
    assert!(close(ci[1], 87.38101228586946, 1e-10));
    // Percent change per subject, summarised: mean 41.68725131294967, sd 2.8201018128966027,
    // t.interval (40.18452513106698, 43.18997749483236)
    let pct: Vec<f64> = M12
        .iter()
        .zip(BASE)
        .map(|(m, b)| 100.0 * (m - b) / b)
        .collect();
    let p = describe(&pct, 0.95).unwrap().unwrap();
    assert!(close(p.mean, 41.68725131294967, 1e-12));
    assert!(close(p.sd.unwrap(), 2.8201018128966027, 1e-10));
    assert!(close(p.ci.unwrap()[0], 40.18452513106698, 1e-10));
    assert!(close(p.ci.unwrap()[1], 43.18997749483236, 1e-10));
}

// Exact Wilcoxon p for small n without ties equals scipy's exact distribution.
#[test]
fn wilcoxon_exact_small_n() {
    // scipy.stats.wilcoxon([1.5, -0.5, 2.0, 3.1, 4.2, -1.0, 2.7], method="exact"): statistic 3.0, p 0.078125
    let w = wilcoxon(&[1.5, -0.5, 2.0, 3.1, 4.2, -1.0, 2.7], ZeroMethod::Wilcox)
        .unwrap()
        .unwrap();
    assert_eq!(w.method, WilcoxonMethod::Exact);
    assert_eq!(w.w_minus, 3.0);
    assert_eq!(w.w_plus, 25.0);
    assert!(close(w.p, 0.078125, 1e-12));
    // scipy.stats.wilcoxon([0.3, -1.1, 2.2, 0.9, -0.4, 1.7, 2.5, 3.3, -2.9, 1.2], method="exact"):
    // statistic 15.0, p 0.232421875
    let w = wilcoxon(
        &[0.3, -1.1, 2.2, 0.9, -0.4, 1.7, 2.5, 3.3, -2.9, 1.2],
        ZeroMethod::Wilcox,
    )
    .unwrap()
    .unwrap();
    assert_eq!(w.method, WilcoxonMethod::Exact);
    assert_eq!(w.w_minus, 15.0);
    assert!(close(w.p, 0.232421875, 1e-12));
}

// With ties and zeros, the normal approximation (tie + continuity correction) matches scipy for both zero methods.
#[test]
fn wilcoxon_ties_and_zeros() {
    let x = [0.0, 2.0, -2.0, 3.0, 3.0, 3.0, 5.0, -1.0, 0.0, 4.0, 6.0, 6.0];
    // scipy.stats.wilcoxon(x, zero_method="wilcox", correction=True, method="approx"): statistic 3.5, p 0.016184453851159696
    let w = wilcoxon(&x, ZeroMethod::Wilcox).unwrap().unwrap();
    assert_eq!(w.method, WilcoxonMethod::Normal);
    assert_eq!((w.n, w.n_zero), (10, 2));
    assert_eq!(w.w_minus, 3.5);
    assert!(close(w.p, 0.016184453851159696, 1e-9), "p = {}", w.p);
    // scipy.stats.wilcoxon(x, zero_method="pratt", correction=True, method="approx"): statistic 7.5, p 0.0198832218027339
    let w = wilcoxon(&x, ZeroMethod::Pratt).unwrap().unwrap();
    assert_eq!(w.w_minus, 7.5);
    assert!(close(w.p, 0.0198832218027339, 1e-9), "p = {}", w.p);
    // The 16-subject differences contain ties: normal approximation.
    // scipy.stats.wilcoxon(m12, base, method="approx", correction=True): statistic 0.0, p 0.00046781890586367823
    let w = wilcoxon(&diffs(), ZeroMethod::Wilcox).unwrap().unwrap();
    assert_eq!(w.method, WilcoxonMethod::Normal);
    assert!(close(w.p, 0.00046781890586367823, 1e-9), "p = {}", w.p);
}

// Welch's t-test statistic, df, p and CI match scipy.stats.ttest_ind(equal_var=False).
#[test]
fn welch_matches_scipy() {
    let a = [34.0, 41.5, 29.0, 38.0, 36.5, 44.0, 31.0, 39.5];
    let b = [5.0, -2.0, 8.5, 3.0, 1.0, 10.0, -4.5];
    let w = welch_t(&a, &b, 0.95).unwrap().unwrap();
    // statistic 12.455582622323954, pvalue 1.8561288655705353e-08, df 12.61648492339469
    assert!(close(w.t, 12.455582622323954, 1e-10));
    assert!(close(w.df, 12.61648492339469, 1e-10));
    assert!(close(w.p, 1.8561288655705353e-08, 1e-6));
    // confidence_interval(0.95): (27.826437731933886, 39.548562268066114)
    assert!(close(w.ci[0], 27.826437731933886, 1e-9));
    assert!(close(w.ci[1], 39.548562268066114, 1e-9));
}

// The closed-form ANCOVA equals statsmodels OLS `y ~ g + x`.
#[test]
fn ancova_matches_statsmodels() {
    let xa = [80.0, 92.0, 75.0, 88.0, 85.0, 79.0, 90.0, 83.0];
    let ya = [116.0, 131.0, 105.0, 127.0, 120.0, 117.0, 128.0, 121.0];
    let xb = [84.0, 77.0, 91.0, 86.0, 81.0, 89.0, 78.0];
    let yb = [88.0, 80.0, 97.0, 90.0, 84.0, 95.0, 79.0];
    let a: Vec<(f64, f64)> = xa.into_iter().zip(ya).collect();
    let b: Vec<(f64, f64)> = xb.into_iter().zip(yb).collect();
    let r = ancova(&a, &b, 0.95).unwrap().unwrap();
    // smf.ols("y ~ g + x", df).fit(): params g 32.67013888888891, bse g 0.8792186159027214,
    // pvalues g 9.264266090803292e-14, params x 1.3420138888888846
    assert!(close(r.estimate, 32.67013888888891, 1e-10));
    assert!(close(r.se, 0.8792186159027214, 1e-10));
    assert!(close(r.p, 9.264266090803292e-14, 1e-5));
    assert!(close(r.slope, 1.3420138888888846, 1e-10));
    assert_eq!(r.df, 12.0);
    // conf_int(0.05).loc["g"]: (30.754486088477794, 34.58579168930002)
    assert!(close(r.ci[0], 30.754486088477794, 1e-10));
    assert!(close(r.ci[1], 34.58579168930002, 1e-10));
}

// ICC(1,1), within-subject SD, SDC and CV from replicates match pingouin / numpy.
#[test]
fn repeatability_matches_pingouin() {
    let reps = vec![
        vec![80.0, 83.0, 78.0],
        vec![95.0, 92.0, 97.0],
        vec![70.0, 74.0, 71.0],
        vec![88.0, 85.0, 90.0],
        vec![101.0, 98.0, 99.0],
        vec![76.0, 79.0, 75.0],
    ];
    let r = repeatability(&reps).unwrap().unwrap();
    // pingouin.intraclass_corr(...): ICC(1,1) = 0.957745 (printed to 6 digits)
    assert!((r.icc.unwrap() - 0.957745).abs() < 5e-7);
    // numpy: sqrt(mean of per-unit variances) = 2.23606797749979; 1.96·√2·Sw = 6.1980642139300235
    assert!(close(r.within_sd, 2.23606797749979, 1e-12));
    assert!(close(r.sdc, 6.1980642139300235, 1e-12));
    // numpy: 100·sqrt(mean(var_i / mean_i²)) = 2.686254167962441
    assert!(close(r.cv_pct, 2.686254167962441, 1e-12));
    assert_eq!((r.n_units, r.n_readings), (6, 18));
}
