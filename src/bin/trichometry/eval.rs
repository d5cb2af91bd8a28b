//! `trichometry eval`: score predictions (and raters) against ground truth.

use std::io::Write;
use std::path::PathBuf;

use clap::ValueEnum;
use trichometry::eval::{self, EvalConfig, MatchMode, On};
use trichometry::Error;

use crate::output::Sink;

/// Output formats of `eval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned human-readable tables.
    Table,
    /// The full report as JSON.
    Json,
    /// One CSV row per comparison and group.
    Csv,
}

/// What the count statistics compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnArg {
    /// Hairs per image.
    Count,
    /// Hairs per cm².
    Density,
}

/// How hairs are matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MatchArg {
    /// Boxes when the truth has boxes and every prediction too, else points.
    Auto,
    /// Exit points (box centres where only boxes exist), gated by distance.
    Points,
    /// Boxes, gated by IoU.
    Boxes,
}

/// Arguments of `trichometry eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// Truth: a folder of sidecars or VOC files, or a CSV/JSON file; repeat for
    /// several sources, optionally named `NAME=PATH` (e.g. `raterA=a.csv`).
    #[arg(long, required = true, value_name = "[NAME=]PATH")]
    pub truth: Vec<String>,
    /// Predictions: trichometry's JSONL/JSON/CSV output, or any truth format.
    #[arg(long, value_name = "PATH")]
    pub pred: PathBuf,
    /// Group images by this column [default: `scenario` where present].
    #[arg(long, value_name = "COL")]
    pub group_by: Option<String>,
    /// Compare counts or densities [default: count; density where a side has only densities].
    #[arg(long, value_enum)]
    pub on: Option<OnArg>,
    /// Output format [default: table on a terminal, json otherwise].
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write the report to FILE instead of stdout (atomically).
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Point gate floor in µm: match when distance ≤ max(D × diameter, F µm).
    #[arg(long, value_name = "F", default_value_t = 100.0)]
    pub gate_um: f64,
    /// Point gate in shaft diameters (the D above).
    #[arg(long, value_name = "D", default_value_t = 2.0)]
    pub gate_diameters: f64,
    /// Fixed point gate in pixels (replaces the µm gate; for sources without a pixel size).
    #[arg(long, value_name = "PX")]
    pub gate_px: Option<f64>,
    /// Box gate: match when IoU ≥ F.
    #[arg(long, value_name = "F", default_value_t = 0.3)]
    pub iou: f64,
    /// How hairs are matched.
    #[arg(long = "match", value_enum, default_value_t = MatchArg::Auto)]
    pub match_mode: MatchArg,
    /// Do not count unmatched predictions touching the image border as false positives.
    #[arg(long)]
    pub ignore_border_fp: bool,
    /// CSV `image,x_min,y_min,x_max,y_max`: unmatched predictions inside are not false positives.
    #[arg(long, value_name = "FILE.csv")]
    pub ignore_regions: Option<PathBuf>,
}

/// Splits `NAME=PATH`; a bare path gets the name `truth` (or `truthN` after the first).
fn parse_truth(arg: &str, index: usize) -> (String, PathBuf) {
    if let Some((name, path)) = arg.split_once('=') {
        let ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '.');
        if ok && !std::path::Path::new(arg).exists() {
            return (name.to_string(), PathBuf::from(path));
        }
    }
    let name = if index == 0 {
        "truth".to_string()
    } else {
        format!("truth{}", index + 1)
    };
    (name, PathBuf::from(arg))
}

/// Runs `trichometry eval`.
pub fn run(args: EvalArgs) -> Result<u8, Error> {
    let mut cfg = EvalConfig::default();
    cfg.on = args.on.map(|o| match o {
        OnArg::Count => On::Count,
        OnArg::Density => On::Density,
    });
    cfg.group_by = args.group_by.clone();
    cfg.gate_um = args.gate_um;
    cfg.gate_diameters = args.gate_diameters;
    cfg.gate_px = args.gate_px;
    cfg.min_iou = args.iou;
    cfg.match_mode = match args.match_mode {
        MatchArg::Auto => MatchMode::Auto,
        MatchArg::Points => MatchMode::Points,
        MatchArg::Boxes => MatchMode::Boxes,
    };
    cfg.ignore_border_fp = args.ignore_border_fp;
    if let Some(p) = &args.ignore_regions {
        cfg.ignore_regions = eval::read_ignore_regions(p)?;
    }
    cfg.validate()?;

    let mut truths = Vec::with_capacity(args.truth.len());
    for (i, t) in args.truth.iter().enumerate() {
        let (name, path) = parse_truth(t, i);
        truths.push((name, eval::read_truth(&path)?));
    }
    let pred = eval::read_predictions(&args.pred)?;
    let report = eval::evaluate(&truths, &pred, &cfg)?;

    let mut sink = Sink::open(args.output.as_deref())?;
    let format = args.format.unwrap_or(if sink.is_terminal() {
        Format::Table
    } else {
        Format::Json
    });
    let text = match format {
        Format::Table => report.to_table(),
        Format::Json => report.to_json()? + "\n",
        Format::Csv => report.to_csv()?,
    };
    if let Err(e) = sink.write_all(text.as_bytes()) {
        sink.abandon();
        return Err(Error::from_io(
            e,
            args.output.as_deref().unwrap_or("<stdout>".as_ref()),
        ));
    }
    sink.finish()?;
    Ok(0)
}
