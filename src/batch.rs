//! Batch processing: many images in, one report per input out, in input order.
//!
//! In: a list of [`BatchInput`]s (from a manifest, from paths, or built by the
//! caller) and a shared [`Pipeline`]. Out: one [`ImageReport`] per input — a
//! result or an error record, never a lost row — delivered to a sink in input
//! order as soon as each prefix of the input is complete.
//!
//! Images are processed in parallel with rayon (feature `rayon`, on by
//! default) on the caller's thread pool: wrap the call in
//! `rayon::ThreadPool::install` to choose the number of threads. Each image is
//! analysed on one thread, so results do not depend on the number of threads.
//! Each worker holds one decoded image at a time, so peak memory grows with
//! the number of threads, not with the number of images.
//!
//! This module, [`crate::decode`] and the binary are the only ones that read
//! the file system.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use indexmap::IndexMap;

use crate::calibrate::{self, PixelScale};
use crate::decode;
use crate::error::{Error, ErrorKind, Result};
use crate::pipeline::Pipeline;
use crate::report::{ImageReport, Provenance, Roi};

/// One image to process.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchInput {
    /// The input string verbatim, as written into the report's `image` field.
    pub image: String,
    /// Where to read the file.
    pub path: PathBuf,
    /// Pixel size from the manifest row, µm/px (highest precedence).
    pub pixel_size_um: Option<f64>,
    /// Region of interest from the manifest row.
    pub roi: Option<Roi>,
    /// Extra manifest columns, carried verbatim into the report's `meta`.
    pub meta: IndexMap<String, String>,
    /// A problem found while reading the manifest row; the input becomes an error record.
    pub problem: Option<String>,
}

impl BatchInput {
    /// An input read from `path`, reported under the path as given.
    pub fn from_path(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        BatchInput {
            image: path.to_string_lossy().into_owned(),
            path,
            pixel_size_um: None,
            roi: None,
            meta: IndexMap::new(),
            problem: None,
        }
    }
}

/// Options that apply to every image of a batch.
#[derive(Debug, Default)]
pub struct BatchOptions<'a> {
    /// Pixel size for every image, µm/px (the `--pixel-size-um` flag): below the
    /// manifest, above the configuration.
    pub pixel_size_um: Option<f64>,
    /// Region of interest for images whose manifest row gives none (`--roi-*` flags).
    pub roi: Option<Roi>,
    /// When set to true (e.g. by a Ctrl-C handler), no further image is started.
    pub cancel: Option<&'a AtomicBool>,
    /// When set, a review overlay (see [`crate::overlay`]) of every analysed
    /// image is written into this folder as [`overlay_file_name`].
    pub overlay_dir: Option<PathBuf>,
    /// When true, every result record carries its image's decision trail
    /// ([`ImageReport::components`]): for review, never a change to the count.
    pub decision_trail: bool,
}

/// File name of an input's overlay: the input string with path separators and
/// other awkward characters replaced by `_`, then `.overlay.png`, so inputs
/// with the same file name in different folders do not collide.
///
/// ```
/// assert_eq!(trichometry::batch::overlay_file_name("visit 1/a.jpg"), "visit_1_a.jpg.overlay.png");
/// ```
pub fn overlay_file_name(image: &str) -> String {
    let cleaned: String = image
        .trim_start_matches("./")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{}.overlay.png", cleaned.trim_start_matches('.'))
}

fn provenance(pipeline: &Pipeline, source: Option<calibrate::CalibrationSource>) -> Provenance {
    Provenance {
        crate_version: env!("CARGO_PKG_VERSION").to_string(),
        config_hash: pipeline.config().hash(),
        calibration_source: source,
    }
}

/// Processes one input into its report. Never fails: problems become error records.
///
/// Order of work: read the bytes (for `input_sha256`), resolve the calibration,
/// decode, analyse. A panic inside the analysis is caught and reported as an
/// `internal_error` record, so one bad image never takes a batch down.
pub fn process_one(pipeline: &Pipeline, input: &BatchInput, opts: &BatchOptions) -> ImageReport {
    let meta = input.meta.clone();
    let fail = |err: Error, sha: Option<String>, src| {
        ImageReport::from_error(
            input.image.clone(),
            &err,
            sha,
            meta.clone(),
            provenance(pipeline, src),
        )
    };
    if let Some(problem) = &input.problem {
        return fail(
            Error::new(ErrorKind::InvalidInput(problem.clone())).with_path(&input.path),
            None,
            None,
        );
    }
    let bytes = match std::fs::read(&input.path) {
        Ok(b) => b,
        Err(e) => return fail(Error::from_io(e, &input.path), None, None),
    };
    let sha = decode::sha256_hex(&bytes);
    let cfg = pipeline.config();
    let (scale, source) = match calibrate::resolve(
        input.pixel_size_um,
        opts.pixel_size_um,
        cfg.calibration.pixel_size_um,
    ) {
        Ok(x) => x,
        Err(e) => return fail(e.with_path(&input.path), Some(sha), None),
    };
    let decoded = match decode::decode_hashed(&bytes, sha.clone(), &cfg.limits) {
        Ok(d) => d,
        Err(e) => return fail(e.with_path(&input.path), Some(sha), Some(source)),
    };
    drop(bytes);
    let roi = input.roi.as_ref().or(opts.roi.as_ref());
    // Without an overlay to draw, the decoded image is not needed after the
    // analysis, which may then drop it once it has its posed copy.
    let mut kept = None;
    let image = decoded.image;
    let analysed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        if opts.overlay_dir.is_some() {
            let a = pipeline.analyse(&image, scale, roi);
            kept = Some(image);
            a
        } else {
            pipeline.analyse_owned(image, scale, roi)
        }
    }));
    let analysis = match analysed {
        Ok(Ok(a)) => a,
        Ok(Err(e)) => return fail(e.with_path(&input.path), Some(sha), Some(source)),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".to_string());
            return fail(
                Error::new(ErrorKind::Internal(msg)).with_path(&input.path),
                Some(sha),
                Some(source),
            );
        }
    };
    let mut report = ImageReport::empty(
        input.image.clone(),
        meta,
        provenance(pipeline, Some(source)),
    );
    report.input_sha256 = Some(sha);
    crate::report::fill_from_analysis(&mut report, &analysis, scale, pipeline.config());
    if let (Some(dir), Some(image)) = (&opts.overlay_dir, &kept) {
        let out = crate::overlay::render_overlay(image, &analysis, scale);
        let path = dir.join(overlay_file_name(&input.image));
        if out.save(&path).is_err() {
            report.qc_flags.push("overlay_write_failed".to_string());
        }
    }
    if opts.decision_trail {
        report.components = Some(analysis.components);
    }
    report
}

/// Processes every input, calling `sink(index, report)` in input order.
///
/// Each report reaches the sink as soon as it and every report before it are
/// done, so a caller can stream results to disk. Returns the number of inputs
/// processed: `inputs.len()` unless `opts.cancel` was raised, in which case the
/// sink has seen exactly the first `k` inputs (a prefix) and `k` is returned.
pub fn run<F>(pipeline: &Pipeline, inputs: &[BatchInput], opts: &BatchOptions, mut sink: F) -> usize
where
    F: FnMut(usize, ImageReport) + Send,
{
    let cancelled = || opts.cancel.is_some_and(|c| c.load(Ordering::SeqCst));
    let (tx, rx) = std::sync::mpsc::channel::<(usize, Option<ImageReport>)>();
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || {
            let mut pending: BTreeMap<usize, Option<ImageReport>> = BTreeMap::new();
            let mut next = 0usize;
            let mut stopped = false;
            for (i, r) in rx {
                pending.insert(i, r);
                while let Some(r) = pending.remove(&next) {
                    match r {
                        Some(r) if !stopped => {
                            sink(next, r);
                            next += 1;
                        }
                        _ => {
                            stopped = true;
                            break;
                        }
                    }
                }
            }
            next
        });
        let work = |tx: &std::sync::mpsc::Sender<(usize, Option<ImageReport>)>,
                    (i, input): (usize, &BatchInput)| {
            let r = if cancelled() {
                None
            } else {
                Some(process_one(pipeline, input, opts))
            };
            let _ = tx.send((i, r));
        };
        #[cfg(feature = "rayon")]
        {
            // Workers take the next unstarted input in input order (not a
            // split of the slice, which would start the second half at once),
            // so the reports waiting for their prefix are about as many as
            // the threads, whatever the number of images.
            use rayon::prelude::*;
            inputs
                .iter()
                .enumerate()
                .par_bridge()
                .for_each_with(tx, |tx, item| work(tx, item));
        }
        #[cfg(not(feature = "rayon"))]
        {
            for item in inputs.iter().enumerate() {
                work(&tx, item);
            }
            drop(tx);
        }
        writer.join().unwrap_or(0)
    })
}

/// Processes every input and returns the reports in input order.
///
/// ```no_run
/// use trichometry::{Config, Pipeline, batch::{self, BatchInput, BatchOptions}};
/// let pipeline = Pipeline::new(Config::default()).unwrap();
/// let inputs = vec![BatchInput::from_path("a.jpg"), BatchInput::from_path("b.png")];
/// let opts = BatchOptions { pixel_size_um: Some(5.0), ..Default::default() };
/// let reports = batch::run_collect(&pipeline, &inputs, &opts);
/// assert_eq!(reports.len(), 2);
/// ```
pub fn run_collect(
    pipeline: &Pipeline,
    inputs: &[BatchInput],
    opts: &BatchOptions,
) -> Vec<ImageReport> {
    let mut out = Vec::with_capacity(inputs.len());
    run(pipeline, inputs, opts, |_, r| out.push(r));
    out
}

/// File extensions searched for in input folders (matched case-insensitively).
pub const IMAGE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "png", "tif", "tiff", "bmp"];

/// Expands files and folders into inputs.
///
/// Files are taken as given, whatever their extension. Folders are searched
/// recursively for files with an [`IMAGE_EXTENSIONS`] extension (any case);
/// symbolic links inside folders are not followed; sub-folders named in
/// `skip_dirs` (e.g. the overlay folder) are skipped. The files found in each
/// folder are sorted bytewise by path, so the order is the same on every
/// machine.
///
/// # Errors
/// `not_found` when a given path does not exist, `io_error` when a folder cannot be read.
pub fn expand_inputs(paths: &[PathBuf], skip_dirs: &[PathBuf]) -> Result<Vec<BatchInput>> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| Error::from_io(e, p))?;
        if meta.is_dir() {
            let mut found = Vec::new();
            walk(p, skip_dirs, &mut found)?;
            found.sort_by(|a, b| {
                a.as_os_str()
                    .as_encoded_bytes()
                    .cmp(b.as_os_str().as_encoded_bytes())
            });
            out.extend(found.into_iter().map(BatchInput::from_path));
        } else {
            out.push(BatchInput::from_path(p.clone()));
        }
    }
    Ok(out)
}

fn is_image_name(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

fn walk(dir: &Path, skip_dirs: &[PathBuf], out: &mut Vec<PathBuf>) -> Result<()> {
    if skip_dirs.iter().any(|s| same_dir(s, dir)) {
        return Ok(());
    }
    let entries = std::fs::read_dir(dir).map_err(|e| Error::from_io(e, dir))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::from_io(e, dir))?;
        let ft = entry
            .file_type()
            .map_err(|e| Error::from_io(e, entry.path()))?;
        let path = entry.path();
        if ft.is_symlink() {
            continue;
        } else if ft.is_dir() {
            walk(&path, skip_dirs, out)?;
        } else if ft.is_file() && is_image_name(&path) {
            out.push(path);
        }
    }
    Ok(())
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// Columns of a count manifest that trichometry interprets; all others go to `meta`.
pub(crate) const ROI_COLUMNS: &[&str] = &[
    "roi_cx_px",
    "roi_cy_px",
    "roi_radius_um",
    "roi_x0_px",
    "roi_y0_px",
    "roi_x1_px",
    "roi_y1_px",
];

/// Reads a manifest CSV: a header row with an `image` column, optionally
/// `pixel_size_um` and the ROI columns (`roi_cx_px,roi_cy_px,roi_radius_um` for
/// a circle, `roi_x0_px,roi_y0_px,roi_x1_px,roi_y1_px` for a rectangle), and any
/// other columns, which are carried verbatim into each report's `meta` (ROI
/// columns included). Image paths are relative to the manifest's folder.
///
/// A problem confined to one row (empty image cell, non-numeric pixel size,
/// incomplete ROI) does not stop the batch: that row becomes an error record
/// naming its line number.
///
/// # Errors
/// `not_found`/`io_error` when the file cannot be read; `manifest_invalid` when
/// it is not CSV or has no `image` column.
pub fn read_manifest(path: &Path) -> Result<Vec<BatchInput>> {
    let text = std::fs::read(path).map_err(|e| Error::from_io(e, path))?;
    parse_manifest(&text, path.parent().unwrap_or(Path::new(""))).map_err(|e| e.with_path(path))
}

/// Opens manifest CSV bytes: a strict (non-ragged) reader with trimmed cells,
/// and the header names with any UTF-8 byte-order mark removed. Shared by the
/// count manifest and the study manifest.
///
/// # Errors
/// `manifest_invalid` (line 1) when the header row cannot be read.
pub(crate) fn manifest_reader(bytes: &[u8]) -> Result<(csv::Reader<&[u8]>, Vec<String>)> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| {
            Error::new(ErrorKind::Manifest {
                line: 1,
                reason: e.to_string(),
            })
        })?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_string())
        .collect();
    Ok((rdr, headers))
}

/// Parses manifest CSV bytes; relative image paths are joined onto `base_dir`.
/// See [`read_manifest`].
///
/// # Errors
/// `manifest_invalid` when the bytes are not CSV or have no `image` column.
pub fn parse_manifest(bytes: &[u8], base_dir: &Path) -> Result<Vec<BatchInput>> {
    let bad = |line: u64, reason: String| Error::new(ErrorKind::Manifest { line, reason });
    let (mut rdr, headers) = manifest_reader(bytes)?;
    let col = |name: &str| headers.iter().position(|h| h == name);
    let Some(image_col) = col("image") else {
        return Err(bad(
            1,
            format!("no `image` column (columns: {})", headers.join(",")),
        ));
    };
    let px_col = col("pixel_size_um");
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let line = i as u64 + 2;
        let rec = rec.map_err(|e| bad(line, e.to_string()))?;
        let get = |c: usize| rec.get(c).unwrap_or("").to_string();
        let image = get(image_col);
        let mut meta = IndexMap::new();
        for (c, h) in headers.iter().enumerate() {
            if c != image_col && Some(c) != px_col {
                meta.insert(h.clone(), get(c));
            }
        }
        let mut problem = None;
        if image.is_empty() {
            problem = Some(format!("manifest line {line}: empty `image` cell"));
        }
        let mut pixel_size_um = None;
        if let Some(c) = px_col {
            let v = get(c);
            if !v.is_empty() {
                match v.parse::<f64>() {
                    Ok(x) => pixel_size_um = Some(x),
                    Err(_) => {
                        problem.get_or_insert(format!(
                            "manifest line {line}: pixel_size_um `{v}` is not a number"
                        ));
                    }
                }
            }
        }
        let roi = match parse_roi_columns(&headers, &rec) {
            Ok(r) => r,
            Err(reason) => {
                problem.get_or_insert(format!("manifest line {line}: {reason}"));
                None
            }
        };
        let path = base_dir.join(&image);
        out.push(BatchInput {
            image,
            path,
            pixel_size_um,
            roi,
            meta,
            problem,
        });
    }
    Ok(out)
}

/// The ROI that a manifest row's `roi_*` cells give, `None` when they are
/// all empty or absent, or why they cannot make one.
pub(crate) fn parse_roi_columns(
    headers: &[String],
    rec: &csv::StringRecord,
) -> std::result::Result<Option<Roi>, String> {
    let mut vals: IndexMap<&str, f64> = IndexMap::new();
    for &name in ROI_COLUMNS {
        if let Some(c) = headers.iter().position(|h| h == name) {
            let v = rec.get(c).unwrap_or("");
            if !v.is_empty() {
                let x: f64 = v
                    .parse()
                    .map_err(|_| format!("{name} `{v}` is not a number"))?;
                if !x.is_finite() {
                    return Err(format!("{name} `{v}` is not finite"));
                }
                vals.insert(name, x);
            }
        }
    }
    if vals.is_empty() {
        return Ok(None);
    }
    let circle = ["roi_cx_px", "roi_cy_px", "roi_radius_um"];
    let rect = ["roi_x0_px", "roi_y0_px", "roi_x1_px", "roi_y1_px"];
    let has_all = |names: &[&str]| names.iter().all(|n| vals.contains_key(n));
    let has_any = |names: &[&str]| names.iter().any(|n| vals.contains_key(n));
    match (has_any(&circle), has_any(&rect)) {
        (true, true) => Err("both circle and rectangle ROI columns are filled".into()),
        (true, false) if has_all(&circle) => Ok(Some(Roi::Circle {
            cx_px: vals["roi_cx_px"],
            cy_px: vals["roi_cy_px"],
            radius_um: vals["roi_radius_um"],
        })),
        (false, true) if has_all(&rect) => Ok(Some(Roi::Rect {
            x0_px: vals["roi_x0_px"],
            y0_px: vals["roi_y0_px"],
            x1_px: vals["roi_x1_px"],
            y1_px: vals["roi_y1_px"],
        })),
        _ => Err("incomplete ROI: a circle needs roi_cx_px, roi_cy_px, roi_radius_um; a rectangle roi_x0_px, roi_y0_px, roi_x1_px, roi_y1_px".into()),
    }
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<Pipeline>();
    let _ = PixelScale::new;
}
