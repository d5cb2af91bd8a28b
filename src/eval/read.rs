//! Readers for truth and prediction files.
//!
//! In: a path (a file or a folder). Out: an [`AnnotationSet`]. The format is
//! recognised from the path and the content (see [`read_annotations`]).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{AnnotationSet, ImageRecord, Mark, PositionKind};
use crate::error::{Error, Result};

/// The formats the evaluator reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceFormat {
    /// The generator's `*.truth.json` sidecars (`docs/truth-format.md`).
    Sidecar,
    /// trichometry's JSON Lines (or JSON array) output.
    TrichometryJson,
    /// trichometry's `--format csv` output (one row per image).
    TrichometryCsv,
    /// Plain CSV counts: `image,count` and/or `image,density_per_cm2`, plus any columns.
    CountCsv,
    /// Pascal VOC XML, one file per image.
    Voc,
    /// COCO JSON (`images`, `annotations`).
    Coco,
    /// One CSV row per hair: `image,x,y` and/or `image,x_min,y_min,x_max,y_max`.
    HairCsv,
}

impl SourceFormat {
    /// The snake_case name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceFormat::Sidecar => "sidecar",
            SourceFormat::TrichometryJson => "trichometry_json",
            SourceFormat::TrichometryCsv => "trichometry_csv",
            SourceFormat::CountCsv => "count_csv",
            SourceFormat::Voc => "voc",
            SourceFormat::Coco => "coco",
            SourceFormat::HairCsv => "hair_csv",
        }
    }
}

/// Reads truth from `path`; the same as [`read_annotations`].
///
/// # Errors
/// See [`read_annotations`].
pub fn read_truth(path: impl AsRef<Path>) -> Result<AnnotationSet> {
    read_annotations(path)
}

/// Reads predictions from `path`; the same as [`read_annotations`].
///
/// Records of failed images (`error` non-null) are kept, with their error, so
/// that the evaluator can report them.
///
/// # Errors
/// See [`read_annotations`].
pub fn read_predictions(path: impl AsRef<Path>) -> Result<AnnotationSet> {
    read_annotations(path)
}

/// Reads a truth or prediction source, recognising its format.
///
/// * a folder: generator sidecars (`*.truth.json`, searched recursively) if it
///   holds any, else Pascal VOC files (`*.xml`, recursively);
/// * `*.truth.json`: one sidecar; `*.xml`: one VOC file;
/// * `*.jsonl`: trichometry JSON Lines; `*.json`: COCO if it has `images` and
///   `annotations`, a sidecar if it has `count_exit_in_area`, else trichometry
///   JSON (an array, or one object per line);
/// * `*.csv`: per-hair CSV if the header has `x,y` (or `exit_x,exit_y`) or
///   `x_min,y_min,x_max,y_max` (or `bbox_x_min`, ...); trichometry CSV if it has
///   `hair_count`; else count CSV (`count` and/or `density_per_cm2`).
///
/// Image names of sidecars and VOC files are made relative to the folder
/// given, so that images of the same name in different subfolders stay apart.
///
/// # Examples
/// ```
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("counts.csv");
/// std::fs::write(&path, "image,count,site\na.jpg,12,vertex\nb.jpg,0,vertex\n")?;
/// let set = trichometry::eval::read_truth(&path)?;
/// assert_eq!(set.records.len(), 2);
/// assert_eq!(set.records[0].count, Some(12.0));
/// assert_eq!(set.records[1].columns["site"], "vertex");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`crate::ErrorKind::NotFound`] or `Io` if the path cannot be read;
/// `InvalidInput` if the content is not one of the formats above or a required
/// field is missing or malformed. Every message names the file.
pub fn read_annotations(path: impl AsRef<Path>) -> Result<AnnotationSet> {
    let path = path.as_ref();
    let meta = fs::metadata(path).map_err(|e| Error::from_io(e, path))?;
    let source = path.display().to_string();
    if meta.is_dir() {
        let mut files = Vec::new();
        walk(path, &mut files).map_err(|e| Error::from_io(e, path))?;
        files.sort();
        let sidecars: Vec<&PathBuf> = files.iter().filter(|p| is_sidecar(p)).collect();
        if !sidecars.is_empty() {
            let mut records = Vec::with_capacity(sidecars.len());
            for p in sidecars {
                records.push(read_sidecar(p, path)?);
            }
            return Ok(set(
                source,
                SourceFormat::Sidecar,
                Some(PositionKind::Points),
                records,
            ));
        }
        let xmls: Vec<&PathBuf> = files.iter().filter(|p| has_ext(p, "xml")).collect();
        if !xmls.is_empty() {
            let mut records = Vec::with_capacity(xmls.len());
            for p in xmls {
                records.push(read_voc(p, Some(path))?);
            }
            return Ok(set(
                source,
                SourceFormat::Voc,
                Some(PositionKind::Boxes),
                records,
            ));
        }
        return Err(Error::invalid_input(
            "folder holds neither truth sidecars (*.truth.json) nor Pascal VOC files (*.xml)",
        )
        .with_path(path));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if is_sidecar(path) {
        let base = path.parent().unwrap_or(Path::new(""));
        let r = read_sidecar(path, base)?;
        return Ok(set(
            source,
            SourceFormat::Sidecar,
            Some(PositionKind::Points),
            vec![r],
        ));
    }
    if name.ends_with(".xml") {
        let r = read_voc(path, None)?;
        return Ok(set(
            source,
            SourceFormat::Voc,
            Some(PositionKind::Boxes),
            vec![r],
        ));
    }
    let text = fs::read_to_string(path).map_err(|e| Error::from_io(e, path))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    if name.ends_with(".csv") {
        return read_csv(text, source).map_err(|e| e.with_path(path));
    }
    if name.ends_with(".jsonl") || name.ends_with(".ndjson") {
        let records = read_trichometry_json(text).map_err(|e| e.with_path(path))?;
        return Ok(set(
            source,
            SourceFormat::TrichometryJson,
            Some(PositionKind::Points),
            records,
        ));
    }
    if name.ends_with(".json") {
        // One whole document (COCO, sidecar, array), or JSON Lines under a .json name.
        if let Ok(v) = serde_json::from_str::<Value>(text) {
            if v.get("images").is_some() && v.get("annotations").is_some() {
                return read_coco(&v, source).map_err(|e| e.with_path(path));
            }
            if v.get("count_exit_in_area").is_some() {
                let base = path.parent().unwrap_or(Path::new(""));
                let r = read_sidecar(path, base)?;
                return Ok(set(
                    source,
                    SourceFormat::Sidecar,
                    Some(PositionKind::Points),
                    vec![r],
                ));
            }
        }
        let records = read_trichometry_json(text).map_err(|e| e.with_path(path))?;
        return Ok(set(
            source,
            SourceFormat::TrichometryJson,
            Some(PositionKind::Points),
            records,
        ));
    }
    Err(Error::invalid_input(
        "unrecognised file type: expected a folder, *.truth.json, *.json, *.jsonl, *.csv or *.xml",
    )
    .with_path(path))
}

fn set(
    source: String,
    format: SourceFormat,
    positions: Option<PositionKind>,
    records: Vec<ImageRecord>,
) -> AnnotationSet {
    AnnotationSet {
        source,
        format,
        positions,
        records,
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let ft = entry.file_type()?;
        if ft.is_dir() {
            walk(&entry.path(), out)?;
        } else if ft.is_file() {
            out.push(entry.path());
        }
    }
    Ok(())
}

fn is_sidecar(p: &Path) -> bool {
    p.file_name()
        .map(|n| n.to_string_lossy().to_lowercase().ends_with(".truth.json"))
        .unwrap_or(false)
}

fn has_ext(p: &Path, ext: &str) -> bool {
    p.extension()
        .map(|e| e.to_string_lossy().eq_ignore_ascii_case(ext))
        .unwrap_or(false)
}

/// `path` relative to `base`, with `/` separators (the path itself if not under `base`).
fn relative_name(path: &Path, base: &Path) -> String {
    let rel = path.strip_prefix(base).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

fn bad(reason: impl Into<String>) -> Error {
    Error::invalid_input(reason)
}

// ---------------------------------------------------------------- sidecars

#[derive(Deserialize)]
struct Sidecar {
    image: String,
    #[serde(default)]
    scenario: Option<String>,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    index: Option<u32>,
    #[serde(default)]
    generator_version: Option<String>,
    width: u32,
    height: u32,
    pixel_size_um: f64,
    count_exit_in_area: u32,
    #[serde(default)]
    density_per_cm2: Option<f64>,
    hairs: Vec<SidecarHair>,
}

#[derive(Deserialize)]
struct SidecarHair {
    exit: [f64; 2],
    diameter_um: f64,
    in_area: bool,
    #[serde(default)]
    bbox: Option<[u32; 4]>,
}

/// Reads one sidecar; the image name is made relative to `base`.
fn read_sidecar(path: &Path, base: &Path) -> Result<ImageRecord> {
    let text = fs::read_to_string(path).map_err(|e| Error::from_io(e, path))?;
    let s: Sidecar = serde_json::from_str(&text)
        .map_err(|e| bad(format!("not a truth sidecar: {e}")).with_path(path))?;
    let dir = path.parent().unwrap_or(Path::new(""));
    let mut r = ImageRecord::new(relative_name(&dir.join(&s.image), base));
    r.count = Some(f64::from(s.count_exit_in_area));
    r.density_per_cm2 = s.density_per_cm2;
    r.pixel_size_um = Some(s.pixel_size_um);
    r.width = Some(s.width);
    r.height = Some(s.height);
    r.marks = Some(
        s.hairs
            .iter()
            .filter(|h| h.in_area)
            .map(|h| Mark {
                point: Some(h.exit),
                bbox: h.bbox.map(|b| b.map(f64::from)),
                diameter_um: Some(h.diameter_um),
            })
            .collect(),
    );
    if let Some(sc) = s.scenario {
        r.columns.insert("scenario".into(), sc);
    }
    if let Some(i) = s.index {
        r.columns.insert("index".into(), i.to_string());
    }
    if let Some(seed) = s.seed {
        r.columns.insert("seed".into(), seed.to_string());
    }
    if let Some(v) = s.generator_version {
        r.columns.insert("generator_version".into(), v);
    }
    Ok(r)
}

// ---------------------------------------------------------------- trichometry JSON

#[derive(Deserialize)]
struct PredLine {
    image: String,
    #[serde(default)]
    width: Option<u32>,
    #[serde(default)]
    height: Option<u32>,
    #[serde(default)]
    pixel_size_um: Option<f64>,
    #[serde(default)]
    hair_count: Option<f64>,
    #[serde(default)]
    density_per_cm2: Option<f64>,
    #[serde(default)]
    hairs: Option<Vec<PredHair>>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    meta: Option<IndexMap<String, Value>>,
}

#[derive(Deserialize)]
struct PredHair {
    exit: [f64; 2],
    #[serde(default)]
    bbox: Option<[f64; 4]>,
    #[serde(default)]
    diameter_um: Option<f64>,
}

fn value_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// trichometry's JSON Lines, or a JSON array of records.
fn read_trichometry_json(text: &str) -> Result<Vec<ImageRecord>> {
    let values: Vec<(usize, Value)> = if text.trim_start().starts_with('[') {
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Array(a)) => a.into_iter().enumerate().map(|(i, v)| (i + 1, v)).collect(),
            Ok(_) => return Err(bad("expected a JSON array of image records")),
            Err(e) => return Err(bad(format!("invalid JSON: {e}"))),
        }
    } else {
        let mut out = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let v: Value = serde_json::from_str(line)
                .map_err(|e| bad(format!("line {}: invalid JSON: {e}", i + 1)))?;
            out.push((i + 1, v));
        }
        out
    };
    let mut records = Vec::with_capacity(values.len());
    for (line, v) in values {
        // Marker lines such as {"interrupted": true, ...} are not images.
        if v.get("image").is_none() && v.get("interrupted").is_some() {
            continue;
        }
        let p: PredLine = serde_json::from_value(v)
            .map_err(|e| bad(format!("record {line}: not an image record: {e}")))?;
        let mut r = ImageRecord::new(p.image);
        r.count = p.hair_count;
        r.density_per_cm2 = p.density_per_cm2;
        r.pixel_size_um = p.pixel_size_um;
        r.width = p.width;
        r.height = p.height;
        r.marks = p.hairs.map(|hs| {
            hs.into_iter()
                .map(|h| Mark {
                    point: Some(h.exit),
                    bbox: h.bbox,
                    diameter_um: h.diameter_um,
                })
                .collect()
        });
        r.error = p.error;
        if let Some(meta) = p.meta {
            for (k, v) in meta {
                r.columns.insert(k, value_string(&v));
            }
        }
        records.push(r);
    }
    Ok(records)
}

// ---------------------------------------------------------------- CSV

fn parse_opt_f64(s: &str, col: &str, line: u64) -> Result<Option<f64>> {
    let s = s.trim();
    if s.is_empty() || s.eq_ignore_ascii_case("na") || s.eq_ignore_ascii_case("null") {
        return Ok(None);
    }
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(Some(v)),
        _ => Err(bad(format!(
            "line {line}: column `{col}`: `{s}` is not a number"
        ))),
    }
}

fn parse_opt_u32(s: &str, col: &str, line: u64) -> Result<Option<u32>> {
    match parse_opt_f64(s, col, line)? {
        None => Ok(None),
        Some(v) if v >= 0.0 && v.fract() == 0.0 && v <= f64::from(u32::MAX) => Ok(Some(v as u32)),
        Some(v) => Err(bad(format!(
            "line {line}: column `{col}`: `{v}` is not a pixel count"
        ))),
    }
}

/// The per-image columns of trichometry's `--format csv` output (`report::CsvRow`).
const TRICHOMETRY_CSV_COLUMNS: &[&str] = &[
    "image",
    "width",
    "height",
    "pixel_size_um",
    "calibration_source",
    "field_area_cm2",
    "analysed_area_cm2",
    "hair_count",
    "density_per_cm2",
    "density_ci95_low",
    "density_ci95_high",
    "vellus_count",
    "intermediate_count",
    "terminal_count",
    "non_vellus_count",
    "vellus_density_per_cm2",
    "intermediate_density_per_cm2",
    "terminal_density_per_cm2",
    "non_vellus_density_per_cm2",
    "mean_diameter_um",
    "median_diameter_um",
    "blur_sigma_um",
    "cumulative_thickness_mm_per_cm2",
    "non_vellus_cumulative_width_um_per_cm2",
    "follicular_units",
    "fu_density_per_cm2",
    "hairs_per_unit_mean",
    "single_hair_unit_share",
    "qc_flags",
    "error",
    "error_kind",
    "input_sha256",
    "crate_version",
    "config_hash",
];

fn read_csv(text: &str, source: String) -> Result<AnnotationSet> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| bad(format!("CSV header: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let col = |names: &[&str]| -> Option<usize> {
        names
            .iter()
            .find_map(|n| headers.iter().position(|h| h.eq_ignore_ascii_case(n)))
    };
    let image = col(&["image", "filename", "file_name", "file"])
        .ok_or_else(|| bad("CSV has no `image` column"))?;
    let x = col(&["x", "exit_x"]);
    let y = col(&["y", "exit_y"]);
    let bx = [
        col(&["x_min", "xmin", "bbox_x_min"]),
        col(&["y_min", "ymin", "bbox_y_min"]),
        col(&["x_max", "xmax", "bbox_x_max"]),
        col(&["y_max", "ymax", "bbox_y_max"]),
    ];
    let has_points = x.is_some() && y.is_some();
    let has_boxes = bx.iter().all(Option::is_some);
    let mut rows: Vec<(u64, csv::StringRecord)> = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let line = i as u64 + 2;
        let rec = rec.map_err(|e| bad(format!("line {line}: {e}")))?;
        rows.push((line, rec));
    }
    if has_points || has_boxes {
        return read_hair_csv(&headers, rows, image, x.zip(y), bx, has_boxes, source);
    }
    let trich = col(&["hair_count"]).is_some();
    let count = col(&["hair_count", "count"]);
    let density = col(&["density_per_cm2"]);
    if count.is_none() && density.is_none() {
        return Err(bad(
            "CSV has none of the columns `count`, `density_per_cm2`, `hair_count`, `x,y` or `x_min,y_min,x_max,y_max`",
        ));
    }
    let pixel = col(&["pixel_size_um"]);
    let width = col(&["width"]);
    let height = col(&["height"]);
    let error = col(&["error"]);
    let mut reserved: Vec<usize> = [Some(image), count, density, pixel, width, height, error]
        .into_iter()
        .flatten()
        .collect();
    if trich {
        // trichometry's own measurement columns are not grouping columns; the
        // manifest's extra columns after them are.
        reserved.extend(
            headers
                .iter()
                .enumerate()
                .filter(|(_, h)| TRICHOMETRY_CSV_COLUMNS.contains(&h.as_str()))
                .map(|(i, _)| i),
        );
    }
    let mut records = Vec::with_capacity(rows.len());
    for (line, rec) in rows {
        let get = |c: usize| rec.get(c).unwrap_or("");
        let name = get(image).trim();
        if name.is_empty() {
            return Err(bad(format!("line {line}: empty `image`")));
        }
        let mut r = ImageRecord::new(name);
        r.error = error
            .map(get)
            .filter(|s| !s.trim().is_empty())
            .map(str::to_string);
        if r.error.is_none() {
            if let Some(c) = count {
                r.count = parse_opt_f64(get(c), &headers[c], line)?;
            }
            if let Some(c) = density {
                r.density_per_cm2 = parse_opt_f64(get(c), &headers[c], line)?;
            }
            if let Some(c) = pixel {
                r.pixel_size_um = parse_opt_f64(get(c), &headers[c], line)?;
            }
            if let Some(c) = width {
                r.width = parse_opt_u32(get(c), &headers[c], line)?;
            }
            if let Some(c) = height {
                r.height = parse_opt_u32(get(c), &headers[c], line)?;
            }
        }
        for (c, h) in headers.iter().enumerate() {
            if !reserved.contains(&c) {
                r.columns.insert(h.clone(), get(c).to_string());
            }
        }
        records.push(r);
    }
    let format = if trich {
        SourceFormat::TrichometryCsv
    } else {
        SourceFormat::CountCsv
    };
    Ok(set(source, format, None, records))
}

fn read_hair_csv(
    headers: &[String],
    rows: Vec<(u64, csv::StringRecord)>,
    image: usize,
    xy: Option<(usize, usize)>,
    bx: [Option<usize>; 4],
    has_boxes: bool,
    source: String,
) -> Result<AnnotationSet> {
    let diameter = headers
        .iter()
        .position(|h| h.eq_ignore_ascii_case("diameter_um"));
    let pixel = headers
        .iter()
        .position(|h| h.eq_ignore_ascii_case("pixel_size_um"));
    let coord_cols: Vec<usize> = xy
        .map(|(a, b)| vec![a, b])
        .unwrap_or_default()
        .into_iter()
        .chain(bx.iter().flatten().copied())
        .collect();
    // Per-hair columns of trichometry's --hairs-csv that are not grouping columns.
    let per_hair = [
        "id",
        "unit_id",
        "class",
        "diameter_um",
        "length_um",
        "tip_x",
        "tip_y",
    ];
    let mut by_image: IndexMap<String, ImageRecord> = IndexMap::new();
    for (line, rec) in rows {
        let get = |c: usize| rec.get(c).unwrap_or("");
        let name = get(image).trim().to_string();
        if name.is_empty() {
            return Err(bad(format!("line {line}: empty `image`")));
        }
        let r = by_image.entry(name.clone()).or_insert_with(|| {
            let mut r = ImageRecord::new(name);
            r.marks = Some(Vec::new());
            r
        });
        let point = match xy {
            Some((cx, cy)) => {
                match (
                    parse_opt_f64(get(cx), &headers[cx], line)?,
                    parse_opt_f64(get(cy), &headers[cy], line)?,
                ) {
                    (Some(px), Some(py)) => Some([px, py]),
                    (None, None) => None,
                    _ => return Err(bad(format!("line {line}: only one of x, y given"))),
                }
            }
            None => None,
        };
        let bbox = if has_boxes {
            let mut b = [0.0; 4];
            let mut n = 0;
            for (k, c) in bx.iter().flatten().enumerate() {
                if let Some(v) = parse_opt_f64(get(*c), &headers[*c], line)? {
                    b[k] = v;
                    n += 1;
                }
            }
            match n {
                0 => None,
                4 => Some(normalise_box(b)),
                _ => return Err(bad(format!("line {line}: incomplete box"))),
            }
        } else {
            None
        };
        if let (Some(c), None) = (pixel, r.pixel_size_um) {
            r.pixel_size_um = parse_opt_f64(get(c), &headers[c], line)?;
        }
        for (c, h) in headers.iter().enumerate() {
            if c == image
                || coord_cols.contains(&c)
                || Some(c) == pixel
                || per_hair.iter().any(|p| h.eq_ignore_ascii_case(p))
            {
                continue;
            }
            r.columns
                .entry(h.clone())
                .or_insert_with(|| get(c).to_string());
        }
        if point.is_none() && bbox.is_none() {
            // A row without coordinates lists an image with no hairs.
            continue;
        }
        let diameter_um = match diameter {
            Some(c) => parse_opt_f64(get(c), &headers[c], line)?,
            None => None,
        };
        if let Some(m) = r.marks.as_mut() {
            m.push(Mark {
                point,
                bbox,
                diameter_um,
            });
        }
    }
    let records: Vec<ImageRecord> = by_image
        .into_values()
        .map(|mut r| {
            r.count = r.marks.as_ref().map(|m| m.len() as f64);
            r
        })
        .collect();
    let positions = if xy.is_some() {
        PositionKind::Points
    } else {
        PositionKind::Boxes
    };
    Ok(set(source, SourceFormat::HairCsv, Some(positions), records))
}

/// Orders a box's corners (`x_min > x_max` happens in real annotation files).
fn normalise_box(b: [f64; 4]) -> [f64; 4] {
    [
        b[0].min(b[2]),
        b[1].min(b[3]),
        b[0].max(b[2]),
        b[1].max(b[3]),
    ]
}

// ---------------------------------------------------------------- Pascal VOC

/// Reads one Pascal VOC file. The image name is `<filename>`, placed in the
/// XML file's folder relative to `base` when reading a folder.
///
/// Coordinates are taken as written (VOC's devkit counts pixels from 1, many
/// tools from 0; the one-pixel difference is left to the IoU gate).
fn read_voc(path: &Path, base: Option<&Path>) -> Result<ImageRecord> {
    use quick_xml::events::Event;
    let text = fs::read_to_string(path).map_err(|e| Error::from_io(e, path))?;
    let err = |m: String| bad(m).with_path(path);
    let mut reader = quick_xml::Reader::from_str(&text);
    let mut stack: Vec<String> = Vec::new();
    let mut filename: Option<String> = None;
    let mut width = None;
    let mut height = None;
    let mut boxes = Vec::new();
    let mut cur: [Option<f64>; 4] = [None; 4];
    let mut in_box = false;
    let mut text_buf = String::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if name == "bndbox" && stack.last().map(String::as_str) == Some("object") {
                    in_box = true;
                    cur = [None; 4];
                }
                stack.push(name);
                text_buf.clear();
            }
            Ok(Event::Text(t)) => {
                let s = t.decode().map_err(|e| err(format!("XML text: {e}")))?;
                text_buf.push_str(&s);
            }
            Ok(Event::GeneralRef(r)) => {
                let name = r.decode().map_err(|e| err(format!("XML text: {e}")))?;
                let entity = format!("&{name};");
                let s = quick_xml::escape::unescape(&entity)
                    .map(|c| c.into_owned())
                    .unwrap_or(entity);
                text_buf.push_str(&s);
            }
            Ok(Event::CData(t)) => {
                text_buf.push_str(&String::from_utf8_lossy(&t));
            }
            Ok(Event::End(_)) => {
                let name = stack.pop().unwrap_or_default();
                let parent = stack.last().map(String::as_str);
                let value = text_buf.trim().to_string();
                let num = |v: &str| -> Result<f64> {
                    v.parse::<f64>()
                        .ok()
                        .filter(|x| x.is_finite())
                        .ok_or_else(|| err(format!("<{name}>: `{v}` is not a number")))
                };
                match (parent, name.as_str()) {
                    (Some("annotation"), "filename") => filename = Some(value),
                    (Some("size"), "width") => width = Some(num(&value)? as u32),
                    (Some("size"), "height") => height = Some(num(&value)? as u32),
                    (Some("bndbox"), n) if in_box => {
                        let k = match n {
                            "xmin" => Some(0),
                            "ymin" => Some(1),
                            "xmax" => Some(2),
                            "ymax" => Some(3),
                            _ => None,
                        };
                        if let Some(k) = k {
                            cur[k] = Some(num(&value)?);
                        }
                    }
                    (Some("object"), "bndbox") if in_box => {
                        in_box = false;
                        match cur {
                            [Some(a), Some(b), Some(c), Some(d)] => {
                                boxes.push(normalise_box([a, b, c, d]))
                            }
                            _ => {
                                return Err(err(
                                    "<bndbox> lacks one of xmin, ymin, xmax, ymax".into()
                                ))
                            }
                        }
                    }
                    _ => {}
                }
                text_buf.clear();
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => return Err(err(format!("invalid XML: {e}"))),
        }
    }
    let stem_name = || {
        path.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let file = filename.filter(|f| !f.is_empty()).unwrap_or_else(stem_name);
    let image = match base {
        Some(b) => relative_name(&path.parent().unwrap_or(Path::new("")).join(&file), b),
        None => file,
    };
    let mut r = ImageRecord::new(image);
    r.width = width;
    r.height = height;
    r.count = Some(boxes.len() as f64);
    r.marks = Some(
        boxes
            .into_iter()
            .map(|b| Mark {
                point: None,
                bbox: Some(b),
                diameter_um: None,
            })
            .collect(),
    );
    Ok(r)
}

// ---------------------------------------------------------------- COCO

#[derive(Deserialize)]
struct Coco {
    images: Vec<CocoImage>,
    annotations: Vec<CocoAnnotation>,
}

#[derive(Deserialize)]
struct CocoImage {
    id: Value,
    file_name: String,
    #[serde(default)]
    width: Option<u32>,
    #[serde(default)]
    height: Option<u32>,
}

#[derive(Deserialize)]
struct CocoAnnotation {
    image_id: Value,
    #[serde(default)]
    bbox: Option<[f64; 4]>,
    #[serde(default)]
    keypoints: Option<Vec<f64>>,
}

/// COCO: `bbox` is `[x, y, w, h]`, turned into the inclusive
/// `[x, y, x + w − 1, y + h − 1]`; the first labelled keypoint (`v > 0`) is the
/// hair's point.
fn read_coco(v: &Value, source: String) -> Result<AnnotationSet> {
    let coco: Coco =
        serde_json::from_value(v.clone()).map_err(|e| bad(format!("not COCO JSON: {e}")))?;
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let mut records = Vec::with_capacity(coco.images.len());
    for im in coco.images {
        index.insert(value_string(&im.id), records.len());
        let mut r = ImageRecord::new(im.file_name);
        r.width = im.width;
        r.height = im.height;
        r.marks = Some(Vec::new());
        records.push(r);
    }
    let mut all_points = true;
    for (i, a) in coco.annotations.iter().enumerate() {
        let id = value_string(&a.image_id);
        let k = *index
            .get(&id)
            .ok_or_else(|| bad(format!("annotation {i}: unknown image_id {id}")))?;
        let point = a.keypoints.as_ref().and_then(|kp| {
            kp.chunks_exact(3)
                .find(|c| c[2] > 0.0)
                .map(|c| [c[0], c[1]])
        });
        let bbox = a.bbox.map(|b| {
            normalise_box([
                b[0],
                b[1],
                b[0] + (b[2] - 1.0).max(0.0),
                b[1] + (b[3] - 1.0).max(0.0),
            ])
        });
        if point.is_none() && bbox.is_none() {
            return Err(bad(format!("annotation {i}: neither bbox nor keypoints")));
        }
        all_points &= point.is_some();
        if let Some(m) = records[k].marks.as_mut() {
            m.push(Mark {
                point,
                bbox,
                diameter_um: None,
            });
        }
    }
    for r in &mut records {
        r.count = r.marks.as_ref().map(|m| m.len() as f64);
    }
    let positions = if all_points && !coco.annotations.is_empty() {
        PositionKind::Points
    } else {
        PositionKind::Boxes
    };
    Ok(set(source, SourceFormat::Coco, Some(positions), records))
}

// ---------------------------------------------------------------- ignore regions

/// Regions in which unmatched predictions are not counted as false positives.
///
/// Read from a CSV with columns `image,x_min,y_min,x_max,y_max` (inclusive
/// pixel rectangles, several rows per image allowed).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IgnoreRegions {
    /// Image name → rectangles `[x_min, y_min, x_max, y_max]`, inclusive, pixels.
    pub regions: IndexMap<String, Vec<[f64; 4]>>,
}

impl IgnoreRegions {
    /// Rectangles of the image matching `image` (by file name, falling back to its stem).
    pub fn for_image(&self, image: &str) -> &[[f64; 4]] {
        let base = super::evaluate::basename(image);
        let stem = super::evaluate::stem(base);
        self.regions
            .iter()
            .find(|(k, _)| super::evaluate::basename(k) == base)
            .or_else(|| {
                self.regions
                    .iter()
                    .find(|(k, _)| super::evaluate::stem(super::evaluate::basename(k)) == stem)
            })
            .map(|(_, v)| v.as_slice())
            .unwrap_or(&[])
    }

    /// True when `p` lies in one of the image's rectangles (bounds inclusive).
    pub fn contains(&self, image: &str, p: [f64; 2]) -> bool {
        self.for_image(image)
            .iter()
            .any(|r| p[0] >= r[0] && p[0] <= r[2] && p[1] >= r[1] && p[1] <= r[3])
    }
}

/// Reads ignore regions from a CSV `image,x_min,y_min,x_max,y_max`.
///
/// # Errors
/// `NotFound`/`Io` if the file cannot be read, `InvalidInput` if a column is
/// missing or a value is not a number.
pub fn read_ignore_regions(path: impl AsRef<Path>) -> Result<IgnoreRegions> {
    let path = path.as_ref();
    let text = fs::read_to_string(path).map_err(|e| Error::from_io(e, path))?;
    let set = read_csv(
        text.strip_prefix('\u{feff}').unwrap_or(&text),
        String::new(),
    )
    .map_err(|e| e.with_path(path))?;
    let mut out = IgnoreRegions::default();
    for r in set.records {
        let boxes: Vec<[f64; 4]> = r
            .marks
            .unwrap_or_default()
            .iter()
            .filter_map(|m| m.bbox)
            .collect();
        if set.positions != Some(PositionKind::Boxes) {
            return Err(
                bad("ignore regions need columns image,x_min,y_min,x_max,y_max").with_path(path),
            );
        }
        out.regions.entry(r.image).or_default().extend(boxes);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The list of trichometry's own CSV columns is exactly the header that
    // `report::CsvRow` writes, so a new report column cannot be mistaken for
    // a grouping column.
    #[test]
    fn csv_columns_match_report_rows() {
        let prov = crate::report::Provenance {
            crate_version: String::new(),
            config_hash: String::new(),
            calibration_source: None,
        };
        let r = crate::report::ImageReport::empty("a".into(), Default::default(), prov);
        let mut w = csv::Writer::from_writer(vec![]);
        w.serialize(crate::report::CsvRow::from(&r)).unwrap();
        let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
        let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
        assert_eq!(header, TRICHOMETRY_CSV_COLUMNS);
    }
}
