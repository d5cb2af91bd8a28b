//! One-to-one matching of predicted hairs to annotated hairs.
//!
//! In: truth and predicted positions (points or boxes) and a gate. Out: a
//! [`Matching`] (matched pairs, unmatched on each side) and [`HairCounts`]
//! (TP/FP/FN, precision, recall, F1).
//!
//! Matching is a minimum-cost assignment ([`hungarian`]) restricted to pairs
//! within the gate: among all one-to-one matchings it takes one with the most
//! pairs, and among those the smallest total distance (points) or the largest
//! total IoU (boxes). Greedy nearest-first matching can lose pairs where hairs
//! crowd (two exit points of one follicular unit); assignment cannot.

use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Minimum-cost assignment (Kuhn–Munkres / Hungarian algorithm).
///
/// `cost` is an `n × m` matrix of finite costs. Returns, for each row, the
/// column assigned to it: `min(n, m)` rows get distinct columns, and the sum of
/// their costs is the smallest possible; when `n > m`, `n − m` rows get `None`.
/// Runs in O(min(n,m)²·max(n,m)) time (the shortest augmenting path form with
/// potentials).
///
/// # Examples
/// ```
/// use trichometry::eval::hungarian;
/// let cost = ndarray::array![[4.0, 1.0, 3.0], [2.0, 0.0, 5.0], [3.0, 2.0, 2.0]];
/// assert_eq!(hungarian(cost.view())?, vec![Some(1), Some(0), Some(2)]); // 1 + 2 + 2
/// # Ok::<(), trichometry::Error>(())
/// ```
///
/// # Errors
/// [`crate::ErrorKind::InvalidInput`] if a cost is NaN or infinite.
///
/// # References
/// Kuhn H.W. (1955) The Hungarian method for the assignment problem. Naval Res
/// Logist Q 2(1–2):83–97. doi:10.1002/nav.3800020109.
/// Munkres J. (1957) Algorithms for the assignment and transportation problems.
/// J SIAM 5(1):32–38. doi:10.1137/0105003.
/// Jonker R., Volgenant A. (1987) A shortest augmenting path algorithm for
/// dense and sparse linear assignment problems. Computing 38:325–340.
/// doi:10.1007/BF02278710.
pub fn hungarian(cost: ArrayView2<'_, f64>) -> Result<Vec<Option<usize>>> {
    if cost.iter().any(|c| !c.is_finite()) {
        return Err(Error::invalid_input("assignment costs must be finite"));
    }
    let (n, m) = cost.dim();
    if n <= m {
        let cols = assign(n, m, |i, j| cost[[i, j]]);
        Ok(cols.into_iter().map(Some).collect())
    } else {
        // Transpose: assign every column to a row.
        let rows = assign(m, n, |j, i| cost[[i, j]]);
        let mut out = vec![None; n];
        for (j, i) in rows.into_iter().enumerate() {
            out[i] = Some(j);
        }
        Ok(out)
    }
}

/// Assignment for `n <= m`: the column of each row.
///
/// Index loops mirror the textbook statement of the algorithm (arrays `u`, `v`,
/// `p`, `way`, `minv` are 1-based with a sentinel at 0).
#[allow(clippy::needless_range_loop)]
fn assign(n: usize, m: usize, a: impl Fn(usize, usize) -> f64) -> Vec<usize> {
    if n == 0 {
        return Vec::new();
    }
    let inf = f64::INFINITY;
    let mut u = vec![0.0; n + 1];
    let mut v = vec![0.0; m + 1];
    let mut p = vec![0usize; m + 1];
    let mut way = vec![0usize; m + 1];
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0usize;
        let mut minv = vec![inf; m + 1];
        let mut used = vec![false; m + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = inf;
            let mut j1 = 0usize;
            for j in 1..=m {
                if !used[j] {
                    let cur = a(i0 - 1, j - 1) - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=m {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut ans = vec![0usize; n];
    for j in 1..=m {
        if p[j] != 0 {
            ans[p[j] - 1] = j - 1;
        }
    }
    ans
}

/// The result of matching truth to predictions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Matching {
    /// Matched `(truth index, prediction index, score)`; the score is the
    /// distance in pixels for points, the IoU for boxes.
    pub pairs: Vec<(usize, usize, f64)>,
    /// Truth hairs left unmatched (false negatives), ascending.
    pub unmatched_truth: Vec<usize>,
    /// Predictions left unmatched (false positives before any ignore rule), ascending.
    pub unmatched_pred: Vec<usize>,
}

/// Gated assignment: `feasible(i, j)` gives the cost of pairing truth `i` with
/// prediction `j`, or `None` when the pair is outside the gate.
///
/// The feasibility graph is split into connected components, each solved by
/// [`hungarian`] with infeasible pairs priced above any set of feasible ones,
/// so that the number of pairs is maximised first and the cost second.
fn gated_assignment(
    n_truth: usize,
    n_pred: usize,
    feasible: impl Fn(usize, usize) -> Option<f64>,
) -> Vec<(usize, usize, f64)> {
    // Edges and union-find over truth 0..n_truth and predictions n_truth.. .
    let mut edges = Vec::new();
    for i in 0..n_truth {
        for j in 0..n_pred {
            if let Some(c) = feasible(i, j) {
                edges.push((i, j, c));
            }
        }
    }
    let mut parent: Vec<usize> = (0..n_truth + n_pred).collect();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    for &(i, j, _) in &edges {
        let a = find(&mut parent, i);
        let b = find(&mut parent, n_truth + j);
        if a != b {
            parent[a] = b;
        }
    }
    let mut comps: std::collections::BTreeMap<usize, (Vec<usize>, Vec<usize>)> =
        std::collections::BTreeMap::new();
    let mut t_seen = vec![false; n_truth];
    let mut p_seen = vec![false; n_pred];
    for &(i, j, _) in &edges {
        let r = find(&mut parent, i);
        let e = comps.entry(r).or_default();
        if !t_seen[i] {
            t_seen[i] = true;
            e.0.push(i);
        }
        if !p_seen[j] {
            p_seen[j] = true;
            e.1.push(j);
        }
    }
    let mut out = Vec::new();
    for (_, (rows, cols)) in comps {
        let mut cost = Array2::<Option<f64>>::from_elem((rows.len(), cols.len()), None);
        let mut max_c: f64 = 0.0;
        for (a, &i) in rows.iter().enumerate() {
            for (b, &j) in cols.iter().enumerate() {
                let c = feasible(i, j);
                if let Some(c) = c {
                    max_c = max_c.max(c.abs());
                }
                cost[[a, b]] = c;
            }
        }
        let big = 1.0 + (rows.len().min(cols.len()) as f64 + 1.0) * (max_c + 1.0);
        let priced = cost.mapv(|c| c.unwrap_or(big));
        let Ok(assignment) = hungarian(priced.view()) else {
            continue;
        };
        for (a, col) in assignment.into_iter().enumerate() {
            if let Some(b) = col {
                if let Some(c) = cost[[a, b]] {
                    out.push((rows[a], cols[b], c));
                }
            }
        }
    }
    out.sort_by(|x, y| x.0.cmp(&y.0).then(x.1.cmp(&y.1)));
    out
}

fn finish(n_truth: usize, n_pred: usize, pairs: Vec<(usize, usize, f64)>) -> Matching {
    let mut t_used = vec![false; n_truth];
    let mut p_used = vec![false; n_pred];
    for &(i, j, _) in &pairs {
        t_used[i] = true;
        p_used[j] = true;
    }
    Matching {
        pairs,
        unmatched_truth: (0..n_truth).filter(|&i| !t_used[i]).collect(),
        unmatched_pred: (0..n_pred).filter(|&j| !p_used[j]).collect(),
    }
}

/// Matches predicted points to truth points one-to-one.
///
/// A pair is allowed when the Euclidean distance is at most
/// `max_dist_px(truth_index, pred_index)` pixels (inclusive). Among allowed
/// pairs the matching has the most pairs, then the smallest total distance.
/// Non-finite coordinates are never matched.
///
/// # Examples
/// ```
/// use trichometry::eval::match_points;
/// let truth = [[10.0, 10.0], [14.0, 10.0]];
/// let pred = [[12.5, 10.0], [40.0, 40.0]];
/// let m = match_points(&truth, &pred, |_, _| 3.0);
/// assert_eq!(m.pairs.len(), 1);
/// assert_eq!((m.pairs[0].0, m.pairs[0].1), (1, 0)); // 1.5 px beats 2.5 px
/// assert_eq!(m.unmatched_pred, vec![1]);
/// ```
///
/// # References
/// Kuhn H.W. (1955), see [`hungarian`]. The distance gate follows the
/// point-matching evaluation of Ciresan D.C. et al. (2013) Mitosis detection
/// in breast cancer histology images with deep neural networks. MICCAI 2013,
/// LNCS 8150:411–418. doi:10.1007/978-3-642-40763-5_51.
pub fn match_points(
    truth: &[[f64; 2]],
    pred: &[[f64; 2]],
    max_dist_px: impl Fn(usize, usize) -> f64,
) -> Matching {
    let pairs = gated_assignment(truth.len(), pred.len(), |i, j| {
        let d = ((truth[i][0] - pred[j][0]).powi(2) + (truth[i][1] - pred[j][1]).powi(2)).sqrt();
        (d.is_finite() && d <= max_dist_px(i, j)).then_some(d)
    });
    finish(truth.len(), pred.len(), pairs)
}

/// Intersection over union of two inclusive pixel boxes `[x_min, y_min, x_max, y_max]`.
///
/// A box covers `x_max − x_min + 1` by `y_max − y_min + 1` pixels.
///
/// ```
/// use trichometry::eval::box_iou;
/// // 2×2 boxes overlapping in one column of 2 pixels: 2 / (4 + 4 − 2).
/// assert!((box_iou([0.0, 0.0, 1.0, 1.0], [1.0, 0.0, 2.0, 1.0]) - 1.0 / 3.0).abs() < 1e-12);
/// ```
///
/// # References
/// Everingham M. et al. (2010) The PASCAL Visual Object Classes (VOC)
/// challenge. Int J Comput Vis 88:303–338. doi:10.1007/s11263-009-0275-4.
pub fn box_iou(a: [f64; 4], b: [f64; 4]) -> f64 {
    let area = |r: [f64; 4]| (r[2] - r[0] + 1.0).max(0.0) * (r[3] - r[1] + 1.0).max(0.0);
    let iw = (a[2].min(b[2]) - a[0].max(b[0]) + 1.0).max(0.0);
    let ih = (a[3].min(b[3]) - a[1].max(b[1]) + 1.0).max(0.0);
    let inter = iw * ih;
    let union = area(a) + area(b) - inter;
    if union > 0.0 {
        inter / union
    } else {
        0.0
    }
}

/// Matches predicted boxes to truth boxes one-to-one.
///
/// A pair is allowed when [`box_iou`] ≥ `min_iou` (inclusive) and the IoU is
/// positive. Among allowed pairs the matching has the most pairs, then the
/// largest total IoU.
///
/// # Examples
/// ```
/// use trichometry::eval::match_boxes;
/// let truth = [[0.0, 0.0, 9.0, 9.0]];
/// let pred = [[1.0, 1.0, 10.0, 10.0], [50.0, 50.0, 60.0, 60.0]];
/// let m = match_boxes(&truth, &pred, 0.3);
/// assert_eq!(m.pairs.len(), 1);
/// assert!((m.pairs[0].2 - 81.0 / 119.0).abs() < 1e-12);
/// ```
///
/// # References
/// Everingham M. et al. (2010), see [`box_iou`]; Kuhn H.W. (1955), see [`hungarian`].
pub fn match_boxes(truth: &[[f64; 4]], pred: &[[f64; 4]], min_iou: f64) -> Matching {
    let pairs = gated_assignment(truth.len(), pred.len(), |i, j| {
        let iou = box_iou(truth[i], pred[j]);
        (iou.is_finite() && iou > 0.0 && iou >= min_iou).then_some(1.0 - iou)
    });
    let pairs = pairs.into_iter().map(|(i, j, c)| (i, j, 1.0 - c)).collect();
    finish(truth.len(), pred.len(), pairs)
}

/// Hair-level detection counts and the rates derived from them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HairCounts {
    /// Matched pairs (true positives).
    pub tp: usize,
    /// Unmatched predictions counted as errors (false positives).
    pub fp: usize,
    /// Unmatched truth hairs (false negatives).
    #[serde(rename = "fn")]
    pub fn_: usize,
    /// Unmatched predictions not counted (touching the border, in an ignore region).
    pub ignored: usize,
}

impl HairCounts {
    /// Precision `TP / (TP + FP)`; `None` when there are no counted predictions.
    pub fn precision(&self) -> Option<f64> {
        let d = self.tp + self.fp;
        (d > 0).then(|| self.tp as f64 / d as f64)
    }

    /// Recall (sensitivity) `TP / (TP + FN)`; `None` when there is no truth hair.
    pub fn recall(&self) -> Option<f64> {
        let d = self.tp + self.fn_;
        (d > 0).then(|| self.tp as f64 / d as f64)
    }

    /// F1 `2·TP / (2·TP + FP + FN)`, the harmonic mean of precision and recall;
    /// `None` when there is neither truth nor prediction.
    ///
    /// ```
    /// use trichometry::eval::HairCounts;
    /// let c = HairCounts { tp: 8, fp: 2, fn_: 4, ignored: 0 };
    /// assert!((c.f1().unwrap() - 16.0 / 22.0).abs() < 1e-12);
    /// ```
    ///
    /// # References
    /// van Rijsbergen C.J. (1979) Information Retrieval, 2nd ed., ch. 7.
    /// Butterworths, London.
    pub fn f1(&self) -> Option<f64> {
        let d = 2 * self.tp + self.fp + self.fn_;
        (d > 0).then(|| 2.0 * self.tp as f64 / d as f64)
    }

    /// Adds another image's counts (pooling = micro-averaging).
    pub fn add(&mut self, other: HairCounts) {
        self.tp += other.tp;
        self.fp += other.fp;
        self.fn_ += other.fn_;
        self.ignored += other.ignored;
    }
}
