//! Scoring counts and hair positions against ground truth (`trichometry eval`).
//!
//! Where it sits: after the pipeline, beside it rather than inside it. It reads
//! files only — the generator's truth sidecars, plain CSV counts, Pascal VOC,
//! COCO and point/box CSV annotations, and trichometry's own JSONL/CSV output —
//! and never calls the pipeline or the generator, so a score cannot share a
//! bias with what it scores.
//!
//! In: one or more truth [`AnnotationSet`]s and one prediction set. Out: an
//! [`EvalReport`] with, per comparison (prediction vs each truth source, and each
//! pair of truth sources, e.g. rater vs rater) and per group:
//!
//! * count-level statistics ([`count_metrics`]): n, MAE, RMSE, MAPE, WAPE,
//!   mean bias, Bland–Altman limits of agreement (absolute and in %) with the
//!   proportional-bias regression ([`bland_altman`]), Lin's concordance
//!   correlation coefficient with its 95% CI ([`lin_ccc`]), Pearson's r
//!   ([`pearson_r`]) and ICC(A,1) with its 95% CI ([`icc_a1`]);
//! * hair-level statistics where both sides have positions: one-to-one matching
//!   by Hungarian assignment ([`hungarian`], [`match_points`], [`match_boxes`])
//!   and precision, recall and F1 per image and pooled.
//!
//! The formulas, with references, are in each function's documentation and in
//! `docs/metrics.md`.
//!
//! ```
//! use trichometry::eval::count_metrics;
//! // (truth, prediction) pairs
//! let m = count_metrics(&[(10.0, 12.0), (20.0, 19.0), (30.0, 33.0)]);
//! assert_eq!(m.n, 3);
//! assert!((m.mae.unwrap() - 2.0).abs() < 1e-12);
//! ```

mod agreement;
mod evaluate;
mod matching;
mod metrics;
mod output;
mod read;

pub use agreement::{
    bland_altman, icc_a1, icc_a1_ratings, lin_ccc, pearson_r, BlandAltman, Interval,
};
pub use evaluate::{
    evaluate, Comparison, CountRow, DiameterAgreement, EvalConfig, EvalReport, Failure, HairRow,
    ImageCountRow, ImageHairRow, MatchMode, On, SourceSummary, Unmatched,
};
pub use matching::{box_iou, hungarian, match_boxes, match_points, HairCounts, Matching};
pub use metrics::{count_metrics, CountMetrics};
pub use read::{
    read_annotations, read_ignore_regions, read_predictions, read_truth, IgnoreRegions,
    SourceFormat,
};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// One annotated or detected hair: a point, a box, or both.
///
/// Coordinates are pixels, origin top-left. Boxes are
/// `[x_min, y_min, x_max, y_max]` with inclusive bounds (a one-pixel box has
/// `x_min == x_max`), as in trichometry's reports.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Mark {
    /// Exit point (or annotated point) `[x, y]`, pixels; `None` for box-only annotations.
    pub point: Option<[f64; 2]>,
    /// Inclusive box `[x_min, y_min, x_max, y_max]`, pixels; `None` for point-only annotations.
    pub bbox: Option<[f64; 4]>,
    /// Shaft diameter in µm, where known (used by the point gate).
    pub diameter_um: Option<f64>,
}

impl Mark {
    /// The point, or the centre of the box when there is no point.
    ///
    /// ```
    /// use trichometry::eval::Mark;
    /// let m = Mark { point: None, bbox: Some([0.0, 0.0, 4.0, 2.0]), diameter_um: None };
    /// assert_eq!(m.point_or_centre(), Some([2.0, 1.0]));
    /// ```
    pub fn point_or_centre(&self) -> Option<[f64; 2]> {
        self.point.or_else(|| {
            self.bbox
                .map(|b| [0.5 * (b[0] + b[2]), 0.5 * (b[1] + b[3])])
        })
    }
}

/// What a source natively annotates for each hair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PositionKind {
    /// Exit points (generator sidecars, point CSV, COCO keypoints, trichometry output).
    Points,
    /// Boxes only (Pascal VOC, COCO without keypoints, box CSV).
    Boxes,
}

/// The annotation (truth) or detection (prediction) of one image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// The image as the source names it (a file name or a path).
    pub image: String,
    /// Number of hairs counted for the image's analysed area.
    pub count: Option<f64>,
    /// Hairs per cm² of analysed area.
    pub density_per_cm2: Option<f64>,
    /// Pixel size in µm/px, where the source gives it.
    pub pixel_size_um: Option<f64>,
    /// Image width in pixels, where known.
    pub width: Option<u32>,
    /// Image height in pixels, where known.
    pub height: Option<u32>,
    /// Per-hair positions, where the source has them (`Some(vec![])` = none annotated).
    pub marks: Option<Vec<Mark>>,
    /// Other columns (scenario, subject, manifest columns, ...), usable for grouping.
    pub columns: IndexMap<String, String>,
    /// The error of a failed prediction record (its measurements are not used).
    pub error: Option<String>,
}

impl ImageRecord {
    /// A record with only the image name set.
    pub fn new(image: impl Into<String>) -> Self {
        ImageRecord {
            image: image.into(),
            count: None,
            density_per_cm2: None,
            pixel_size_um: None,
            width: None,
            height: None,
            marks: None,
            columns: IndexMap::new(),
            error: None,
        }
    }
}

/// Annotations of a set of images read from one source (a truth set or a prediction set).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnnotationSet {
    /// Where it was read from (a path as given).
    pub source: String,
    /// The format it was read as.
    pub format: SourceFormat,
    /// What the source annotates per hair, if anything.
    pub positions: Option<PositionKind>,
    /// One record per image, in the source's order.
    pub records: Vec<ImageRecord>,
}

/// A truth set: see [`AnnotationSet`].
pub type TruthSet = AnnotationSet;
/// A prediction set: see [`AnnotationSet`].
pub type PredSet = AnnotationSet;
