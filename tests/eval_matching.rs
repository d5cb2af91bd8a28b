//! Hungarian assignment and gated matching against brute force.

use proptest::prelude::*;
use trichometry::eval::{hungarian, match_boxes, match_points, HairCounts};

/// Smallest total cost over all assignments of min(n, m) rows/columns, by enumeration.
fn brute_force(cost: &ndarray::Array2<f64>) -> f64 {
    let (n, m) = cost.dim();
    fn rec(
        cost: &ndarray::Array2<f64>,
        row: usize,
        used: &mut [bool],
        left: usize,
        acc: f64,
        best: &mut f64,
    ) {
        let (n, m) = cost.dim();
        if left == 0 {
            *best = best.min(acc);
            return;
        }
        if row == n || n - row < left {
            return;
        }
        // Row unassigned (only possible when rows outnumber what is left to assign).
        if n - row > left {
            rec(cost, row + 1, used, left, acc, best);
        }
        for j in 0..m {
            if !used[j] {
                used[j] = true;
                rec(cost, row + 1, used, left - 1, acc + cost[[row, j]], best);
                used[j] = false;
            }
        }
    }
    let mut best = f64::INFINITY;
    rec(cost, 0, &mut vec![false; m], n.min(m), 0.0, &mut best);
    best
}

fn matrix() -> impl Strategy<Value = ndarray::Array2<f64>> {
    (1usize..=6, 1usize..=6).prop_flat_map(|(n, m)| {
        proptest::collection::vec(0u32..50, n * m).prop_map(move |v| {
            ndarray::Array2::from_shape_vec((n, m), v.into_iter().map(f64::from).collect()).unwrap()
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    // On random rectangular matrices the assignment is one-to-one, complete
    // (min(n, m) pairs) and as cheap as the best found by enumeration.
    #[test]
    fn hungarian_is_optimal(cost in matrix()) {
        let (n, m) = cost.dim();
        let a = hungarian(cost.view()).unwrap();
        prop_assert_eq!(a.len(), n);
        let cols: Vec<usize> = a.iter().flatten().copied().collect();
        prop_assert_eq!(cols.len(), n.min(m));
        let mut sorted = cols.clone();
        sorted.sort_unstable();
        sorted.dedup();
        prop_assert_eq!(sorted.len(), cols.len());
        let total: f64 = a.iter().enumerate()
            .filter_map(|(i, c)| c.map(|j| cost[[i, j]]))
            .sum();
        prop_assert!((total - brute_force(&cost)).abs() < 1e-9, "{} vs {}", total, brute_force(&cost));
    }

    // Gated point matching finds as many pairs as the best one-to-one matching
    // within the gate (brute force with costs 0 inside, 1 outside the gate).
    #[test]
    fn point_matching_is_maximal(
        truth in proptest::collection::vec((0u8..20, 0u8..20), 0..6),
        pred in proptest::collection::vec((0u8..20, 0u8..20), 0..6),
    ) {
        let t: Vec<[f64; 2]> = truth.iter().map(|&(x, y)| [f64::from(x), f64::from(y)]).collect();
        let p: Vec<[f64; 2]> = pred.iter().map(|&(x, y)| [f64::from(x), f64::from(y)]).collect();
        let gate = 4.0;
        let m = match_points(&t, &p, |_, _| gate);
        for &(i, j, d) in &m.pairs {
            prop_assert!(d <= gate);
            prop_assert!((d - ((t[i][0] - p[j][0]).hypot(t[i][1] - p[j][1]))).abs() < 1e-12);
        }
        prop_assert_eq!(m.pairs.len() + m.unmatched_truth.len(), t.len());
        prop_assert_eq!(m.pairs.len() + m.unmatched_pred.len(), p.len());
        if !t.is_empty() && !p.is_empty() {
            let outside = ndarray::Array2::from_shape_fn((t.len(), p.len()), |(i, j)| {
                let d = (t[i][0] - p[j][0]).hypot(t[i][1] - p[j][1]);
                if d <= gate { 0.0 } else { 1.0 }
            });
            let best_pairs = t.len().min(p.len()) as f64 - brute_force(&outside);
            prop_assert_eq!(m.pairs.len() as f64, best_pairs);
        }
    }
}

// Assignment beats greedy: nearest-first pairs the first truth with the middle
// prediction (1.9 px) and leaves the second truth unmatched; assignment finds two pairs.
#[test]
fn assignment_beats_greedy() {
    let truth = [[0.0, 0.0], [4.0, 0.0]];
    let pred = [[1.9, 0.0], [-2.5, 0.0]];
    let m = match_points(&truth, &pred, |_, _| 3.0);
    assert_eq!(m.pairs.len(), 2);
    assert_eq!((m.pairs[0].0, m.pairs[0].1), (0, 1));
    assert_eq!((m.pairs[1].0, m.pairs[1].1), (1, 0));
}

// The gate is inclusive and per pair; a pair just outside it stays unmatched.
#[test]
fn gate_is_inclusive_and_per_pair() {
    let truth = [[0.0, 0.0], [100.0, 0.0]];
    let pred = [[3.0, 4.0], [106.0, 0.0]];
    let m = match_points(&truth, &pred, |i, _| if i == 0 { 5.0 } else { 5.999 });
    assert_eq!(m.pairs.len(), 1);
    assert_eq!(m.unmatched_truth, vec![1]);
    assert_eq!(m.unmatched_pred, vec![1]);
}

// IoU gate: 0.3 accepted at exactly 0.3, rejected below; the best-overlap pairing wins.
#[test]
fn box_gate() {
    // [0,9]x[0,9] vs [0,9]x[0,2]: 30 / 100 = 0.3 exactly.
    let m = match_boxes(&[[0.0, 0.0, 9.0, 9.0]], &[[0.0, 0.0, 9.0, 2.0]], 0.3);
    assert_eq!(m.pairs.len(), 1);
    let m = match_boxes(&[[0.0, 0.0, 9.0, 9.0]], &[[0.0, 0.0, 9.0, 1.0]], 0.3);
    assert!(m.pairs.is_empty());
}

// Precision, recall and F1 by hand: 4 TP, 3 FP, 1 FN.
#[test]
fn rates_by_hand() {
    let c = HairCounts {
        tp: 4,
        fp: 3,
        fn_: 1,
        ignored: 0,
    };
    assert!((c.precision().unwrap() - 4.0 / 7.0).abs() < 1e-12);
    assert!((c.recall().unwrap() - 0.8).abs() < 1e-12);
    assert!((c.f1().unwrap() - 8.0 / 12.0).abs() < 1e-12);
    assert!(HairCounts::default().f1().is_none());
}
