//! `trichometry count`: count hairs in images and write one record per input.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::ValueEnum;
use trichometry::batch::{self, BatchInput, BatchOptions};
use trichometry::report::{CsvRow, ImageReport, Roi};
use trichometry::{Config, Error, Pipeline};

use crate::output::Sink;

/// Output formats of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned human-readable table.
    Table,
    /// One JSON object per line.
    Jsonl,
    /// One JSON array.
    Json,
    /// One CSV row of scalars per image.
    Csv,
}

/// Arguments of `trichometry count`.
#[derive(Debug, clap::Args)]
pub struct CountArgs {
    /// Image files or folders (searched recursively, sorted bytewise, symlinks not followed).
    #[arg(required_unless_present = "manifest")]
    pub inputs: Vec<PathBuf>,
    /// Pixel size in µm/px for every image (below the manifest, above the config).
    #[arg(long, value_name = "F")]
    pub pixel_size_um: Option<f64>,
    /// CSV manifest with columns `image,pixel_size_um` (more columns are carried into the output).
    #[arg(long, value_name = "FILE.csv")]
    pub manifest: Option<PathBuf>,
    /// Configuration file (TOML, or JSON if named *.json).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Output format [default: table on a terminal, jsonl otherwise].
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write the report to FILE instead of stdout (atomically).
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write one CSV row per counted hair to FILE.
    #[arg(long, value_name = "FILE")]
    pub hairs_csv: Option<PathBuf>,
    /// Worker threads [default: all cores].
    #[arg(long, short, value_name = "N")]
    pub jobs: Option<usize>,
    /// Count only inside a circle: centre x, centre y (pixels), radius (µm).
    #[arg(long, value_name = "CX,CY,R_UM", conflicts_with = "roi_area_cm2")]
    pub roi_circle: Option<String>,
    /// Count only inside a circle of this area (cm²) centred on the tattoo dot (or the image centre).
    #[arg(long, value_name = "A")]
    pub roi_area_cm2: Option<f64>,
    /// Write a review overlay PNG per image into DIR (created if missing; skipped when searching inputs).
    #[arg(long, value_name = "DIR")]
    pub overlay_dir: Option<PathBuf>,
    /// Add each image's decision trail to JSON and JSONL records: a
    /// `components` list giving, per connected component, its box, area,
    /// hairs counted and the reason (csv and table output leave it out).
    #[arg(long)]
    pub detail: bool,
    /// Never show the progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

fn parse_roi(args: &CountArgs) -> Result<Option<Roi>, Error> {
    if let Some(s) = &args.roi_circle {
        let v: Vec<f64> = s
            .split(',')
            .map(|p| p.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| {
                Error::invalid_input(format!("--roi-circle `{s}`: expected CX,CY,R_UM"))
            })?;
        if v.len() != 3 || v.iter().any(|x| !x.is_finite()) || v[2] <= 0.0 {
            return Err(Error::invalid_input(format!(
                "--roi-circle `{s}`: expected CX,CY,R_UM with a positive radius"
            )));
        }
        return Ok(Some(Roi::Circle {
            cx_px: v[0],
            cy_px: v[1],
            radius_um: v[2],
        }));
    }
    if let Some(a) = args.roi_area_cm2 {
        if !(a.is_finite() && a > 0.0) {
            return Err(Error::invalid_input(format!(
                "--roi-area-cm2 {a}: must be a positive area"
            )));
        }
        return Ok(Some(Roi::CentredArea { area_cm2: a }));
    }
    Ok(None)
}

/// Warns on stderr when one file is listed more than once (for instance in
/// the manifest and again under a folder given beside it): each listing
/// gets its own record, and a listing without the manifest's pixel size may
/// end in an error record.
fn warn_repeated_files(inputs: &[BatchInput]) {
    let mut seen = std::collections::HashSet::new();
    let repeated = inputs
        .iter()
        .filter(|i| !seen.insert(std::fs::canonicalize(&i.path).unwrap_or_else(|_| i.path.clone())))
        .count();
    if repeated > 0 {
        eprintln!(
            "trichometry: warning: {repeated} input(s) name a file listed before \
             (a manifest and a folder that holds its images?); each listing gets its own record"
        );
    }
}

/// Runs `trichometry count`; returns the exit status.
pub fn run(args: CountArgs) -> Result<u8, Error> {
    let cfg = match &args.config {
        Some(p) => Config::from_path(p)?,
        None => Config::default(),
    };
    let pipeline = Pipeline::new(cfg)?;
    let roi = parse_roi(&args)?;
    if let Some(p) = args.pixel_size_um {
        trichometry::PixelScale::new(p)
            .map_err(|e| Error::invalid_input(format!("--pixel-size-um: {e}")))?;
    }
    let mut inputs: Vec<BatchInput> = Vec::new();
    if let Some(m) = &args.manifest {
        inputs.extend(batch::read_manifest(m)?);
    }
    let skip: Vec<PathBuf> = args.overlay_dir.iter().cloned().collect();
    inputs.extend(batch::expand_inputs(&args.inputs, &skip)?);
    if inputs.is_empty() {
        return Err(Error::invalid_input("no images found in the given inputs"));
    }
    warn_repeated_files(&inputs);

    let mut sink = Sink::open(args.output.as_deref())?;
    let format = args.format.unwrap_or(if sink.is_terminal() {
        Format::Table
    } else {
        Format::Jsonl
    });
    let mut hairs_sink = match &args.hairs_csv {
        Some(p) => Some(csv::Writer::from_writer(Sink::open(Some(p))?)),
        None => None,
    };

    let cancel = Arc::new(AtomicBool::new(false));
    {
        let cancel = Arc::clone(&cancel);
        let _ = ctrlc::set_handler(move || cancel.store(true, Ordering::SeqCst));
    }
    let total = inputs.len();
    let progress = if args.no_progress || total < 2 {
        indicatif::ProgressBar::hidden()
    } else {
        let pb = indicatif::ProgressBar::with_draw_target(
            Some(total as u64),
            indicatif::ProgressDrawTarget::stderr(),
        );
        pb.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} images ({per_sec}, eta {eta})",
            )
            .expect("valid template"),
        );
        pb
    };

    if let Some(dir) = &args.overlay_dir {
        std::fs::create_dir_all(dir).map_err(|e| Error::from_io(e, dir))?;
    }
    let opts = BatchOptions {
        pixel_size_um: args.pixel_size_um,
        roi,
        cancel: Some(&cancel),
        overlay_dir: args.overlay_dir.clone(),
        decision_trail: args.detail,
    };
    let mut writer = ReportWriter::new(format, &mut sink, &inputs);
    let mut errors = 0usize;
    let mut io_error: Option<Error> = None;
    let mut run = |pool: Option<&rayon::ThreadPool>| {
        let mut body = || {
            batch::run(&pipeline, &inputs, &opts, |_, report| {
                progress.inc(1);
                if report.is_error() {
                    errors += 1;
                }
                if io_error.is_some() {
                    return;
                }
                if let Err(e) = writer.write(&report) {
                    io_error = Some(e);
                }
                if let Some(h) = hairs_sink.as_mut() {
                    for row in report.hair_rows() {
                        if let Err(e) = h.serialize(row) {
                            io_error = Some(Error::invalid_input(format!("--hairs-csv: {e}")));
                        }
                    }
                }
            })
        };
        match pool {
            Some(p) => p.install(body),
            None => body(),
        }
    };
    let pool = match args.jobs {
        Some(0) => return Err(Error::invalid_input("--jobs must be at least 1")),
        Some(n) => Some(
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|e| Error::invalid_input(format!("--jobs {n}: {e}")))?,
        ),
        None => None,
    };
    let processed = run(pool.as_ref());
    progress.finish_and_clear();
    let interrupted = processed < total;
    writer.finish(interrupted.then_some((processed, total)))?;
    drop(writer);
    if let Some(e) = io_error {
        sink.abandon();
        return Err(e);
    }
    sink.finish()?;
    if let Some(h) = hairs_sink {
        let inner = h
            .into_inner()
            .map_err(|e| Error::invalid_input(format!("--hairs-csv: {e}")))?;
        inner.finish()?;
    }
    if interrupted {
        eprintln!("trichometry: interrupted after {processed} of {total} images");
        return Ok(130);
    }
    if errors > 0 {
        eprintln!("trichometry: {errors} of {total} images could not be analysed (see their `error` field)");
        return Ok(1);
    }
    Ok(0)
}

/// Writes reports in one of the formats, streaming.
struct ReportWriter<'a> {
    format: Format,
    out: &'a mut Sink,
    meta_columns: Vec<String>,
    written: usize,
}

impl<'a> ReportWriter<'a> {
    fn new(format: Format, out: &'a mut Sink, inputs: &[BatchInput]) -> Self {
        let meta_columns = inputs
            .first()
            .map(|i| i.meta.keys().cloned().collect())
            .unwrap_or_default();
        ReportWriter {
            format,
            out,
            meta_columns,
            written: 0,
        }
    }

    fn io(e: std::io::Error) -> Error {
        Error::from_io(e, "<output>")
    }

    fn write(&mut self, r: &ImageReport) -> Result<(), Error> {
        let first = self.written == 0;
        self.written += 1;
        match self.format {
            Format::Jsonl => {
                serde_json::to_writer(&mut *self.out, r).map_err(|e| Self::io(e.into()))?;
                writeln!(self.out).map_err(Self::io)
            }
            Format::Json => {
                let lead = if first { "[\n" } else { ",\n" };
                self.out.write_all(lead.as_bytes()).map_err(Self::io)?;
                serde_json::to_writer_pretty(&mut *self.out, r).map_err(|e| Self::io(e.into()))
            }
            Format::Csv => {
                let (header, values) = csv_row(r, &self.meta_columns)?;
                let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
                if first {
                    w.write_record(&header).map_err(|e| Self::io(e.into()))?;
                }
                w.write_record(&values).map_err(|e| Self::io(e.into()))?;
                let bytes = w.into_inner().map_err(|e| Self::io(e.into_error()))?;
                self.out.write_all(&bytes).map_err(Self::io)
            }
            Format::Table => {
                if first {
                    writeln!(
                        self.out,
                        "{:<40} {:>6} {:>12} {:>9} {:>7}  flags / error",
                        "image", "hairs", "hairs/cm²", "area cm²", "µm/px"
                    )
                    .map_err(Self::io)?;
                }
                let opt =
                    |v: Option<f64>, p: usize| v.map_or("-".to_string(), |x| format!("{x:.p$}"));
                let note = match &r.error {
                    Some(e) => format!("ERROR {}: {e}", r.error_kind.as_deref().unwrap_or("")),
                    None => r.qc_flags.join(","),
                };
                writeln!(
                    self.out,
                    "{:<40} {:>6} {:>12} {:>9} {:>7}  {}",
                    r.image,
                    r.hair_count.map_or("-".to_string(), |c| c.to_string()),
                    opt(r.density_per_cm2, 1),
                    opt(r.analysed_area_cm2, 4),
                    opt(r.pixel_size_um, 2),
                    note
                )
                .map_err(Self::io)
            }
        }
    }

    fn finish(&mut self, interrupted: Option<(usize, usize)>) -> Result<(), Error> {
        let marker = interrupted.map(|(processed, total)| {
            serde_json::json!({"interrupted": true, "processed": processed, "total": total})
        });
        match self.format {
            Format::Jsonl => {
                if let Some(m) = marker {
                    writeln!(self.out, "{m}").map_err(Self::io)?;
                }
            }
            Format::Json => {
                let mut lead = if self.written == 0 { "[\n" } else { ",\n" };
                if let Some(m) = marker {
                    write!(self.out, "{lead}{m}").map_err(Self::io)?;
                    lead = "";
                }
                let _ = lead;
                if self.written == 0 && interrupted.is_none() {
                    writeln!(self.out, "[]").map_err(Self::io)?;
                } else {
                    writeln!(self.out, "\n]").map_err(Self::io)?;
                }
            }
            Format::Csv | Format::Table => {
                if let Some((p, t)) = interrupted {
                    // CSV and tables have no room for a marker row; say it on stderr.
                    eprintln!("trichometry: output holds the first {p} of {t} images");
                }
            }
        }
        Ok(())
    }
}

/// Header and values of one CSV row: the report's scalars, then the manifest's extra columns.
fn csv_row(r: &ImageReport, meta_columns: &[String]) -> Result<(Vec<String>, Vec<String>), Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.serialize(CsvRow::from(r))
        .map_err(|e| Error::invalid_input(e.to_string()))?;
    let bytes = w
        .into_inner()
        .map_err(|e| Error::invalid_input(e.to_string()))?;
    let mut rdr = csv::Reader::from_reader(bytes.as_slice());
    let mut header: Vec<String> = rdr
        .headers()
        .map_err(|e| Error::invalid_input(e.to_string()))?
        .iter()
        .map(str::to_string)
        .collect();
    let mut values: Vec<String> = rdr
        .records()
        .next()
        .transpose()
        .map_err(|e| Error::invalid_input(e.to_string()))?
        .map(|rec| rec.iter().map(str::to_string).collect())
        .unwrap_or_default();
    for c in meta_columns {
        header.push(c.clone());
        values.push(r.meta.get(c).cloned().unwrap_or_default());
    }
    Ok((header, values))
}
