//! Rendering an [`EvalReport`] as a human table, JSON or CSV.

use std::fmt::Write as _;

use super::evaluate::{EvalReport, HairRow};
use super::metrics::CountMetrics;
use crate::error::{Error, Result};

fn f(v: Option<f64>, prec: usize) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:.prec$}"),
        _ => "-".into(),
    }
}

fn ci(v: Option<super::Interval>) -> String {
    match v {
        None => "-".into(),
        Some(i) => match (i.ci_low, i.ci_high) {
            (Some(l), Some(h)) => format!("{:.3} [{:.3}, {:.3}]", i.value, l, h),
            _ => format!("{:.3}", i.value),
        },
    }
}

fn render(rows: &[Vec<String>], right_from: usize) -> String {
    let ncol = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..ncol)
        .map(|c| {
            rows.iter()
                .map(|r| r.get(c).map_or(0, |s| s.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            let pad = widths[c] - cell.chars().count();
            if c > 0 {
                line.push_str("  ");
            }
            if c >= right_from {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn list(names: &[String]) -> String {
    const SHOW: usize = 5;
    let mut s = names
        .iter()
        .take(SHOW)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOW {
        let _ = write!(s, ", ... ({} more)", names.len() - SHOW);
    }
    s
}

impl EvalReport {
    /// The report as an aligned plain-text table for people.
    ///
    /// Count statistics first (differences are test − reference), then hair
    /// matching with its gate, then unpaired images and failed records.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Count agreement (differences are test − reference; LoA = Bland–Altman 95% limits)"
        );
        let mut rows = vec![[
            "reference",
            "test",
            "on",
            "group",
            "n",
            "MAE",
            "RMSE",
            "MAPE%",
            "WAPE%",
            "bias",
            "LoA",
            "LoA%",
            "prop.slope (p)",
            "CCC [95% CI]",
            "r",
            "ICC(A,1) [95% CI]",
        ]
        .map(String::from)
        .to_vec()];
        for c in &self.count {
            let m = &c.metrics;
            let ba = m.bland_altman;
            rows.push(vec![
                c.reference.clone(),
                c.test.clone(),
                c.on.as_str().into(),
                c.group.clone(),
                m.n.to_string(),
                f(m.mae, 2),
                f(m.rmse, 2),
                f(m.mape_pct, 1),
                f(m.wape_pct, 1),
                f(m.bias, 2),
                ba.map_or("-".into(), |b| {
                    format!("[{:.2}, {:.2}]", b.loa_low, b.loa_high)
                }),
                ba.map_or("-".into(), |b| {
                    format!("[{}, {}]", f(b.loa_low_pct, 1), f(b.loa_high_pct, 1))
                }),
                match ba.and_then(|b| b.slope.zip(b.slope_p)) {
                    Some((slope, p)) => format!("{slope:.3} ({p:.3})"),
                    None => "-".into(),
                },
                ci(m.ccc),
                f(m.pearson_r, 3),
                ci(m.icc_a1),
            ]);
        }
        out.push_str(&render(&rows, 4));
        let zero: usize = self
            .count
            .iter()
            .filter(|c| c.group == "all")
            .map(|c| c.metrics.n_truth_zero)
            .max()
            .unwrap_or(0);
        if zero > 0 {
            let _ = writeln!(
                out,
                "(MAPE leaves out images whose truth is 0: up to {zero} per comparison)"
            );
        }
        if !self.hair.is_empty() {
            let _ = writeln!(out, "\nHair matching (one-to-one, Hungarian assignment)");
            let mut rows = vec![[
                "reference",
                "test",
                "group",
                "images",
                "TP",
                "FP",
                "FN",
                "ignored",
                "precision",
                "recall",
                "F1",
                "match",
                "diam. bias µm",
                "diam. MAPE %",
            ]
            .map(String::from)
            .to_vec()];
            for h in &self.hair {
                rows.push(hair_cells(h, self));
            }
            out.push_str(&render(&rows, 3));
            for c in &self.comparisons {
                if let (Some(mode), Some(gate)) = (c.match_mode, &c.gate) {
                    let _ = writeln!(
                        out,
                        "{} vs {}: {} matching, gate {}",
                        c.test,
                        c.reference,
                        mode.as_str(),
                        gate
                    );
                }
            }
            if self.config.ignore_border_fp {
                let _ = writeln!(
                    out,
                    "Unmatched predictions touching the image border are ignored."
                );
            }
            if !self.config.ignore_regions.regions.is_empty() {
                let _ = writeln!(
                    out,
                    "Unmatched predictions inside ignore regions are ignored."
                );
            }
        }
        let mut notes = String::new();
        for c in &self.comparisons {
            let pre = format!("{} vs {}", c.test, c.reference);
            if !c.unmatched.reference.is_empty() {
                let _ = writeln!(
                    notes,
                    "{pre}: {} image(s) of {} missing from {}: {}",
                    c.unmatched.reference.len(),
                    c.reference,
                    c.test,
                    list(&c.unmatched.reference)
                );
            }
            if !c.unmatched.test.is_empty() {
                let _ = writeln!(
                    notes,
                    "{pre}: {} image(s) of {} not in {}: {}",
                    c.unmatched.test.len(),
                    c.test,
                    c.reference,
                    list(&c.unmatched.test)
                );
            }
            if !c.unmatched.ambiguous.is_empty() {
                let _ = writeln!(
                    notes,
                    "{pre}: {} ambiguous image name(s): {}",
                    c.unmatched.ambiguous.len(),
                    list(&c.unmatched.ambiguous)
                );
            }
            if !c.missing_value.is_empty() {
                let _ = writeln!(
                    notes,
                    "{pre}: {} image(s) without a {} on one side: {}",
                    c.missing_value.len(),
                    c.on.as_str(),
                    list(&c.missing_value)
                );
            }
            if !c.hair_skipped.is_empty() {
                let _ = writeln!(
                    notes,
                    "{pre}: {} image(s) left out of hair matching: {}",
                    c.hair_skipped.len(),
                    list(&c.hair_skipped)
                );
            }
        }
        if !self.failures.is_empty() {
            let _ = writeln!(
                notes,
                "{} failed record(s), not scored:",
                self.failures.len()
            );
            for fl in &self.failures {
                if fl.error.starts_with(&fl.image) {
                    let _ = writeln!(notes, "  [{}] {}", fl.source, fl.error);
                } else {
                    let _ = writeln!(notes, "  [{}] {}: {}", fl.source, fl.image, fl.error);
                }
            }
        }
        if !notes.is_empty() {
            out.push('\n');
            out.push_str(&notes);
        }
        out
    }

    /// The report as pretty-printed JSON (the serde form of [`EvalReport`]).
    ///
    /// # Errors
    /// Only if serialisation fails, which it does not for finite numbers.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self)
            .map_err(|e| Error::new(crate::ErrorKind::Internal(e.to_string())))
    }

    /// The report as CSV: one row per comparison and group, count statistics
    /// then pooled hair statistics (empty where not computed).
    ///
    /// # Errors
    /// Only if CSV writing fails.
    pub fn to_csv(&self) -> Result<String> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let header = [
            "reference",
            "test",
            "on",
            "group_by",
            "group",
            "n",
            "n_truth_zero",
            "mean_truth",
            "mean_pred",
            "mae",
            "rmse",
            "mape_pct",
            "wape_pct",
            "bias",
            "sd_diff",
            "loa_low",
            "loa_high",
            "bias_pct",
            "sd_pct",
            "loa_low_pct",
            "loa_high_pct",
            "ba_slope",
            "ba_intercept",
            "ba_slope_p",
            "ccc",
            "ccc_ci_low",
            "ccc_ci_high",
            "pearson_r",
            "icc_a1",
            "icc_a1_ci_low",
            "icc_a1_ci_high",
            "hair_images",
            "tp",
            "fp",
            "fn",
            "ignored",
            "precision",
            "recall",
            "f1",
            "match_mode",
            "gate",
            "diameter_pairs",
            "diameter_bias_um",
            "diameter_mae_um",
            "diameter_mape_pct",
        ];
        let err = |e: csv::Error| Error::new(crate::ErrorKind::Internal(e.to_string()));
        w.write_record(header).map_err(err)?;
        let g = |v: Option<f64>| v.map_or(String::new(), |x| x.to_string());
        for c in &self.count {
            let m: &CountMetrics = &c.metrics;
            let ba = m.bland_altman;
            let mut rec = vec![
                c.reference.clone(),
                c.test.clone(),
                c.on.as_str().to_string(),
                c.group_by.clone().unwrap_or_default(),
                c.group.clone(),
                m.n.to_string(),
                m.n_truth_zero.to_string(),
                g(m.mean_truth),
                g(m.mean_pred),
                g(m.mae),
                g(m.rmse),
                g(m.mape_pct),
                g(m.wape_pct),
                g(m.bias),
                g(m.sd_diff),
                g(ba.map(|b| b.loa_low)),
                g(ba.map(|b| b.loa_high)),
                g(ba.and_then(|b| b.bias_pct)),
                g(ba.and_then(|b| b.sd_pct)),
                g(ba.and_then(|b| b.loa_low_pct)),
                g(ba.and_then(|b| b.loa_high_pct)),
                g(ba.and_then(|b| b.slope)),
                g(ba.and_then(|b| b.intercept)),
                g(ba.and_then(|b| b.slope_p)),
                g(m.ccc.map(|i| i.value)),
                g(m.ccc.and_then(|i| i.ci_low)),
                g(m.ccc.and_then(|i| i.ci_high)),
                g(m.pearson_r),
                g(m.icc_a1.map(|i| i.value)),
                g(m.icc_a1.and_then(|i| i.ci_low)),
                g(m.icc_a1.and_then(|i| i.ci_high)),
            ];
            let h = self
                .hair
                .iter()
                .find(|h| h.reference == c.reference && h.test == c.test && h.group == c.group);
            let comp = self
                .comparisons
                .iter()
                .find(|x| x.reference == c.reference && x.test == c.test);
            match h {
                Some(h) => rec.extend([
                    h.images.to_string(),
                    h.counts.tp.to_string(),
                    h.counts.fp.to_string(),
                    h.counts.fn_.to_string(),
                    h.counts.ignored.to_string(),
                    g(h.precision),
                    g(h.recall),
                    g(h.f1),
                    comp.and_then(|x| x.match_mode)
                        .map_or(String::new(), |m| m.as_str().to_string()),
                    comp.and_then(|x| x.gate.clone()).unwrap_or_default(),
                    h.diameter.map_or(String::new(), |d| d.pairs.to_string()),
                    g(h.diameter.map(|d| d.bias_um)),
                    g(h.diameter.map(|d| d.mae_um)),
                    g(h.diameter.map(|d| d.mape_pct)),
                ]),
                None => rec.extend(std::iter::repeat_n(String::new(), 14)),
            }
            w.write_record(&rec).map_err(err)?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| Error::new(crate::ErrorKind::Internal(e.to_string())))?;
        String::from_utf8(bytes).map_err(|e| Error::new(crate::ErrorKind::Internal(e.to_string())))
    }
}

fn hair_cells(h: &HairRow, report: &EvalReport) -> Vec<String> {
    let mode = report
        .comparisons
        .iter()
        .find(|c| c.reference == h.reference && c.test == h.test)
        .and_then(|c| c.match_mode)
        .map_or("-", |m| m.as_str());
    vec![
        h.reference.clone(),
        h.test.clone(),
        h.group.clone(),
        h.images.to_string(),
        h.counts.tp.to_string(),
        h.counts.fp.to_string(),
        h.counts.fn_.to_string(),
        h.counts.ignored.to_string(),
        f(h.precision, 3),
        f(h.recall, 3),
        f(h.f1, 3),
        mode.to_string(),
        f(h.diameter.map(|d| d.bias_um), 1),
        f(h.diameter.map(|d| d.mape_pct), 1),
    ]
}
