//! Count-level and agreement statistics against independently computed values.
//!
//! Unless said otherwise, expected values come from numpy 2.4.6 / scipy 1.17.1
//! (the script is `fixtures/eval/reference_values.py`; tests never run it): numpy for
//! MAE, RMSE, MAPE, WAPE, bias, SD and limits of agreement, `scipy.stats.linregress`
//! for the proportional-bias regression, `scipy.stats.pearsonr` for r, and
//! Lin's CCC in the `r · C_b` form of Lin (1989, eq. 3), a different algebraic
//! route from the one in the crate.

use trichometry::eval::{bland_altman, count_metrics, icc_a1, icc_a1_ratings, lin_ccc, pearson_r};

/// Ten images: (truth, prediction). One truth is 0.
const TRUTH: [f64; 10] = [12.0, 25.0, 0.0, 40.0, 33.0, 18.0, 51.0, 7.0, 29.0, 44.0];
const PRED: [f64; 10] = [14.0, 23.0, 1.0, 45.0, 30.0, 18.0, 56.0, 9.0, 27.0, 47.0];

fn pairs() -> Vec<(f64, f64)> {
    TRUTH.iter().copied().zip(PRED.iter().copied()).collect()
}

fn close(a: f64, b: f64, tol: f64) {
    assert!((a - b).abs() <= tol, "{a} != {b} (tol {tol})");
}

// MAE, RMSE, MAPE (truth 0 left out and counted), WAPE, bias and SD match numpy.
#[test]
fn error_sizes_match_numpy() {
    let m = count_metrics(&pairs());
    assert_eq!(m.n, 10);
    assert_eq!(m.n_truth_zero, 1);
    close(m.mae.unwrap(), 2.5, 1e-12);
    close(m.rmse.unwrap(), 2.9154759474226504, 1e-12);
    close(m.mape_pct.unwrap(), 10.927517715550168, 1e-10);
    close(m.wape_pct.unwrap(), 9.652509652509652, 1e-10);
    close(m.bias.unwrap(), 1.1, 1e-12);
    close(m.sd_diff.unwrap(), 2.8460498941515415, 1e-12);
    close(m.mean_truth.unwrap(), 25.9, 1e-12);
    close(m.mean_pred.unwrap(), 27.0, 1e-12);
}

// Bland–Altman limits (absolute and %) match numpy; the regression of the
// difference on the mean matches scipy.stats.linregress (slope, intercept, p).
#[test]
fn bland_altman_matches_numpy_and_linregress() {
    let ba = bland_altman(&pairs()).unwrap();
    close(ba.bias, 1.1, 1e-12);
    close(ba.loa_low, -4.478257792537022, 1e-10);
    close(ba.loa_high, 6.678257792537021, 1e-10);
    assert_eq!(ba.n_pct, 10);
    close(ba.bias_pct.unwrap(), 24.30885222528983, 1e-9);
    close(ba.sd_pct.unwrap(), 62.7454083434777, 1e-9);
    close(ba.slope.unwrap(), 0.063927457135047, 1e-12);
    close(ba.intercept.unwrap(), -0.5908812412219928, 1e-12);
    close(ba.slope_p.unwrap(), 0.27113486738338166, 1e-7);
}

// Pearson's r matches scipy.stats.pearsonr.
#[test]
fn pearson_matches_scipy() {
    close(pearson_r(&pairs()).unwrap(), 0.9883446991411932, 1e-12);
}

// Lin's CCC matches the r·C_b form; its z-transform CI matches a transcription
// of R epiR::epi.ccc (ci = "z-transform") evaluated with scipy.
#[test]
fn ccc_matches_reference() {
    let c = lin_ccc(&pairs()).unwrap();
    close(c.value, 0.9841210536147957, 1e-12);
    close(c.ci_low.unwrap(), 0.9437813824396734, 1e-9);
    close(c.ci_high.unwrap(), 0.9955808005087327, 1e-9);
}

// ICC(A,1) on the Shrout & Fleiss (1979) 6×4 example: ICC(2,1) = 0.29 with 95%
// CI [0.019, 0.76], as printed by R psych::ICC on this data set (Shrout &
// Fleiss give 0.29); pingouin 0.7.0 intraclass_corr ICC(A,1): 0.289764,
// CI95 [0.02, 0.76]; full-precision CI from McGraw & Wong Table 7 with
// scipy.stats.f.ppf.
#[test]
fn icc_matches_shrout_fleiss_example() {
    let sf = ndarray::array![
        [9.0, 2.0, 5.0, 8.0],
        [6.0, 1.0, 3.0, 2.0],
        [8.0, 4.0, 6.0, 8.0],
        [7.0, 1.0, 2.0, 6.0],
        [10.0, 5.0, 6.0, 9.0],
        [6.0, 2.0, 4.0, 7.0]
    ];
    let icc = icc_a1_ratings(sf.view()).unwrap();
    close(icc.value, 0.29, 0.005);
    close(icc.ci_low.unwrap(), 0.019, 0.0005);
    close(icc.ci_high.unwrap(), 0.76, 0.005);
    close(icc.value, 0.2897637795275592, 1e-12);
    close(icc.ci_low.unwrap(), 0.018786513374712027, 1e-6);
    close(icc.ci_high.unwrap(), 0.7610843696489529, 1e-6);
}

// ICC(A,1) of the ten pairs: pingouin 0.7.0 intraclass_corr ICC(A,1) gives
// 0.985686 with CI95 [0.95, 1.0] (rounded to 2 decimals); full-precision CI from
// McGraw & Wong Table 7 with scipy.stats.f.ppf.
#[test]
fn icc_of_pairs_matches_reference() {
    let icc = icc_a1(&pairs()).unwrap();
    close(icc.value, 0.985686, 5e-7);
    close(icc.ci_low.unwrap(), 0.95, 0.005);
    close(icc.ci_high.unwrap(), 1.0, 0.005);
    close(icc.value, 0.9856862194779684, 1e-12);
    close(icc.ci_low.unwrap(), 0.9464505728695861, 1e-6);
    close(icc.ci_high.unwrap(), 0.9963783665581216, 1e-6);
}

// Degenerate inputs: no pairs gives no statistics; identical constant sides
// give no correlation; perfect agreement gives CCC = ICC = 1 without a CI.
#[test]
fn degenerate_inputs() {
    let m = count_metrics(&[]);
    assert_eq!(m.n, 0);
    assert!(m.mae.is_none() && m.ccc.is_none() && m.icc_a1.is_none());
    assert!(pearson_r(&[(3.0, 3.0), (3.0, 3.0)]).is_none());
    assert!(lin_ccc(&[(3.0, 3.0), (3.0, 3.0)]).is_none());
    let same = [(1.0, 1.0), (5.0, 5.0), (9.0, 9.0)];
    let c = lin_ccc(&same).unwrap();
    close(c.value, 1.0, 1e-12);
    assert!(c.ci_low.is_none());
    close(icc_a1(&same).unwrap().value, 1.0, 1e-12);
    // All truths zero: MAPE and WAPE undefined, MAE still defined.
    let m = count_metrics(&[(0.0, 1.0), (0.0, 0.0)]);
    assert!(m.mape_pct.is_none() && m.wape_pct.is_none());
    close(m.mae.unwrap(), 0.5, 1e-12);
}

// Hand calculation: x = 3, 2 and y = 4, 3: sx² = sy² = sxy = 1/4 and a mean
// shift of 1 give CCC = 0.5 / (0.5 + 1) = 1/3, with r = 1.
#[test]
fn ccc_hand_value() {
    let c = lin_ccc(&[(3.0, 4.0), (2.0, 3.0)]).unwrap();
    close(c.value, 1.0 / 3.0, 1e-12);
    close(pearson_r(&[(3.0, 4.0), (2.0, 3.0)]).unwrap(), 1.0, 1e-12);
}
