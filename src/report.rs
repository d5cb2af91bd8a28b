//! Per-image reports: the record trichometry writes for every input.
//!
//! In: a [`crate::pipeline::Analysis`] (or an [`Error`]) plus what identifies
//! the input. Out: an [`ImageReport`], serialised as one JSON object per image
//! (JSON Lines), or as one CSV row of scalars per image ([`CsvRow`]) and one
//! CSV row per hair ([`HairCsvRow`]). The field names are a contract, written
//! down as a JSON Schema in `docs/report.schema.json`; a test validates the
//! CLI's output against it. On an error record every measurement field is null.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::calibrate::CalibrationSource;
use crate::error::{Error, ErrorKind};

/// Version of the report schema. Bumped on any breaking change of field names or meaning.
pub const SCHEMA_VERSION: u32 = 1;

/// Diameter class of a hair shaft (see [`crate::pipeline::measure::ClassConfig`] for cut-offs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HairClass {
    /// Thin, usually unpigmented hair (default: diameter < 30 µm).
    Vellus,
    /// Between vellus and terminal (default: 30 µm ≤ diameter ≤ 60 µm).
    Intermediate,
    /// Thick pigmented hair (default: diameter > 60 µm).
    Terminal,
}

impl HairClass {
    /// The snake_case name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            HairClass::Vellus => "vellus",
            HairClass::Intermediate => "intermediate",
            HairClass::Terminal => "terminal",
        }
    }
}

/// One counted hair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hair {
    /// 1-based number, in the order of the report's `hairs` list (and of overlay labels).
    pub id: u32,
    /// Follicular unit this hair belongs to (hairs sharing an exit point share a unit), 1-based.
    pub unit_id: u32,
    /// Diameter class, or null where the resolution is too coarse to tell.
    pub class: Option<HairClass>,
    /// Shaft diameter in µm (median across the shaft's length).
    pub diameter_um: f64,
    /// Visible length from exit point to tip along the shaft, in µm.
    pub length_um: f64,
    /// Estimated exit point (follicular opening), `[x, y]` in pixels.
    pub exit: [f64; 2],
    /// Estimated tip (the cut end), `[x, y]` in pixels.
    pub tip: [f64; 2],
    /// `[x_min, y_min, x_max, y_max]` in pixels, inclusive, around the visible shaft.
    pub bbox: [u32; 4],
}

/// A region of interest: the target area in which hairs are counted.
///
/// Coordinates are pixels after EXIF orientation, origin top-left.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "shape", rename_all = "snake_case")]
pub enum Roi {
    /// A circle with centre in pixels and radius in µm.
    Circle {
        /// Centre x, pixels.
        cx_px: f64,
        /// Centre y, pixels.
        cy_px: f64,
        /// Radius, µm.
        radius_um: f64,
    },
    /// A rectangle `[x0, x1) × [y0, y1)` in pixels.
    Rect {
        /// Left edge, pixels (inclusive).
        x0_px: f64,
        /// Top edge, pixels (inclusive).
        y0_px: f64,
        /// Right edge, pixels (exclusive).
        x1_px: f64,
        /// Bottom edge, pixels (exclusive).
        y1_px: f64,
    },
    /// A circle of the given area centred on the detected tattoo dot (or the image centre).
    CentredArea {
        /// Area of the circle, cm².
        area_cm2: f64,
    },
}

/// Reproducibility record carried by every report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// Version of the trichometry crate that wrote the report.
    pub crate_version: String,
    /// First 16 hex digits of the SHA-256 of the configuration's canonical JSON.
    pub config_hash: String,
    /// Where the pixel size came from: `manifest`, `flag` or `config` (null when missing).
    pub calibration_source: Option<CalibrationSource>,
}

/// The record for one input image: a result, or an error with null measurements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageReport {
    /// Version of this schema ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// The input string verbatim (the manifest's value or the path given).
    pub image: String,
    /// Lower-case hex SHA-256 of the file's bytes (null when the file could not be read).
    pub input_sha256: Option<String>,
    /// Width after orientation, pixels.
    pub width: Option<u32>,
    /// Height after orientation, pixels.
    pub height: Option<u32>,
    /// Pixel size, µm/px.
    pub pixel_size_um: Option<f64>,
    /// Where the pixel size came from (also in `provenance`).
    pub calibration_source: Option<CalibrationSource>,
    /// Area of the whole frame, cm².
    pub field_area_cm2: Option<f64>,
    /// Area analysed (the ROI if any, less what cannot be seen), cm².
    pub analysed_area_cm2: Option<f64>,
    /// The region of interest as applied (clipped to the image), if one was given.
    pub roi: Option<Roi>,
    /// Hairs counted for the analysed area; equals `hairs.len()`.
    pub hair_count: Option<u32>,
    /// Hairs per cm² of analysed area (includes any fractional edge correction).
    pub density_per_cm2: Option<f64>,
    /// 95% sampling interval of the density, `[low, high]` hairs/cm².
    pub density_ci95: Option<[f64; 2]>,
    /// Hairs with diameter below the vellus cut-off.
    pub vellus_count: Option<u32>,
    /// Hairs between the cut-offs (null in two-class mode).
    pub intermediate_count: Option<u32>,
    /// Hairs above the terminal cut-off.
    pub terminal_count: Option<u32>,
    /// Hairs that are not vellus.
    pub non_vellus_count: Option<u32>,
    /// Vellus hairs per cm² of analysed area.
    #[serde(default)]
    pub vellus_density_per_cm2: Option<f64>,
    /// Intermediate hairs per cm² (null in two-class mode).
    #[serde(default)]
    pub intermediate_density_per_cm2: Option<f64>,
    /// Terminal hairs per cm².
    #[serde(default)]
    pub terminal_density_per_cm2: Option<f64>,
    /// Non-vellus hairs per cm²: trials' target-area hair count per cm².
    #[serde(default)]
    pub non_vellus_density_per_cm2: Option<f64>,
    /// Mean shaft diameter over counted hairs, µm.
    pub mean_diameter_um: Option<f64>,
    /// Median shaft diameter over counted hairs, µm.
    pub median_diameter_um: Option<f64>,
    /// Counted hairs by diameter, in bins [`DIAMETER_BIN_UM`] wide from 0 µm;
    /// the last bin is open-ended (≥ `lower_um`).
    #[serde(default)]
    pub diameter_histogram: Option<Vec<HistogramBin>>,
    /// Gaussian σ of the image's blur read from its shafts' edges, µm, with
    /// which diameters were corrected; null when no shaft was wide enough to
    /// read it (diameters are then optical widths).
    #[serde(default)]
    pub blur_sigma_um: Option<f64>,
    /// Sum of diameters of all counted hairs per cm², mm/cm².
    pub cumulative_thickness_mm_per_cm2: Option<f64>,
    /// Sum of diameters of non-vellus hairs per cm², µm/cm².
    pub non_vellus_cumulative_width_um_per_cm2: Option<f64>,
    /// Number of follicular units among the counted hairs.
    pub follicular_units: Option<u32>,
    /// Follicular units per cm² of analysed area.
    pub fu_density_per_cm2: Option<f64>,
    /// Mean number of hairs per follicular unit.
    pub hairs_per_unit_mean: Option<f64>,
    /// Follicular units holding 1, 2, 3 and 4 or more hairs.
    #[serde(default)]
    pub units_by_hairs: Option<[u32; 4]>,
    /// Share (0–1) of follicular units that hold a single hair.
    #[serde(default)]
    pub single_hair_unit_share: Option<f64>,
    /// One entry per counted hair (null on an error record).
    pub hairs: Option<Vec<Hair>>,
    /// The decision trail: one entry per connected component, with why it
    /// was counted as some number of hairs or rejected. Present only when
    /// asked for ([`crate::batch::BatchOptions::decision_trail`], CLI
    /// `--detail`); absent from the record otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<crate::pipeline::ComponentDecision>>,
    /// Quality flags for reviewers; never change the count.
    pub qc_flags: Vec<String>,
    /// Null, or a message naming the file and the problem.
    pub error: Option<String>,
    /// Null, or a stable snake_case code (see [`Error::code`]).
    pub error_kind: Option<String>,
    /// The manifest's extra columns, as given.
    pub meta: IndexMap<String, String>,
    /// Reproducibility record.
    pub provenance: Provenance,
}

impl ImageReport {
    /// An error record: every measurement field null, `error` and `error_kind` set.
    pub fn from_error(
        image: impl Into<String>,
        err: &Error,
        input_sha256: Option<String>,
        meta: IndexMap<String, String>,
        provenance: Provenance,
    ) -> Self {
        let mut r = ImageReport::empty(image.into(), meta, provenance);
        r.input_sha256 = input_sha256;
        r.error = Some(err.to_string());
        r.error_kind = Some(err.code().to_string());
        if matches!(err.kind(), ErrorKind::CalibrationMissing) {
            // The one quality flag an error record carries: the image may
            // be fine, it only needs a pixel size.
            r.qc_flags.push("missing_calibration".to_string());
        }
        r
    }

    /// A record with every optional field null.
    pub fn empty(image: String, meta: IndexMap<String, String>, provenance: Provenance) -> Self {
        ImageReport {
            schema_version: SCHEMA_VERSION,
            image,
            input_sha256: None,
            width: None,
            height: None,
            pixel_size_um: None,
            calibration_source: provenance.calibration_source,
            field_area_cm2: None,
            analysed_area_cm2: None,
            roi: None,
            hair_count: None,
            density_per_cm2: None,
            density_ci95: None,
            vellus_count: None,
            intermediate_count: None,
            terminal_count: None,
            non_vellus_count: None,
            vellus_density_per_cm2: None,
            intermediate_density_per_cm2: None,
            terminal_density_per_cm2: None,
            non_vellus_density_per_cm2: None,
            mean_diameter_um: None,
            median_diameter_um: None,
            diameter_histogram: None,
            blur_sigma_um: None,
            cumulative_thickness_mm_per_cm2: None,
            non_vellus_cumulative_width_um_per_cm2: None,
            follicular_units: None,
            fu_density_per_cm2: None,
            hairs_per_unit_mean: None,
            units_by_hairs: None,
            single_hair_unit_share: None,
            hairs: None,
            components: None,
            qc_flags: Vec::new(),
            error: None,
            error_kind: None,
            meta,
            provenance,
        }
    }

    /// True when this is an error record.
    pub fn is_error(&self) -> bool {
        self.error.is_some()
    }
}

/// Width of a [`HistogramBin`] of diameters, µm.
pub const DIAMETER_BIN_UM: f64 = 10.0;
/// Lower edge of the open-ended last diameter bin, µm.
pub const DIAMETER_HISTOGRAM_MAX_UM: f64 = 150.0;

/// One bin of the diameter histogram: hairs with `lower_um ≤ d < upper_um`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistogramBin {
    /// Lower edge, µm (inclusive).
    pub lower_um: f64,
    /// Upper edge, µm (exclusive); null for the open-ended last bin.
    pub upper_um: Option<f64>,
    /// Hairs in the bin.
    pub count: u32,
}

/// Histogram of diameters (µm) in bins [`DIAMETER_BIN_UM`] wide from 0 to
/// [`DIAMETER_HISTOGRAM_MAX_UM`], then one open bin; every bin is listed.
///
/// ```
/// use trichometry::report::diameter_histogram;
/// let h = diameter_histogram(&[5.0, 10.0, 19.9, 72.0, 400.0]);
/// assert_eq!(h.len(), 16);
/// assert_eq!((h[0].count, h[1].count, h[7].count, h[15].count), (1, 2, 1, 1));
/// assert_eq!(h[15].upper_um, None);
/// ```
pub fn diameter_histogram(diameters_um: &[f64]) -> Vec<HistogramBin> {
    let n_closed = (DIAMETER_HISTOGRAM_MAX_UM / DIAMETER_BIN_UM).round() as usize;
    let mut bins: Vec<HistogramBin> = (0..=n_closed)
        .map(|i| HistogramBin {
            lower_um: i as f64 * DIAMETER_BIN_UM,
            upper_um: (i < n_closed).then(|| (i + 1) as f64 * DIAMETER_BIN_UM),
            count: 0,
        })
        .collect();
    for &d in diameters_um.iter().filter(|d| d.is_finite()) {
        let i = ((d.max(0.0) / DIAMETER_BIN_UM).floor() as usize).min(n_closed);
        bins[i].count += 1;
    }
    bins
}

/// One CSV row of scalars per image (the `--format csv` output).
///
/// `qc_flags` is joined with `;`. The manifest's extra columns follow these
/// columns, in the manifest's order.
#[derive(Debug, Clone, Serialize)]
pub struct CsvRow<'a> {
    /// See [`ImageReport::image`].
    pub image: &'a str,
    /// See [`ImageReport::width`].
    pub width: Option<u32>,
    /// See [`ImageReport::height`].
    pub height: Option<u32>,
    /// See [`ImageReport::pixel_size_um`].
    pub pixel_size_um: Option<f64>,
    /// See [`ImageReport::calibration_source`].
    pub calibration_source: Option<&'static str>,
    /// See [`ImageReport::field_area_cm2`].
    pub field_area_cm2: Option<f64>,
    /// See [`ImageReport::analysed_area_cm2`].
    pub analysed_area_cm2: Option<f64>,
    /// See [`ImageReport::hair_count`].
    pub hair_count: Option<u32>,
    /// See [`ImageReport::density_per_cm2`].
    pub density_per_cm2: Option<f64>,
    /// Lower end of [`ImageReport::density_ci95`].
    pub density_ci95_low: Option<f64>,
    /// Upper end of [`ImageReport::density_ci95`].
    pub density_ci95_high: Option<f64>,
    /// See [`ImageReport::vellus_count`].
    pub vellus_count: Option<u32>,
    /// See [`ImageReport::intermediate_count`].
    pub intermediate_count: Option<u32>,
    /// See [`ImageReport::terminal_count`].
    pub terminal_count: Option<u32>,
    /// See [`ImageReport::non_vellus_count`].
    pub non_vellus_count: Option<u32>,
    /// See [`ImageReport::vellus_density_per_cm2`].
    pub vellus_density_per_cm2: Option<f64>,
    /// See [`ImageReport::intermediate_density_per_cm2`].
    pub intermediate_density_per_cm2: Option<f64>,
    /// See [`ImageReport::terminal_density_per_cm2`].
    pub terminal_density_per_cm2: Option<f64>,
    /// See [`ImageReport::non_vellus_density_per_cm2`].
    pub non_vellus_density_per_cm2: Option<f64>,
    /// See [`ImageReport::mean_diameter_um`].
    pub mean_diameter_um: Option<f64>,
    /// See [`ImageReport::median_diameter_um`].
    pub median_diameter_um: Option<f64>,
    /// See [`ImageReport::blur_sigma_um`].
    pub blur_sigma_um: Option<f64>,
    /// See [`ImageReport::cumulative_thickness_mm_per_cm2`].
    pub cumulative_thickness_mm_per_cm2: Option<f64>,
    /// See [`ImageReport::non_vellus_cumulative_width_um_per_cm2`].
    pub non_vellus_cumulative_width_um_per_cm2: Option<f64>,
    /// See [`ImageReport::follicular_units`].
    pub follicular_units: Option<u32>,
    /// See [`ImageReport::fu_density_per_cm2`].
    pub fu_density_per_cm2: Option<f64>,
    /// See [`ImageReport::hairs_per_unit_mean`].
    pub hairs_per_unit_mean: Option<f64>,
    /// See [`ImageReport::single_hair_unit_share`].
    pub single_hair_unit_share: Option<f64>,
    /// `;`-joined [`ImageReport::qc_flags`].
    pub qc_flags: String,
    /// See [`ImageReport::error`].
    pub error: Option<&'a str>,
    /// See [`ImageReport::error_kind`].
    pub error_kind: Option<&'a str>,
    /// See [`ImageReport::input_sha256`].
    pub input_sha256: Option<&'a str>,
    /// See [`Provenance::crate_version`].
    pub crate_version: &'a str,
    /// See [`Provenance::config_hash`].
    pub config_hash: &'a str,
}

impl<'a> From<&'a ImageReport> for CsvRow<'a> {
    fn from(r: &'a ImageReport) -> Self {
        CsvRow {
            image: &r.image,
            width: r.width,
            height: r.height,
            pixel_size_um: r.pixel_size_um,
            calibration_source: r.calibration_source.map(CalibrationSource::as_str),
            field_area_cm2: r.field_area_cm2,
            analysed_area_cm2: r.analysed_area_cm2,
            hair_count: r.hair_count,
            density_per_cm2: r.density_per_cm2,
            density_ci95_low: r.density_ci95.map(|c| c[0]),
            density_ci95_high: r.density_ci95.map(|c| c[1]),
            vellus_count: r.vellus_count,
            intermediate_count: r.intermediate_count,
            terminal_count: r.terminal_count,
            non_vellus_count: r.non_vellus_count,
            vellus_density_per_cm2: r.vellus_density_per_cm2,
            intermediate_density_per_cm2: r.intermediate_density_per_cm2,
            terminal_density_per_cm2: r.terminal_density_per_cm2,
            non_vellus_density_per_cm2: r.non_vellus_density_per_cm2,
            mean_diameter_um: r.mean_diameter_um,
            median_diameter_um: r.median_diameter_um,
            blur_sigma_um: r.blur_sigma_um,
            cumulative_thickness_mm_per_cm2: r.cumulative_thickness_mm_per_cm2,
            non_vellus_cumulative_width_um_per_cm2: r.non_vellus_cumulative_width_um_per_cm2,
            follicular_units: r.follicular_units,
            fu_density_per_cm2: r.fu_density_per_cm2,
            hairs_per_unit_mean: r.hairs_per_unit_mean,
            single_hair_unit_share: r.single_hair_unit_share,
            qc_flags: r.qc_flags.join(";"),
            error: r.error.as_deref(),
            error_kind: r.error_kind.as_deref(),
            input_sha256: r.input_sha256.as_deref(),
            crate_version: &r.provenance.crate_version,
            config_hash: &r.provenance.config_hash,
        }
    }
}

/// One CSV row per counted hair (the `--hairs-csv` output).
#[derive(Debug, Clone, Serialize)]
pub struct HairCsvRow<'a> {
    /// The image the hair belongs to.
    pub image: &'a str,
    /// See [`Hair::id`].
    pub id: u32,
    /// See [`Hair::unit_id`].
    pub unit_id: u32,
    /// See [`Hair::class`].
    pub class: Option<&'static str>,
    /// See [`Hair::diameter_um`].
    pub diameter_um: f64,
    /// See [`Hair::length_um`].
    pub length_um: f64,
    /// Exit point x, pixels.
    pub exit_x: f64,
    /// Exit point y, pixels.
    pub exit_y: f64,
    /// Tip x, pixels.
    pub tip_x: f64,
    /// Tip y, pixels.
    pub tip_y: f64,
    /// Bounding box left, pixels (inclusive).
    pub bbox_x_min: u32,
    /// Bounding box top, pixels (inclusive).
    pub bbox_y_min: u32,
    /// Bounding box right, pixels (inclusive).
    pub bbox_x_max: u32,
    /// Bounding box bottom, pixels (inclusive).
    pub bbox_y_max: u32,
}

impl ImageReport {
    /// One [`HairCsvRow`] per counted hair (none for an error record).
    pub fn hair_rows(&self) -> impl Iterator<Item = HairCsvRow<'_>> + '_ {
        self.hairs.iter().flatten().map(move |h| HairCsvRow {
            image: &self.image,
            id: h.id,
            unit_id: h.unit_id,
            class: h.class.map(HairClass::as_str),
            diameter_um: h.diameter_um,
            length_um: h.length_um,
            exit_x: h.exit[0],
            exit_y: h.exit[1],
            tip_x: h.tip[0],
            tip_y: h.tip[1],
            bbox_x_min: h.bbox[0],
            bbox_y_min: h.bbox[1],
            bbox_x_max: h.bbox[2],
            bbox_y_max: h.bbox[3],
        })
    }
}

/// Fills a report's measurement fields from an analysis.
///
/// Per-image summaries follow TrichoScan's and trials' definitions:
/// cumulative thickness is Σ diameters (mm) per cm² of analysed area;
/// non-vellus cumulative width is Σ diameters (µm) of non-vellus hairs per cm²;
/// `density_ci95` is [`density_ci95`] of the hairs' follicular units.
/// Class counts are null when any counted hair has no class (resolution too
/// coarse); `intermediate_count` is null in two-class mode.
pub fn fill_from_analysis(
    report: &mut ImageReport,
    a: &crate::pipeline::Analysis,
    scale: crate::calibrate::PixelScale,
    cfg: &crate::config::Config,
) {
    let _ = cfg;
    let area = a.analysed_area_cm2;
    report.width = Some(a.width);
    report.height = Some(a.height);
    report.pixel_size_um = Some(scale.um_per_px());
    report.field_area_cm2 = Some(scale.area_cm2(u64::from(a.width) * u64::from(a.height)));
    report.analysed_area_cm2 = Some(area);
    report.roi = a.roi.clone();
    let n = a.hairs.len();
    report.hair_count = Some(n as u32);
    report.density_per_cm2 = Some(a.density_per_cm2);
    report.qc_flags = a.qc_flags.clone();
    let per_cm2 = |x: f64| if area > 0.0 { Some(x / area) } else { None };

    // Classes.
    if a.hairs.iter().all(|h| h.class.is_some()) {
        let count = |c: HairClass| a.hairs.iter().filter(|h| h.class == Some(c)).count() as u32;
        let vellus = count(HairClass::Vellus);
        report.vellus_count = Some(vellus);
        report.terminal_count = Some(count(HairClass::Terminal));
        report.intermediate_count = a.three_classes.then(|| count(HairClass::Intermediate));
        report.non_vellus_count = Some(n as u32 - vellus);
        report.vellus_density_per_cm2 = per_cm2(f64::from(vellus));
        report.terminal_density_per_cm2 = per_cm2(f64::from(count(HairClass::Terminal)));
        report.intermediate_density_per_cm2 = report
            .intermediate_count
            .and_then(|c| per_cm2(f64::from(c)));
        report.non_vellus_density_per_cm2 = report.non_vellus_count.and_then(|c| per_cm2(c.into()));
        let nv_sum: f64 = a
            .hairs
            .iter()
            .filter(|h| h.class != Some(HairClass::Vellus))
            .map(|h| h.diameter_um)
            .sum();
        report.non_vellus_cumulative_width_um_per_cm2 = per_cm2(nv_sum);
    }

    // Diameters.
    if n > 0 {
        let mut d: Vec<f64> = a.hairs.iter().map(|h| h.diameter_um).collect();
        d.sort_by(f64::total_cmp);
        report.mean_diameter_um = Some(d.iter().sum::<f64>() / n as f64);
        report.median_diameter_um = Some(if n % 2 == 1 {
            d[n / 2]
        } else {
            0.5 * (d[n / 2 - 1] + d[n / 2])
        });
    }
    report.diameter_histogram = Some(diameter_histogram(
        &a.hairs.iter().map(|h| h.diameter_um).collect::<Vec<_>>(),
    ));
    report.blur_sigma_um = a.blur_sigma_um;
    let sum_d_mm: f64 = a.hairs.iter().map(|h| h.diameter_um / 1000.0).sum();
    report.cumulative_thickness_mm_per_cm2 = per_cm2(sum_d_mm);

    // Follicular units.
    let mut units: std::collections::BTreeMap<u32, u32> = std::collections::BTreeMap::new();
    for h in &a.hairs {
        *units.entry(h.unit_id).or_default() += 1;
    }
    report.follicular_units = Some(units.len() as u32);
    report.fu_density_per_cm2 = per_cm2(units.len() as f64);
    report.hairs_per_unit_mean = (!units.is_empty()).then(|| n as f64 / units.len() as f64);
    let sizes: Vec<u32> = units.values().copied().collect();
    let mut by = [0u32; 4];
    for &k in &sizes {
        by[(k.max(1) as usize - 1).min(3)] += 1;
    }
    report.units_by_hairs = Some(by);
    report.single_hair_unit_share =
        (!sizes.is_empty()).then(|| f64::from(by[0]) / sizes.len() as f64);
    report.density_ci95 = (area > 0.0).then(|| density_ci95(&sizes, area));
    report.hairs = Some(a.hairs.clone());
}

/// Largest number of hairs a follicular unit holds, for [`density_ci95`]:
/// scalp units hold 1–4 hairs (Headington 1984).
pub const MAX_UNIT_HAIRS: u32 = 4;

/// 95% sampling interval for a density estimated from an areal count of
/// clustered hairs, in hairs/cm².
///
/// Model: follicular units fall as a Poisson process and each unit holds
/// `k ≥ 1` hairs, so the count `n = Σ kᵢ` is a weighted sum of Poisson
/// counts (units of each size) with weights `k`; its variance is estimated by
/// `v = Σ kᵢ²`. The interval is Fay & Feuer's gamma interval for such a sum:
/// the lower limit is the 2.5% quantile of a gamma distribution with mean
/// `n` and variance `v`, the upper limit the 97.5% quantile of one with mean
/// `n + w` and variance `v + w²`, where `w` is the largest weight
/// (`max(MAX_UNIT_HAIRS, largest unit seen)`): one more unit, of the largest
/// size, may have been missed by chance. Limits are divided by the area.
/// With single-hair units only, the lower limit is Garwood's exact Poisson
/// limit; with no hairs the upper limit is `3.689 × w / area`. It is the
/// sampling interval of the count in this field: measurement (detection)
/// error is left out. Empirical coverage over clustered fields is tested in
/// `tests/ci_coverage.rs`: 97–98% over clustered fields of 6–114 hairs,
/// where Garwood's plain Poisson interval covers 80–82%.
///
/// ```
/// use trichometry::report::density_ci95;
/// // 100 single-hair units in 1 cm².
/// let [lo, hi] = density_ci95(&[1; 100], 1.0);
/// assert!((lo - 81.364).abs() < 0.01 && (hi - 126.145).abs() < 0.01);
/// ```
///
/// # References
/// Fay M.P., Feuer E.J. (1997) Confidence intervals for directly standardized
/// rates: a method based on the gamma distribution. Stat Med 16(7):791–801.
/// doi:10.1002/(SICI)1097-0258(19970415)16:7<791::AID-SIM500>3.0.CO;2-#
/// Garwood F. (1936) Fiducial limits for the Poisson distribution. Biometrika
/// 28(3/4):437–442. doi:10.2307/2333958.
/// Headington J.T. (1984) Transverse microscopic anatomy of the human scalp.
/// Arch Dermatol 120(4):449–456.
pub fn density_ci95(unit_sizes: &[u32], area_cm2: f64) -> [f64; 2] {
    use statrs::distribution::{ContinuousCDF, Gamma};
    let n: f64 = unit_sizes.iter().map(|&k| f64::from(k)).sum();
    let v: f64 = unit_sizes
        .iter()
        .map(|&k| f64::from(k) * f64::from(k))
        .sum();
    let w = f64::from(
        unit_sizes
            .iter()
            .copied()
            .max()
            .unwrap_or(0)
            .max(MAX_UNIT_HAIRS),
    );
    // Gamma with the given mean and variance: shape m²/var, rate m/var.
    let quantile = |p: f64, mean: f64, var: f64| {
        Gamma::new(mean * mean / var, mean / var)
            .map(|g| g.inverse_cdf(p))
            .unwrap_or(f64::NAN)
    };
    let lo = if n > 0.0 { quantile(0.025, n, v) } else { 0.0 };
    let hi = quantile(0.975, n + w, v + w * w);
    [lo / area_cm2, hi / area_cm2]
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference values computed independently with scipy 1.11:
    // scipy.stats.gamma.ppf(0.025, n*n/v, scale=v/n) and
    // gamma.ppf(0.975, (n+w)**2/(v+w*w), scale=(v+w*w)/(n+w)), w = 4.
    // The lower limit for 100 single hairs equals the exact Poisson (Garwood)
    // limit 81.36399 found by bisection on the Poisson CDF (R's poisson.test).
    #[test]
    fn ci_matches_fay_feuer() {
        let [lo, hi] = density_ci95(&[1; 100], 1.0);
        assert!((lo - 81.36399).abs() < 1e-3, "{lo}");
        assert!((hi - 126.14526).abs() < 1e-3, "{hi}");
        let [lo, hi] = density_ci95(&[], 0.5);
        assert_eq!(lo, 0.0);
        assert!((hi - 14.75552 / 0.5).abs() < 1e-3, "{hi}");
        let [lo, hi] = density_ci95(&[1, 1, 2, 3], 1.0);
        assert!(
            (lo - 1.57882).abs() < 1e-3 && (hi - 24.29673).abs() < 1e-3,
            "{lo} {hi}"
        );
    }

    // Clustering widens the interval: 50 pairs are 100 hairs with twice the variance.
    #[test]
    fn ci_widens_with_units() {
        let single = density_ci95(&[1; 100], 1.0);
        let pairs = density_ci95(&[2; 50], 1.0);
        assert!(pairs[1] - pairs[0] > single[1] - single[0]);
        // Same scipy formulas as above.
        assert!((pairs[0] - 74.22193).abs() < 1e-3, "{pairs:?}");
        assert!((pairs[1] - 134.71952).abs() < 1e-3, "{pairs:?}");
    }
}
