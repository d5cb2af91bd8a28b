//! Count-level error statistics of predictions against truth.
//!
//! In: `(truth, prediction)` pairs of counts or densities, one per image. Out:
//! a [`CountMetrics`] (error sizes, relative errors and the agreement
//! statistics: Bland–Altman, CCC, Pearson's r, ICC(A,1)).

use serde::{Deserialize, Serialize};

use super::agreement::{bland_altman, icc_a1, lin_ccc, pearson_r, BlandAltman, Interval};

/// Count-level statistics of one comparison over one group of images.
///
/// Differences are `prediction − truth` (positive = over-counting).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CountMetrics {
    /// Number of images (pairs).
    pub n: usize,
    /// Images whose truth is 0; they are left out of MAPE only.
    pub n_truth_zero: usize,
    /// Mean truth.
    pub mean_truth: Option<f64>,
    /// Mean prediction.
    pub mean_pred: Option<f64>,
    /// Mean absolute error `Σ|pᵢ − tᵢ| / n`.
    pub mae: Option<f64>,
    /// Root mean squared error `sqrt(Σ(pᵢ − tᵢ)² / n)`.
    pub rmse: Option<f64>,
    /// Mean absolute percentage error `100·Σ|pᵢ − tᵢ|/tᵢ / n'` over the n' images with `tᵢ ≠ 0`, %.
    pub mape_pct: Option<f64>,
    /// Weighted absolute percentage error `100·Σ|pᵢ − tᵢ| / Σ|tᵢ|`, %.
    pub wape_pct: Option<f64>,
    /// Mean difference `Σ(pᵢ − tᵢ) / n`.
    pub bias: Option<f64>,
    /// Sample SD of the differences (n − 1 denominator).
    pub sd_diff: Option<f64>,
    /// Bland–Altman analysis (limits of agreement, %, proportional bias).
    pub bland_altman: Option<BlandAltman>,
    /// Lin's concordance correlation coefficient with its 95% CI.
    pub ccc: Option<Interval>,
    /// Pearson's r.
    pub pearson_r: Option<f64>,
    /// ICC(A,1) (two-way, absolute agreement, single measure) with its 95% CI.
    pub icc_a1: Option<Interval>,
}

/// Computes the count-level statistics of `(truth, prediction)` pairs.
///
/// Pairs with a non-finite value are the caller's to drop; they make every
/// statistic NaN. With no pairs every statistic is `None`.
///
/// * MAE, RMSE: Hyndman & Koehler (2006), §3.1 ("scale-dependent measures").
/// * MAPE: ibid. §3.2; images with truth 0 are left out (their number is
///   `n_truth_zero`), since the percentage error is undefined there.
/// * WAPE (the MAD/mean ratio): Kolassa & Schütz (2007); undefined (`None`)
///   when every truth is 0.
/// * Mean bias and SD, limits of agreement: [`bland_altman`].
/// * CCC: [`lin_ccc`]; Pearson's r: [`pearson_r`]; ICC(A,1): [`icc_a1`].
///
/// # Examples
/// ```
/// use trichometry::eval::count_metrics;
/// let m = count_metrics(&[(0.0, 1.0), (10.0, 8.0), (20.0, 23.0)]);
/// assert_eq!(m.n_truth_zero, 1);
/// assert!((m.mae.unwrap() - 2.0).abs() < 1e-12);            // (1 + 2 + 3)/3
/// assert!((m.mape_pct.unwrap() - 17.5).abs() < 1e-12);      // (20% + 15%)/2
/// assert!((m.wape_pct.unwrap() - 20.0).abs() < 1e-12);      // 6/30
/// ```
///
/// # References
/// Hyndman R.J., Koehler A.B. (2006) Another look at measures of forecast
/// accuracy. Int J Forecasting 22(4):679–688. doi:10.1016/j.ijforecast.2006.03.001.
/// Kolassa S., Schütz W. (2007) Advantages of the MAD/MEAN ratio over the MAPE.
/// Foresight 6:40–43.
pub fn count_metrics(pairs: &[(f64, f64)]) -> CountMetrics {
    let n = pairs.len();
    let nf = n as f64;
    let n_truth_zero = pairs.iter().filter(|p| p.0 == 0.0).count();
    let some = |v: f64| (n > 0).then_some(v);
    let sum_abs: f64 = pairs.iter().map(|&(t, p)| (p - t).abs()).sum();
    let sum_sq: f64 = pairs.iter().map(|&(t, p)| (p - t) * (p - t)).sum();
    let sum_diff: f64 = pairs.iter().map(|&(t, p)| p - t).sum();
    let sum_truth: f64 = pairs.iter().map(|&(t, _)| t.abs()).sum();
    let ape: Vec<f64> = pairs
        .iter()
        .filter(|p| p.0 != 0.0)
        .map(|&(t, p)| 100.0 * (p - t).abs() / t.abs())
        .collect();
    let ba = bland_altman(pairs);
    CountMetrics {
        n,
        n_truth_zero,
        mean_truth: some(pairs.iter().map(|p| p.0).sum::<f64>() / nf),
        mean_pred: some(pairs.iter().map(|p| p.1).sum::<f64>() / nf),
        mae: some(sum_abs / nf),
        rmse: some((sum_sq / nf).sqrt()),
        mape_pct: (!ape.is_empty()).then(|| ape.iter().sum::<f64>() / ape.len() as f64),
        wape_pct: (sum_truth > 0.0).then(|| 100.0 * sum_abs / sum_truth),
        bias: some(sum_diff / nf),
        sd_diff: ba.map(|b| b.sd),
        bland_altman: ba,
        ccc: lin_ccc(pairs),
        pearson_r: pearson_r(pairs),
        icc_a1: icc_a1(pairs),
    }
}
