//! Statistics for study endpoints: descriptive summaries, paired and
//! two-sample t-tests, the Wilcoxon signed-rank test (exact for small n),
//! ANCOVA with one covariate in closed form, and repeatability (CV, ICC, SDC).
//!
//! In: plain slices of `f64` (one value per subject). Out: small result
//! structs. Nothing here knows about hairs; the functions are checked against
//! scipy / statsmodels values in `tests/study_stats.rs`.
//!
//! All p-values are two-sided. Non-finite inputs are the caller's fault and
//! are refused with [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput).
//!
//! # References
//! - Wilcoxon, F. (1945). Individual comparisons by ranking methods. *Biometrics Bulletin* 1(6):80–83. doi:10.2307/3001968
//! - Pratt, J. W. (1959). Remarks on zeros and ties in the Wilcoxon signed rank procedures. *JASA* 54(287):655–667. doi:10.1080/01621459.1959.10501526
//! - Welch, B. L. (1947). The generalization of "Student's" problem when several different population variances are involved. *Biometrika* 34:28–35. doi:10.1093/biomet/34.1-2.28
//! - Armitage, P., Berry, G., Matthews, J. N. S. (2002). *Statistical Methods in Medical Research*, 4th ed., §11.5 (analysis of covariance). Blackwell. doi:10.1002/9780470773666
//! - Shrout, P. E., Fleiss, J. L. (1979). Intraclass correlations: uses in assessing rater reliability. *Psychol. Bull.* 86(2):420–428. doi:10.1037/0033-2909.86.2.420
//! - Bland, J. M., Altman, D. G. (1996). Measurement error. *BMJ* 313:744. doi:10.1136/bmj.313.7059.744

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

use crate::error::{Error, Result};

fn check_finite(x: &[f64], what: &str) -> Result<()> {
    if x.iter().all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err(Error::invalid_input(format!(
            "{what}: values must be finite"
        )))
    }
}

/// Arithmetic mean; `None` for an empty slice.
pub fn mean(x: &[f64]) -> Option<f64> {
    if x.is_empty() {
        None
    } else {
        Some(x.iter().sum::<f64>() / x.len() as f64)
    }
}

/// Sample standard deviation (denominator n − 1); `None` when n < 2.
pub fn sd(x: &[f64]) -> Option<f64> {
    if x.len() < 2 {
        return None;
    }
    let m = mean(x)?;
    let ss: f64 = x.iter().map(|v| (v - m) * (v - m)).sum();
    Some((ss / (x.len() - 1) as f64).sqrt())
}

/// Median (mean of the two middle values for even n); `None` for an empty slice.
pub fn median(x: &[f64]) -> Option<f64> {
    if x.is_empty() {
        return None;
    }
    let mut v = x.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    })
}

/// Two-sided quantile of Student's t: the `t` with P(|T| ≤ t) = `level`.
fn t_quantile(level: f64, df: f64) -> f64 {
    match StudentsT::new(0.0, 1.0, df) {
        Ok(t) => t.inverse_cdf(0.5 + level / 2.0),
        Err(_) => f64::NAN,
    }
}

/// Two-sided p-value of a t statistic with `df` degrees of freedom.
pub fn t_p_two_sided(t: f64, df: f64) -> f64 {
    if !t.is_finite() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    match StudentsT::new(0.0, 1.0, df) {
        Ok(d) => (2.0 * d.cdf(-t.abs())).min(1.0),
        Err(_) => f64::NAN,
    }
}

/// Two-sided p-value of a standard normal statistic.
fn z_p_two_sided(z: f64) -> f64 {
    let n = Normal::new(0.0, 1.0).expect("standard normal");
    (2.0 * n.cdf(-z.abs())).min(1.0)
}

/// Descriptive summary of one sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Describe {
    /// Number of values.
    pub n: usize,
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (n − 1); null when n < 2.
    pub sd: Option<f64>,
    /// Median.
    pub median: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Confidence interval of the mean, `[low, high]`, from Student's t with
    /// n − 1 degrees of freedom; null when n < 2.
    pub ci: Option<[f64; 2]>,
}

/// Summarises a sample: n, mean ± SD, median, range and the t-based
/// confidence interval of the mean at `level` (e.g. 0.95).
///
/// Returns `Ok(None)` for an empty sample.
///
/// # Examples
/// ```
/// use trichometry::study::stats::describe;
/// let d = describe(&[1.0, 2.0, 3.0, 4.0], 0.95).unwrap().unwrap();
/// assert_eq!(d.mean, 2.5);
/// assert_eq!(d.median, 2.5);
/// // scipy.stats.t.interval(0.95, 3, loc=2.5, scale=sem): (0.4456, 4.5544)
/// let ci = d.ci.unwrap();
/// assert!((ci[0] - 0.445578).abs() < 1e-5 && (ci[1] - 4.554422).abs() < 1e-5);
/// ```
///
/// # Errors
/// `invalid_input` when a value is not finite or `level` is not in (0, 1).
pub fn describe(x: &[f64], level: f64) -> Result<Option<Describe>> {
    check_finite(x, "describe")?;
    check_level(level)?;
    let Some(m) = mean(x) else { return Ok(None) };
    let s = sd(x);
    let n = x.len();
    let ci = s.map(|s| {
        let h = t_quantile(level, (n - 1) as f64) * s / (n as f64).sqrt();
        [m - h, m + h]
    });
    let min = x.iter().copied().fold(f64::INFINITY, f64::min);
    let max = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Ok(Some(Describe {
        n,
        mean: m,
        sd: s,
        median: median(x).unwrap_or(m),
        min,
        max,
        ci,
    }))
}

fn check_level(level: f64) -> Result<()> {
    if level > 0.0 && level < 1.0 {
        Ok(())
    } else {
        Err(Error::invalid_input(format!(
            "confidence level {level} must lie strictly between 0 and 1"
        )))
    }
}

/// Result of a t-test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TTest {
    /// Estimated difference (mean of the differences, or mean A − mean B).
    pub estimate: f64,
    /// Standard error of the estimate.
    pub se: f64,
    /// t statistic.
    pub t: f64,
    /// Degrees of freedom (Welch–Satterthwaite for the two-sample test).
    pub df: f64,
    /// Two-sided p-value.
    pub p: f64,
    /// Confidence interval of the estimate.
    pub ci: [f64; 2],
}

/// One-sample t-test of `diff` against 0, i.e. the paired t-test on
/// differences `visit − baseline`.
///
/// Returns `Ok(None)` when n < 2 or every difference is equal (zero SD: the
/// statistic is undefined).
///
/// # Examples
/// ```
/// use trichometry::study::stats::paired_t;
/// // scipy.stats.ttest_1samp([1, 2, 3, 4], 0): t = 3.872983, p = 0.030466
/// let t = paired_t(&[1.0, 2.0, 3.0, 4.0], 0.95).unwrap().unwrap();
/// assert!((t.t - 3.872983).abs() < 1e-6 && (t.p - 0.030466).abs() < 1e-6);
/// ```
///
/// # Errors
/// `invalid_input` for non-finite values or a bad `level`.
pub fn paired_t(diff: &[f64], level: f64) -> Result<Option<TTest>> {
    check_finite(diff, "paired t-test")?;
    check_level(level)?;
    let n = diff.len();
    let (Some(m), Some(s)) = (mean(diff), sd(diff)) else {
        return Ok(None);
    };
    if s == 0.0 {
        return Ok(None);
    }
    let se = s / (n as f64).sqrt();
    let df = (n - 1) as f64;
    let t = m / se;
    let h = t_quantile(level, df) * se;
    Ok(Some(TTest {
        estimate: m,
        se,
        t,
        df,
        p: t_p_two_sided(t, df),
        ci: [m - h, m + h],
    }))
}

/// Welch's two-sample t-test of mean(`a`) − mean(`b`), not assuming equal variances.
///
/// Returns `Ok(None)` when either group has fewer than 2 values or both have zero variance.
///
/// # Examples
/// ```
/// use trichometry::study::stats::welch_t;
/// // scipy.stats.ttest_ind([1,2,3,4], [2,4,6,8,10], equal_var=False): t = -2.127141, p = 0.077135
/// let w = welch_t(&[1.0, 2.0, 3.0, 4.0], &[2.0, 4.0, 6.0, 8.0, 10.0], 0.95).unwrap().unwrap();
/// assert!((w.t + 2.127141).abs() < 1e-6 && (w.p - 0.077135).abs() < 1e-6);
/// ```
///
/// # Errors
/// `invalid_input` for non-finite values or a bad `level`.
pub fn welch_t(a: &[f64], b: &[f64], level: f64) -> Result<Option<TTest>> {
    check_finite(a, "Welch t-test")?;
    check_finite(b, "Welch t-test")?;
    check_level(level)?;
    let (Some(ma), Some(sa), Some(mb), Some(sb)) = (mean(a), sd(a), mean(b), sd(b)) else {
        return Ok(None);
    };
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (va, vb) = (sa * sa / na, sb * sb / nb);
    let se2 = va + vb;
    if se2 == 0.0 {
        return Ok(None);
    }
    let se = se2.sqrt();
    let df = se2 * se2 / (va * va / (na - 1.0) + vb * vb / (nb - 1.0));
    let est = ma - mb;
    let t = est / se;
    let h = t_quantile(level, df) * se;
    Ok(Some(TTest {
        estimate: est,
        se,
        t,
        df,
        p: t_p_two_sided(t, df),
        ci: [est - h, est + h],
    }))
}

/// How the Wilcoxon signed-rank test treats zero differences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZeroMethod {
    /// Drop zero differences, then rank the rest (Wilcoxon 1945; scipy's default `"wilcox"`).
    #[default]
    Wilcox,
    /// Rank the absolute differences with the zeros included, then drop the
    /// zeros' ranks (Pratt 1959; scipy's `"pratt"`). Always uses the normal approximation.
    Pratt,
}

/// How a Wilcoxon p-value was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WilcoxonMethod {
    /// Exact permutation distribution of W⁺ (no ties among the non-zero |differences|, n ≤ 50).
    Exact,
    /// Normal approximation with tie correction of the variance and continuity correction.
    Normal,
}

/// Result of a Wilcoxon signed-rank test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Wilcoxon {
    /// Differences that entered the ranking (after dropping zeros for [`ZeroMethod::Wilcox`]).
    pub n: usize,
    /// Zero differences found.
    pub n_zero: usize,
    /// True when non-zero |differences| are tied (average ranks were used).
    pub ties: bool,
    /// Sum of ranks of positive differences.
    pub w_plus: f64,
    /// Sum of ranks of negative differences.
    pub w_minus: f64,
    /// Two-sided p-value.
    pub p: f64,
    /// How `p` was obtained.
    pub method: WilcoxonMethod,
}

/// Largest n for which the exact distribution is used.
pub const WILCOXON_EXACT_MAX_N: usize = 50;

/// Average ranks (1-based) of `v`, ties sharing the mean of their positions.
/// Also returns Σ(t³ − t) over tie groups.
fn average_ranks(v: &[f64]) -> (Vec<f64>, f64) {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut ranks = vec![0.0; v.len()];
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let r = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            ranks[k] = r;
        }
        let t = (j - i + 1) as f64;
        tie_term += t * t * t - t;
        i = j + 1;
    }
    (ranks, tie_term)
}

/// Number of subsets of {1, …, n} with each rank sum 0..=n(n+1)/2: the null
/// distribution of W⁺ times 2ⁿ. Counts are kept as `f64` (exact up to 2⁵³,
/// i.e. beyond n = 50).
fn signed_rank_counts(n: usize) -> Vec<f64> {
    let max = n * (n + 1) / 2;
    let mut c = vec![0.0; max + 1];
    c[0] = 1.0;
    for k in 1..=n {
        for s in (k..=max).rev() {
            c[s] += c[s - k];
        }
    }
    c
}

/// Wilcoxon signed-rank test of `diff` (e.g. visit − baseline) against 0.
///
/// Zeros are handled by `zero_method`. The p-value is exact — from the
/// permutation distribution of W⁺ computed by dynamic programming over ranks —
/// when there are no zero differences, no tied |differences| and
/// n ≤ [`WILCOXON_EXACT_MAX_N`]:
/// p = min(1, 2·min(P(W⁺ ≤ w⁺), P(W⁺ ≥ w⁺))), as `scipy.stats.wilcoxon(method="exact")`.
/// With zeros or ties the exact null distribution no longer applies, and (as
/// scipy's `method="auto"` and R's `wilcox.test` do) the normal approximation
/// is used: mean n(n+1)/4, variance n(n+1)(2n+1)/24 − Σ(t³ − t)/48 over tie
/// groups of the non-zero |differences| (for Pratt, n counts the zeros and
/// the mean and variance are then reduced by the zeros' ranks, as in scipy),
/// and a continuity correction of 0.5 (scipy's `correction=True`).
///
/// Returns `Ok(None)` when no non-zero difference is left.
///
/// # Examples
/// ```
/// use trichometry::study::stats::{wilcoxon, ZeroMethod, WilcoxonMethod};
/// // scipy.stats.wilcoxon([1, 2, 3, 4, 5], method="exact"): statistic 0, p = 0.0625
/// let w = wilcoxon(&[1.0, 2.0, 3.0, 4.0, 5.0], ZeroMethod::Wilcox).unwrap().unwrap();
/// assert_eq!(w.method, WilcoxonMethod::Exact);
/// assert!((w.p - 0.0625).abs() < 1e-12);
/// ```
///
/// # Errors
/// `invalid_input` for non-finite values.
///
/// # References
/// Wilcoxon (1945); Pratt (1959); scipy `scipy/stats/_morestats.py::wilcoxon` (1.14), whose
/// conventions this follows.
pub fn wilcoxon(diff: &[f64], zero_method: ZeroMethod) -> Result<Option<Wilcoxon>> {
    check_finite(diff, "Wilcoxon signed-rank test")?;
    let n_zero = diff.iter().filter(|d| **d == 0.0).count();
    let ranked: Vec<f64> = match zero_method {
        ZeroMethod::Wilcox => diff.iter().copied().filter(|d| *d != 0.0).collect(),
        ZeroMethod::Pratt => diff.to_vec(),
    };
    if ranked.len() == n_zero && zero_method == ZeroMethod::Pratt || ranked.is_empty() {
        return Ok(None);
    }
    let abs: Vec<f64> = ranked.iter().map(|d| d.abs()).collect();
    let (ranks, _) = average_ranks(&abs);
    let mut w_plus = 0.0;
    let mut w_minus = 0.0;
    for (d, r) in ranked.iter().zip(&ranks) {
        if *d > 0.0 {
            w_plus += r;
        } else if *d < 0.0 {
            w_minus += r;
        }
    }
    let n_nonzero = ranked.len()
        - if zero_method == ZeroMethod::Pratt {
            n_zero
        } else {
            0
        };
    // Ties among the non-zero |d| (zeros form their own group under Pratt).
    let nz_abs: Vec<f64> = abs.iter().copied().filter(|a| *a != 0.0).collect();
    let (_, tie_term_nz) = average_ranks(&nz_abs);
    let ties = tie_term_nz > 0.0;
    let n = ranked.len();
    let exact = n_zero == 0 && !ties && n <= WILCOXON_EXACT_MAX_N;
    let p = if exact {
        let counts = signed_rank_counts(n);
        let total = 2f64.powi(n as i32);
        let w = w_plus.round() as usize;
        let cdf: f64 = counts[..=w].iter().sum::<f64>() / total;
        let sf: f64 = counts[w..].iter().sum::<f64>() / total;
        (2.0 * cdf.min(sf)).min(1.0)
    } else {
        let nf = n as f64;
        let mut mn = nf * (nf + 1.0) / 4.0;
        let mut var = nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0;
        if zero_method == ZeroMethod::Pratt && n_zero > 0 {
            // The zeros occupy ranks 1..=n_zero (tied at their average); remove them.
            let z = n_zero as f64;
            mn -= z * (z + 1.0) / 4.0;
            var -= z * (z + 1.0) * (2.0 * z + 1.0) / 24.0;
        }
        // Zeros are left out of the tie correction (as scipy does).
        var -= tie_term_nz / 48.0;
        let d = w_plus - mn;
        let se = var.sqrt();
        if se == 0.0 {
            1.0
        } else {
            let z = (d.abs() - 0.5).max(0.0) / se;
            z_p_two_sided(z)
        }
    };
    Ok(Some(Wilcoxon {
        n: n_nonzero,
        n_zero,
        ties,
        w_plus,
        w_minus,
        p,
        method: if exact {
            WilcoxonMethod::Exact
        } else {
            WilcoxonMethod::Normal
        },
    }))
}

/// Result of an analysis of covariance with one two-level factor and one covariate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Ancova {
    /// Adjusted difference of group means (group A − group B) at equal covariate.
    pub estimate: f64,
    /// Standard error of the estimate.
    pub se: f64,
    /// Confidence interval of the estimate.
    pub ci: [f64; 2],
    /// t statistic of the estimate.
    pub t: f64,
    /// Residual degrees of freedom, n_A + n_B − 3.
    pub df: f64,
    /// Two-sided p-value.
    pub p: f64,
    /// Common within-group slope of the outcome on the covariate.
    pub slope: f64,
    /// Unadjusted difference of group means, A − B.
    pub unadjusted: f64,
}

/// ANCOVA of outcome `y` on group (A vs B) with covariate `x` (e.g. the
/// follow-up value with baseline as covariate), by ordinary least squares in
/// closed form: with the pooled within-group slope b = S_xy/S_xx,
/// the adjusted difference is (ȳ_A − ȳ_B) − b(x̄_A − x̄_B) and its variance
/// s²(1/n_A + 1/n_B + (x̄_A − x̄_B)²/S_xx), s² = (S_yy − b·S_xy)/(n − 3),
/// where S are within-group sums of squares and products. This is the group
/// coefficient of `y ~ group + x` (statsmodels OLS).
///
/// `a` and `b` are `(x, y)` pairs of each group. Returns `Ok(None)` when there
/// are fewer than 4 pairs in all, a group is empty, the covariate does not
/// vary within groups, or the fit is exact (s² = 0).
///
/// # Examples
/// ```
/// use trichometry::study::stats::ancova;
/// let a = [(1.0, 3.0), (2.0, 5.1), (3.0, 6.9)];
/// let b = [(1.0, 2.0), (2.0, 3.9), (3.0, 6.1)];
/// let r = ancova(&a, &b, 0.95).unwrap().unwrap();
/// // statsmodels OLS y ~ g + x: coef(g) = 1.0, coef(x) = 2.0 (by hand: symmetric design)
/// assert!((r.estimate - 1.0).abs() < 1e-12 && (r.slope - 2.0).abs() < 1e-12);
/// ```
///
/// # Errors
/// `invalid_input` for non-finite values or a bad `level`.
///
/// # References
/// Armitage, Berry & Matthews (2002), *Statistical Methods in Medical Research*, 4th ed., §11.5.
pub fn ancova(a: &[(f64, f64)], b: &[(f64, f64)], level: f64) -> Result<Option<Ancova>> {
    for (x, y) in a.iter().chain(b) {
        if !(x.is_finite() && y.is_finite()) {
            return Err(Error::invalid_input("ANCOVA: values must be finite"));
        }
    }
    check_level(level)?;
    let n = a.len() + b.len();
    if a.is_empty() || b.is_empty() || n < 4 {
        return Ok(None);
    }
    let stats = |g: &[(f64, f64)]| {
        let k = g.len() as f64;
        let mx = g.iter().map(|p| p.0).sum::<f64>() / k;
        let my = g.iter().map(|p| p.1).sum::<f64>() / k;
        let sxx: f64 = g.iter().map(|p| (p.0 - mx).powi(2)).sum();
        let sxy: f64 = g.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        let syy: f64 = g.iter().map(|p| (p.1 - my).powi(2)).sum();
        (k, mx, my, sxx, sxy, syy)
    };
    let (na, mxa, mya, sxxa, sxya, syya) = stats(a);
    let (nb, mxb, myb, sxxb, sxyb, syyb) = stats(b);
    let (sxx, sxy, syy) = (sxxa + sxxb, sxya + sxyb, syya + syyb);
    if sxx <= 0.0 {
        return Ok(None);
    }
    let slope = sxy / sxx;
    let df = (n - 3) as f64;
    let s2 = ((syy - slope * sxy) / df).max(0.0);
    if s2 == 0.0 {
        return Ok(None);
    }
    let dx = mxa - mxb;
    let est = (mya - myb) - slope * dx;
    let se = (s2 * (1.0 / na + 1.0 / nb + dx * dx / sxx)).sqrt();
    let t = est / se;
    let h = t_quantile(level, df) * se;
    Ok(Some(Ancova {
        estimate: est,
        se,
        ci: [est - h, est + h],
        t,
        df,
        p: t_p_two_sided(t, df),
        slope,
        unadjusted: mya - myb,
    }))
}

/// Repeatability of a measurement from replicate readings of the same units.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Repeatability {
    /// Units (e.g. subject × visit × site) with at least two replicates.
    pub n_units: usize,
    /// Readings in those units.
    pub n_readings: usize,
    /// Grand mean of the readings.
    pub mean: f64,
    /// Within-unit standard deviation S_w = √MS_within (the standard error of measurement).
    pub within_sd: f64,
    /// Within-unit coefficient of variation, %: root mean square of the per-unit CVs.
    pub cv_pct: f64,
    /// One-way random-effects intraclass correlation ICC(1,1), with the
    /// unbalanced-design k₀; null when fewer than 2 units.
    pub icc: Option<f64>,
    /// Smallest detectable change, 1.96·√2·S_w: a change between two readings
    /// larger than this is beyond measurement error with 95% confidence.
    pub sdc: f64,
}

/// Repeatability from groups of replicate readings (one group per unit).
///
/// Groups with fewer than two readings are ignored. Returns `Ok(None)` when no
/// group has two readings.
///
/// # Examples
/// ```
/// use trichometry::study::stats::repeatability;
/// let r = repeatability(&[vec![10.0, 12.0], vec![20.0, 20.0]]).unwrap().unwrap();
/// // by hand: MS_within = (2 + 0) / 2 = 1, so S_w = 1 and SDC = 1.96·√2
/// assert!((r.within_sd - 1.0).abs() < 1e-12);
/// assert!((r.sdc - 1.96 * 2f64.sqrt()).abs() < 1e-12);
/// ```
///
/// # Errors
/// `invalid_input` for non-finite values.
///
/// # References
/// Shrout & Fleiss (1979), ICC(1,1); Bland & Altman (1996), *BMJ* 313:744 (within-subject SD,
/// repeatability coefficient); de Vet et al. (2006), *J Clin Epidemiol* 59:1033, doi:10.1016/j.jclinepi.2005.10.015 (SDC).
pub fn repeatability(groups: &[Vec<f64>]) -> Result<Option<Repeatability>> {
    for g in groups {
        check_finite(g, "repeatability")?;
    }
    let gs: Vec<&Vec<f64>> = groups.iter().filter(|g| g.len() >= 2).collect();
    if gs.is_empty() {
        return Ok(None);
    }
    let k = gs.len();
    let n: usize = gs.iter().map(|g| g.len()).sum();
    let grand = gs.iter().flat_map(|g| g.iter()).sum::<f64>() / n as f64;
    let mut ssw = 0.0;
    let mut ssb = 0.0;
    let mut cv2 = 0.0;
    let mut cv_units = 0usize;
    for g in &gs {
        let m = mean(g).unwrap_or(0.0);
        let ss: f64 = g.iter().map(|v| (v - m).powi(2)).sum();
        ssw += ss;
        ssb += g.len() as f64 * (m - grand).powi(2);
        if m != 0.0 {
            cv2 += ss / (g.len() - 1) as f64 / (m * m);
            cv_units += 1;
        }
    }
    let msw = ssw / (n - k) as f64;
    let within_sd = msw.sqrt();
    let icc = if k >= 2 {
        let msb = ssb / (k - 1) as f64;
        let sum_n2: f64 = gs.iter().map(|g| (g.len() * g.len()) as f64).sum();
        let k0 = (n as f64 - sum_n2 / n as f64) / (k - 1) as f64;
        let denom = msb + (k0 - 1.0) * msw;
        (denom > 0.0).then(|| (msb - msw) / denom)
    } else {
        None
    };
    Ok(Some(Repeatability {
        n_units: k,
        n_readings: n,
        mean: grand,
        within_sd,
        cv_pct: if cv_units > 0 {
            100.0 * (cv2 / cv_units as f64).sqrt()
        } else {
            f64::NAN
        },
        icc,
        sdc: 1.96 * std::f64::consts::SQRT_2 * within_sd,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    // The DP distribution of W⁺ for n = 3 is 1,1,1,2,1,1,1 (subsets of {1,2,3} by sum).
    #[test]
    fn signed_rank_counts_n3() {
        assert_eq!(
            signed_rank_counts(3),
            vec![1.0, 1.0, 1.0, 2.0, 1.0, 1.0, 1.0]
        );
        assert_eq!(signed_rank_counts(10).iter().sum::<f64>(), 1024.0);
    }

    // Ties share the average rank, and the tie term counts t³ − t per group.
    #[test]
    fn average_ranks_with_ties() {
        let (r, t) = average_ranks(&[3.0, 1.0, 3.0, 2.0]);
        assert_eq!(r, vec![3.5, 1.0, 3.5, 2.0]);
        assert_eq!(t, 6.0);
    }

    // All-zero differences leave nothing to test.
    #[test]
    fn wilcoxon_all_zero_is_none() {
        assert!(wilcoxon(&[0.0, 0.0], ZeroMethod::Wilcox).unwrap().is_none());
        assert!(wilcoxon(&[0.0, 0.0], ZeroMethod::Pratt).unwrap().is_none());
    }

    // Non-finite input is refused, not silently summarised.
    #[test]
    fn non_finite_refused() {
        assert!(describe(&[1.0, f64::NAN], 0.95).is_err());
        assert!(paired_t(&[1.0, f64::INFINITY], 0.95).is_err());
    }
}
