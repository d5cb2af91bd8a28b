//! The Markdown study report: endpoint tables per site and measure, arm
//! comparisons, repeatability, outcomes, problems and a methods section.
//!
//! In: a [`StudyResult`] (and the names of the plot files, if any). Out: a
//! Markdown string. Numbers are rounded for reading only; the CSV and JSON
//! tables carry full precision.

use std::fmt::Write as _;

use super::aggregate::{Measure, ALL_SITES};
use super::manifest::Severity;
use super::stats::ZeroMethod;
use super::tables::PLabel;
use super::StudyResult;

fn f(x: Option<f64>, dp: usize) -> String {
    match x {
        Some(v) if v.is_finite() => format!("{v:.dp$}"),
        _ => "–".to_string(),
    }
}

/// Formats a p-value: 3 significant digits, `< 0.0001` below that.
pub fn fmt_p(p: Option<f64>) -> String {
    match p {
        None => "–".to_string(),
        Some(p) if p < 1e-4 => "< 0.0001".to_string(),
        Some(p) => format!("{p:.4}"),
    }
}

fn label(l: Option<PLabel>) -> &'static str {
    match l {
        Some(PLabel::Primary) => " **(primary)**",
        Some(PLabel::Exploratory) => "",
        None => "",
    }
}

fn site_title(site: &str) -> String {
    if site == ALL_SITES {
        "all sites (subject mean of sites)".to_string()
    } else {
        format!("site `{site}`")
    }
}

fn dp(m: Measure) -> usize {
    match m {
        Measure::CumulativeThickness => 3,
        _ => 1,
    }
}

/// Renders the Markdown report. `plots` lists plot files (relative names) to link, by site.
pub fn markdown(result: &StudyResult, plots: &[(String, Vec<String>)]) -> String {
    let mut s = String::new();
    let cfg = &result.config;
    let _ = writeln!(s, "# Study report\n");
    let subjects: indexmap::IndexSet<(&str, &str)> = result
        .subject_visits
        .iter()
        .map(|r| (r.arm.as_str(), r.subject.as_str()))
        .collect();
    let _ = writeln!(
        s,
        "trichometry {} · {} images · {} subjects · arms: {} · sites: {} · visits: {} · baseline: `{}`\n",
        result.crate_version,
        result.images.len(),
        subjects.len(),
        result
            .arms
            .iter()
            .map(|a| format!("`{a}` (n = {})", subjects.iter().filter(|(x, _)| x == a).count()))
            .collect::<Vec<_>>()
            .join(", "),
        result.sites.join(", "),
        result.visits.join(" → "),
        result.baseline
    );
    match &cfg.primary {
        Some(p) => {
            let _ = writeln!(
                s,
                "**Primary endpoint:** {} at visit `{}`, {} — {}. Every other p-value in this report is exploratory (not adjusted for multiplicity).\n",
                p.measure.as_str(),
                p.visit,
                site_title(&p.site),
                if result.arms.len() == 2 {
                    "ANCOVA of the follow-up value with baseline as covariate, between arms"
                } else {
                    "paired t-test of the change from baseline (Wilcoxon signed-rank as sensitivity analysis)"
                }
            );
        }
        None => {
            let _ = writeln!(
                s,
                "No primary endpoint was named (`--primary VISIT:SITE:MEASURE`): every p-value in this report is exploratory.\n"
            );
        }
    }

    let errors = result
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .count();
    let warnings = result.problems.len() - errors;
    if !result.problems.is_empty() {
        let _ = writeln!(
            s,
            "## Problems\n\n{errors} rows left out, {warnings} warnings (all in `problems.csv`).\n"
        );
        for p in result.problems.iter().take(40) {
            let _ = writeln!(s, "- {p}");
        }
        if result.problems.len() > 40 {
            let _ = writeln!(s, "- … {} more", result.problems.len() - 40);
        }
        s.push('\n');
    }

    let _ = writeln!(s, "## Endpoints by visit\n");
    for &m in &result.measures {
        for site in &result.sites {
            for arm in &result.arms {
                let rows: Vec<_> = result
                    .summary
                    .iter()
                    .filter(|r| r.measure == m && &r.site == site && &r.arm == arm)
                    .collect();
                if rows.is_empty() {
                    continue;
                }
                let d = dp(m);
                let _ = writeln!(
                    s,
                    "### {} ({}) — {}{}\n",
                    m.as_str(),
                    m.unit(),
                    site_title(site),
                    if result.arms.len() > 1 {
                        format!(" — arm `{arm}`")
                    } else {
                        String::new()
                    }
                );
                let _ = writeln!(s, "| visit | n (missing) | mean ± SD | median [min, max] | 95% CI | change ± SD (n) | 95% CI of change | % change ± SD | paired t p | Wilcoxon p |");
                let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|");
                for r in rows {
                    let change = if r.is_baseline {
                        ("baseline".to_string(), String::new(), String::new())
                    } else {
                        (
                            format!(
                                "{} ± {} ({})",
                                f(r.change_mean, d),
                                f(r.change_sd, d),
                                r.change_n
                            ),
                            format!("{} to {}", f(r.change_ci_low, d), f(r.change_ci_high, d)),
                            format!("{} ± {}", f(r.pct_change_mean, 1), f(r.pct_change_sd, 1)),
                        )
                    };
                    let wil = match (&r.wilcoxon_method, r.wilcoxon_p) {
                        (Some(method), p) => format!("{} ({method})", fmt_p(p)),
                        _ => "–".to_string(),
                    };
                    let _ = writeln!(
                        s,
                        "| {} | {} ({}) | {} ± {} | {} [{}, {}] | {} to {} | {} | {} | {} | {}{} | {}{} |",
                        r.visit,
                        r.n,
                        r.n_missing,
                        f(r.mean, d),
                        f(r.sd, d),
                        f(r.median, d),
                        f(r.min, d),
                        f(r.max, d),
                        f(r.ci_low, d),
                        f(r.ci_high, d),
                        change.0,
                        change.1,
                        change.2,
                        if r.is_baseline { String::new() } else { fmt_p(r.t_p) },
                        label(r.p_label),
                        if r.is_baseline { String::new() } else { wil },
                        label(r.p_label),
                    );
                }
                s.push('\n');
            }
        }
    }

    if !result.comparisons.is_empty() {
        let c0 = &result.comparisons[0];
        let _ = writeln!(
            s,
            "## Between arms: `{}` − `{}`\n\nWelch t-test on the change from baseline; ANCOVA of the follow-up value with baseline as covariate (OLS, common slope).\n",
            c0.arm, c0.reference_arm
        );
        let _ = writeln!(s, "| measure | site | visit | n | Welch Δ change [95% CI] | Welch p | ANCOVA adjusted Δ [95% CI] | ANCOVA p | slope |");
        let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|");
        for c in &result.comparisons {
            let d = dp(c.measure);
            let prim = if c.p_label == PLabel::Primary {
                " **(primary)**"
            } else {
                ""
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} vs {} | {} [{}, {}] | {}{prim} | {} [{}, {}] | {}{prim} | {} |",
                c.measure.as_str(),
                c.site,
                c.visit,
                c.n_arm,
                c.n_reference,
                f(c.welch_estimate, d),
                f(c.welch_ci_low, d),
                f(c.welch_ci_high, d),
                fmt_p(c.welch_p),
                f(c.ancova_estimate, d),
                f(c.ancova_ci_low, d),
                f(c.ancova_ci_high, d),
                fmt_p(c.ancova_p),
                f(c.ancova_slope, 3),
            );
        }
        s.push('\n');
    }

    if !result.repeatability.is_empty() {
        let _ = writeln!(s, "## Repeatability (replicate photographs at one visit)\n");
        let _ = writeln!(s, "| measure | site | units | readings | mean | within-subject SD (SEM) | CV % | ICC(1,1) | smallest detectable change |");
        let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|");
        for r in &result.repeatability {
            let d = dp(r.measure);
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                r.measure.as_str(),
                r.site,
                r.n_units,
                r.n_readings,
                f(Some(r.mean), d),
                f(Some(r.within_sd), d + 1),
                f(Some(r.cv_pct), 1),
                f(r.icc, 3),
                f(Some(r.sdc), d),
            );
        }
        s.push('\n');
    }

    if !result.outcomes.is_empty() {
        let _ = writeln!(s, "## Outcomes\n");
        let _ = writeln!(s, "| outcome | arm | visit | n | mean ± SD | median | distribution (answer: count) | ≥ threshold |");
        let _ = writeln!(s, "|---|---|---|---|---|---|---|---|");
        for o in &result.outcomes {
            let dist: Vec<String> = o
                .distribution
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} ± {} | {} | {} | {} % (≥ {}) |",
                o.outcome,
                o.arm,
                o.visit,
                o.n,
                f(o.mean, 2),
                f(o.sd, 2),
                f(o.median, 1),
                dist.join(", "),
                f(o.pct_at_least, 1),
                o.at_least
            );
        }
        s.push('\n');
    }

    if !plots.is_empty() {
        let _ = writeln!(s, "## Plots\n");
        for (site, files) in plots {
            for file in files.iter().filter(|f| f.ends_with(".png")) {
                let _ = writeln!(s, "![{site}]({file})\n");
            }
        }
    }

    let _ = writeln!(s, "## Methods\n");
    let _ = writeln!(
        s,
        "- **Unit of analysis: the subject.** Images of one site at one visit are pooled: density = total hairs / total analysed area (cm²); cumulative thickness is area-weighted, mean diameter hair-weighted, vellus share = vellus / all hairs. \"All sites\" is the mean of a subject's site values (the sites it has at baseline; missing if one is missing at a visit), never a pooling of sites as extra subjects."
    );
    let _ = writeln!(
        s,
        "- **Change from baseline** is computed per subject (visit − baseline; percent change 100·(visit − baseline)/baseline), then summarised. Subjects missing the visit or the baseline are left out of that visit's paired comparison and counted as missing; nothing is imputed."
    );
    let _ = writeln!(
        s,
        "- **Intervals** are {}% t-intervals of the mean. **Paired t-test** of the change against 0.",
        100.0 * cfg.confidence_level
    );
    let _ = writeln!(
        s,
        "- **Wilcoxon signed-rank test**: {}. The p-value is exact (permutation distribution of W⁺) when at most 50 non-zero differences remain, none tied; otherwise normal approximation with tie-corrected variance and continuity correction 0.5 (as scipy.stats.wilcoxon with `correction=True`).",
        match cfg.zero_method {
            ZeroMethod::Wilcox => "zero differences are dropped before ranking (Wilcoxon's method)",
            ZeroMethod::Pratt => "zero differences are ranked and their ranks dropped (Pratt's method)",
        }
    );
    if result.arms.len() == 2 {
        let _ = writeln!(
            s,
            "- **Between arms**: Welch's t-test on the change from baseline; ANCOVA of the follow-up value on arm with baseline as covariate (OLS in closed form, common slope). Mixed models are not fitted."
        );
    }
    if !result.repeatability.is_empty() {
        let _ = writeln!(
            s,
            "- **Repeatability**: within-subject SD from replicate photographs of one site at one visit (one-way ANOVA), CV = root mean square of per-unit CVs, ICC(1,1) (Shrout & Fleiss 1979), smallest detectable change = 1.96·√2·SD_within."
        );
    }
    s
}
