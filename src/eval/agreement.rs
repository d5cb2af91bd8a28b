//! Agreement statistics between two measurements of the same images:
//! Bland–Altman limits, Lin's concordance correlation coefficient, Pearson's r
//! and the intraclass correlation ICC(A,1).
//!
//! In: `(reference, test)` pairs (truth first, prediction second). Out: numbers,
//! `None` where a statistic is undefined (too few pairs, zero variance).

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, FisherSnedecor, StudentsT};

/// The 97.5th percentile of the standard normal distribution, for 95% intervals.
const Z_975: f64 = 1.959_963_984_540_054;

/// A point estimate with its 95% confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Point estimate.
    pub value: f64,
    /// Lower end of the 95% confidence interval (`None` where it is undefined).
    pub ci_low: Option<f64>,
    /// Upper end of the 95% confidence interval (`None` where it is undefined).
    pub ci_high: Option<f64>,
}

/// Bland–Altman analysis of `test − reference` differences.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BlandAltman {
    /// Number of pairs.
    pub n: usize,
    /// Mean difference `test − reference` (the bias).
    pub bias: f64,
    /// Sample standard deviation of the differences (n − 1 denominator).
    pub sd: f64,
    /// Lower limit of agreement, `bias − 1.96·sd`.
    pub loa_low: f64,
    /// Upper limit of agreement, `bias + 1.96·sd`.
    pub loa_high: f64,
    /// Pairs used for the percentage analysis (pairs whose mean is 0 are left out).
    pub n_pct: usize,
    /// Mean of `100·(test − reference)/mean(test, reference)`, %.
    pub bias_pct: Option<f64>,
    /// Sample standard deviation of the percentage differences, %.
    pub sd_pct: Option<f64>,
    /// Lower limit of agreement of the percentage differences, %.
    pub loa_low_pct: Option<f64>,
    /// Upper limit of agreement of the percentage differences, %.
    pub loa_high_pct: Option<f64>,
    /// Proportional bias: OLS slope of the difference on the pair mean.
    pub slope: Option<f64>,
    /// Intercept of that regression.
    pub intercept: Option<f64>,
    /// Two-sided p-value of the slope (t test, n − 2 degrees of freedom).
    pub slope_p: Option<f64>,
}

fn mean(v: impl Iterator<Item = f64> + Clone) -> f64 {
    let n = v.clone().count();
    v.sum::<f64>() / n as f64
}

/// Sample SD with n − 1 denominator (`None` for fewer than 2 values).
fn sample_sd(v: &[f64]) -> Option<f64> {
    if v.len() < 2 {
        return None;
    }
    let m = mean(v.iter().copied());
    let ss: f64 = v.iter().map(|x| (x - m) * (x - m)).sum();
    Some((ss / (v.len() - 1) as f64).sqrt())
}

/// Bland–Altman limits of agreement of `test` against `reference`.
///
/// For differences `dᵢ = testᵢ − referenceᵢ`: bias `d̄`, SD `s` (n − 1
/// denominator), limits `d̄ ± 1.96·s`. The same on percentage differences
/// `100·dᵢ / ((testᵢ + referenceᵢ)/2)` (pairs whose mean is 0 left out).
/// Proportional bias: ordinary least-squares regression `dᵢ = a + b·mᵢ` of the
/// difference on the pair mean `mᵢ`, with the two-sided p-value of `b` from a
/// t distribution with n − 2 degrees of freedom (Bland & Altman 1999, §3.2).
///
/// Returns `None` for fewer than 2 pairs. The regression is `None` for fewer
/// than 3 pairs or when every pair has the same mean.
///
/// # Examples
/// ```
/// use trichometry::eval::bland_altman;
/// let ba = bland_altman(&[(10.0, 11.0), (20.0, 19.0), (30.0, 33.0)]).unwrap();
/// assert!((ba.bias - 1.0).abs() < 1e-12);           // (1 − 1 + 3)/3
/// assert!((ba.sd - 2.0).abs() < 1e-12);             // sqrt(((0)² + (−2)² + 2²)/2)
/// assert!((ba.loa_high - (1.0 + 1.96 * 2.0)).abs() < 1e-12);
/// ```
///
/// # References
/// Bland J.M., Altman D.G. (1986) Statistical methods for assessing agreement
/// between two methods of clinical measurement. Lancet 327(8476):307–310.
/// doi:10.1016/S0140-6736(86)90837-8.
/// Bland J.M., Altman D.G. (1999) Measuring agreement in method comparison
/// studies. Stat Methods Med Res 8(2):135–160. doi:10.1177/096228029900800204.
pub fn bland_altman(pairs: &[(f64, f64)]) -> Option<BlandAltman> {
    let n = pairs.len();
    if n < 2 {
        return None;
    }
    let d: Vec<f64> = pairs.iter().map(|&(r, t)| t - r).collect();
    let bias = mean(d.iter().copied());
    let sd = sample_sd(&d)?;
    let pct: Vec<f64> = pairs
        .iter()
        .filter(|&&(r, t)| (r + t) != 0.0)
        .map(|&(r, t)| 100.0 * (t - r) / (0.5 * (r + t)))
        .collect();
    let (bias_pct, sd_pct) = if pct.len() >= 2 {
        (Some(mean(pct.iter().copied())), sample_sd(&pct))
    } else {
        (None, None)
    };
    let m: Vec<f64> = pairs.iter().map(|&(r, t)| 0.5 * (r + t)).collect();
    let (slope, intercept, slope_p) = match ols(&m, &d) {
        Some((a, b, p)) => (Some(b), Some(a), Some(p)),
        None => (None, None, None),
    };
    Some(BlandAltman {
        n,
        bias,
        sd,
        loa_low: bias - 1.96 * sd,
        loa_high: bias + 1.96 * sd,
        n_pct: pct.len(),
        bias_pct,
        sd_pct,
        loa_low_pct: bias_pct.zip(sd_pct).map(|(b, s)| b - 1.96 * s),
        loa_high_pct: bias_pct.zip(sd_pct).map(|(b, s)| b + 1.96 * s),
        slope,
        intercept,
        slope_p,
    })
}

/// OLS `y = a + b·x`: `(a, b, two-sided p of b)`.
fn ols(x: &[f64], y: &[f64]) -> Option<(f64, f64, f64)> {
    let n = x.len();
    if n < 3 {
        return None;
    }
    let mx = mean(x.iter().copied());
    let my = mean(y.iter().copied());
    let sxx: f64 = x.iter().map(|v| (v - mx) * (v - mx)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let b = sxy / sxx;
    let a = my - b * mx;
    let ss_res: f64 = x
        .iter()
        .zip(y)
        .map(|(xi, yi)| {
            let e = yi - a - b * xi;
            e * e
        })
        .sum();
    let dof = (n - 2) as f64;
    let se = (ss_res / dof / sxx).sqrt();
    let p = if se > 0.0 {
        let t = (b / se).abs();
        let dist = StudentsT::new(0.0, 1.0, dof).ok()?;
        2.0 * (1.0 - dist.cdf(t))
    } else if b == 0.0 {
        1.0
    } else {
        0.0
    };
    Some((a, b, p))
}

/// Pearson's product-moment correlation coefficient of the pairs.
///
/// `r = Σ(xᵢ − x̄)(yᵢ − ȳ) / sqrt(Σ(xᵢ − x̄)² · Σ(yᵢ − ȳ)²)`. `None` for fewer
/// than 2 pairs or when either side is constant.
///
/// # Examples
/// ```
/// use trichometry::eval::pearson_r;
/// let r = pearson_r(&[(1.0, 2.0), (2.0, 4.0), (3.0, 6.5)]).unwrap();
/// assert!(r > 0.99 && r < 1.0);
/// ```
///
/// # References
/// Pearson K. (1896) Mathematical contributions to the theory of evolution. III.
/// Regression, heredity, and panmixia. Phil Trans R Soc A 187:253–318.
/// doi:10.1098/rsta.1896.0007.
pub fn pearson_r(pairs: &[(f64, f64)]) -> Option<f64> {
    let (sxx, syy, sxy) = moments(pairs)?;
    if sxx <= 0.0 || syy <= 0.0 {
        return None;
    }
    Some((sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0))
}

/// Centred sums of squares and products `(Sxx, Syy, Sxy)`.
fn moments(pairs: &[(f64, f64)]) -> Option<(f64, f64, f64)> {
    if pairs.len() < 2 {
        return None;
    }
    let mx = mean(pairs.iter().map(|p| p.0));
    let my = mean(pairs.iter().map(|p| p.1));
    let mut sxx = 0.0;
    let mut syy = 0.0;
    let mut sxy = 0.0;
    for &(x, y) in pairs {
        sxx += (x - mx) * (x - mx);
        syy += (y - my) * (y - my);
        sxy += (x - mx) * (y - my);
    }
    Some((sxx, syy, sxy))
}

/// Lin's concordance correlation coefficient with its 95% CI.
///
/// `ρc = 2·s_xy / (s_x² + s_y² + (x̄ − ȳ)²)` with 1/n moments (Lin 1989, eq. 2).
/// The interval is built on Fisher's `z = atanh(ρc)` with the asymptotic
/// standard error of Lin (1989) as corrected in Lin (2000):
///
/// `σ²(ρ̂c) = [ (1−r²)ρc²(1−ρc²)/r² + 2ρc³(1−ρc)u²/r − ρc⁴u⁴/(2r²) ] / (n − 2)`,
/// `σ(z) = σ(ρ̂c)/(1 − ρc²)`, with `r` Pearson's r and
/// `u = (x̄ − ȳ)/(s_x s_y)^{1/2}` (the same as R's `epiR::epi.ccc`).
///
/// `None` for fewer than 2 pairs or when both sides are constant; the interval
/// is `None` for fewer than 3 pairs, `r = 0` or `|ρc| = 1`.
///
/// # Examples
/// ```
/// use trichometry::eval::lin_ccc;
/// // y = x + 1 on x = 1, 2, 3: s_x² = s_y² = s_xy = 2/3, ρc = (4/3)/(4/3 + 1) = 4/7.
/// let c = lin_ccc(&[(1.0, 2.0), (2.0, 3.0), (3.0, 4.0)]).unwrap();
/// assert!((c.value - 4.0 / 7.0).abs() < 1e-12);
/// ```
///
/// # References
/// Lin L.I-K. (1989) A concordance correlation coefficient to evaluate
/// reproducibility. Biometrics 45(1):255–268. doi:10.2307/2532051.
/// Lin L.I-K. (2000) A note on the concordance correlation coefficient.
/// Biometrics 56(1):324–325. doi:10.1111/j.0006-341X.2000.00324.x.
pub fn lin_ccc(pairs: &[(f64, f64)]) -> Option<Interval> {
    let (sxx, syy, sxy) = moments(pairs)?;
    let n = pairs.len() as f64;
    let (sx2, sy2, s_xy) = (sxx / n, syy / n, sxy / n);
    let mx = mean(pairs.iter().map(|p| p.0));
    let my = mean(pairs.iter().map(|p| p.1));
    let denom = sx2 + sy2 + (mx - my) * (mx - my);
    if denom <= 0.0 {
        return None;
    }
    let p = 2.0 * s_xy / denom;
    let mut out = Interval {
        value: p,
        ci_low: None,
        ci_high: None,
    };
    if pairs.len() < 3 || sx2 <= 0.0 || sy2 <= 0.0 || p.abs() >= 1.0 {
        return Some(out);
    }
    let r = s_xy / (sx2 * sy2).sqrt();
    if r == 0.0 {
        return Some(out);
    }
    let u = (my - mx) / (sx2 * sy2).powf(0.25);
    let var = ((1.0 - r * r) * p * p * (1.0 - p * p) / (r * r)
        + 2.0 * p.powi(3) * (1.0 - p) * u * u / r
        - 0.5 * p.powi(4) * u.powi(4) / (r * r))
        / (n - 2.0);
    if var.is_nan() || var < 0.0 {
        return Some(out);
    }
    let se_z = var.sqrt() / (1.0 - p * p);
    let z = p.atanh();
    out.ci_low = Some((z - Z_975 * se_z).tanh());
    out.ci_high = Some((z + Z_975 * se_z).tanh());
    Some(out)
}

/// ICC(A,1) of `(reference, test)` pairs: see [`icc_a1_ratings`].
///
/// # Examples
/// ```
/// use trichometry::eval::icc_a1;
/// let icc = icc_a1(&[(10.0, 11.0), (20.0, 19.0), (30.0, 33.0), (40.0, 41.0)]).unwrap();
/// assert!(icc.value > 0.95 && icc.value < 1.0);
/// assert!(icc.ci_low.unwrap() < icc.value && icc.value < icc.ci_high.unwrap());
/// ```
pub fn icc_a1(pairs: &[(f64, f64)]) -> Option<Interval> {
    let rows: Vec<[f64; 2]> = pairs.iter().map(|&(a, b)| [a, b]).collect();
    let arr = ndarray::Array2::from(rows);
    icc_a1_ratings(arr.view())
}

/// Intraclass correlation ICC(A,1): two-way model, absolute agreement, single
/// measure, with its F-based 95% confidence interval.
///
/// `ratings` is n subjects (rows) × k raters or methods (columns). From the
/// two-way ANOVA mean squares for rows `MSR`, columns `MSC` and error `MSE`:
///
/// `ICC(A,1) = (MSR − MSE) / (MSR + (k−1)·MSE + k·(MSC − MSE)/n)`.
///
/// The interval is McGraw & Wong (1996), Table 7, case 2A/3A (absolute
/// agreement, single measure): with `a = k·ρ̂/(n(1−ρ̂))`,
/// `b = 1 + k·ρ̂(n−1)/(n(1−ρ̂))` and Satterthwaite's
/// `v = (a·MSC + b·MSE)² / ((a·MSC)²/(k−1) + (b·MSE)²/((n−1)(k−1)))`,
/// `F_L = F(0.975; n−1, v)`, `F_U = F(0.975; v, n−1)`:
///
/// `L = n(MSR − F_L·MSE) / (F_L(k·MSC + (kn−k−n)·MSE) + n·MSR)`,
/// `U = n(F_U·MSR − MSE) / (k·MSC + (kn−k−n)·MSE + n·F_U·MSR)`.
///
/// `None` for fewer than 2 subjects or 2 raters, a non-finite rating, or zero
/// total variance; the interval is `None` where `ρ̂ = 1` or `MSE = 0`.
///
/// # Examples
/// ```
/// use trichometry::eval::icc_a1_ratings;
/// let r = ndarray::array![[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]];
/// assert!((icc_a1_ratings(r.view()).unwrap().value - 1.0).abs() < 1e-12);
/// ```
///
/// # References
/// McGraw K.O., Wong S.P. (1996) Forming inferences about some intraclass
/// correlation coefficients. Psychological Methods 1(1):30–46.
/// doi:10.1037/1082-989X.1.1.30. (Correction: 1(4):390.)
/// Shrout P.E., Fleiss J.L. (1979) Intraclass correlations: uses in assessing
/// rater reliability. Psychol Bull 86(2):420–428. doi:10.1037/0033-2909.86.2.420.
pub fn icc_a1_ratings(ratings: ndarray::ArrayView2<'_, f64>) -> Option<Interval> {
    let (n, k) = ratings.dim();
    if n < 2 || k < 2 || ratings.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let (nf, kf) = (n as f64, k as f64);
    let grand = ratings.sum() / (nf * kf);
    let row_means = ratings.mean_axis(ndarray::Axis(1))?;
    let col_means = ratings.mean_axis(ndarray::Axis(0))?;
    let ss_total: f64 = ratings.iter().map(|v| (v - grand) * (v - grand)).sum();
    let ss_rows: f64 = kf
        * row_means
            .iter()
            .map(|m| (m - grand) * (m - grand))
            .sum::<f64>();
    let ss_cols: f64 = nf
        * col_means
            .iter()
            .map(|m| (m - grand) * (m - grand))
            .sum::<f64>();
    let ss_err = (ss_total - ss_rows - ss_cols).max(0.0);
    if ss_total <= 0.0 {
        return None;
    }
    let msr = ss_rows / (nf - 1.0);
    let msc = ss_cols / (kf - 1.0);
    let mse = ss_err / ((nf - 1.0) * (kf - 1.0));
    let icc = (msr - mse) / (msr + (kf - 1.0) * mse + kf * (msc - mse) / nf);
    let mut out = Interval {
        value: icc,
        ci_low: None,
        ci_high: None,
    };
    if mse <= 0.0 || icc >= 1.0 {
        return Some(out);
    }
    let a = kf * icc / (nf * (1.0 - icc));
    let b = 1.0 + kf * icc * (nf - 1.0) / (nf * (1.0 - icc));
    let v = (a * msc + b * mse).powi(2)
        / ((a * msc).powi(2) / (kf - 1.0) + (b * mse).powi(2) / ((nf - 1.0) * (kf - 1.0)));
    if !(v.is_finite() && v > 0.0) {
        return Some(out);
    }
    let f_l = FisherSnedecor::new(nf - 1.0, v).ok()?.inverse_cdf(0.975);
    let f_u = FisherSnedecor::new(v, nf - 1.0).ok()?.inverse_cdf(0.975);
    let c = kf * msc + (kf * nf - kf - nf) * mse;
    out.ci_low = Some(nf * (msr - f_l * mse) / (f_l * c + nf * msr));
    out.ci_high = Some(nf * (f_u * msr - mse) / (c + nf * f_u * msr));
    Some(out)
}
