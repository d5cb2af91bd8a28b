//! Counting: splitting multi-hair components, exit points, border rule, density.
//!
//! Stage 5 of the pipeline. In: hair-candidate [`Component`]s with their
//! skeletons, the hairness map, the visibility mask and the analysed-area mask.
//! Out: [`Counted`]: one [`Hair`] per counted shaft, a decision per component,
//! the fractional border correction and quality flags.
//!
//! Clipped shafts are straight, so each component's skeleton is decomposed
//! into straight segments by a sequential Hough-style search
//! ([`extract_segments`]): the longest run of skeleton points within a narrow
//! band is taken, its points removed, and the search repeated. Segments that
//! continue each other (a gently curved hair) are re-joined; segments that
//! leave a common point in different directions are different hairs (a V or
//! fan of one follicular unit), as are segments crossing at a point (an X) or
//! touching end-to-side (a T). A band whose width profile steps to twice the
//! single-shaft width holds parallel touching shafts, counted from the ratio.
//!
//! Each shaft end is scored for "exit-likeness" ([`end_score`]): at the exit
//! the shaft fades into the subsurface shadow or widens into the opening,
//! while the cut tip is blunt and stops at full contrast; an end shared with
//! another shaft is an exit, unless the far end shows the exit clearly
//! better on its own (a cut tip resting on another shaft,
//! [`CountConfig::shared_exit_margin`]). Border rule: a hair counts when its exit lies in
//! the analysed area. A shaft cut by the frame or mask edge counts only if its
//! visible free end is the exit; when that end is neither clearly an exit nor
//! clearly a tip, the hair is not listed but adds `border_ambiguous_weight`
//! (default ½, the expected value for an undecidable end) to the density.
//! A shaft with two blunt ends and no opening is a loose clipping, rejected
//! while such shafts are a few strays among hairs; where they are a large
//! share of an image's free-standing shafts the image does not show exits,
//! its shafts are counted, a shaft cut by the frame adds
//! `border_ambiguous_weight`, and it is flagged `no_exit_cues`
//! ([`CountConfig::max_loose_clipping_fraction`]).

use image::GrayImage;
use serde::{Deserialize, Serialize};

use super::components::Component;
use super::measure::{
    self, centre_profile, polyline_length, quantile, width_sections, MeasureConfig,
};
use super::preprocess::{GrayF32, Polarity, Preprocessed};
use super::ComponentDecision;
use crate::calibrate::PixelScale;
use crate::error::{Error, Result};
use crate::report::Hair;

/// Counting settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CountConfig {
    /// Shortest counted shaft (exit to tip), µm. Default: 100 µm.
    pub min_hair_length_um: f64,
    /// Largest direction change (degrees) at which two segments meeting end to
    /// end are one curved hair rather than two hairs. Default: 35°.
    pub max_bend_deg: f64,
    /// A band whose width reaches this multiple of the single-shaft width holds
    /// several parallel shafts. Default: 1.6.
    pub split_width_ratio: f64,
    /// Most parallel shafts counted in one band. Default: 4.
    pub max_hairs_per_band: u32,
    /// Exit points closer than this belong to one follicular unit, µm. Default: 150 µm.
    pub unit_radius_um: f64,
    /// End score at or above which an end is an exit. Default: 0.3.
    pub exit_min_score: f64,
    /// End score at or below which an end is a cut tip. Default: 0.15.
    pub tip_max_score: f64,
    /// Reject shafts with two tip-like ends and no shared exit. Default: true.
    pub reject_loose_clippings: bool,
    /// Loose clippings are rejected only while they are at most this share
    /// of an image's free-standing shafts: shafts of one polarity that share
    /// no end with another shaft and are not cut by the frame, at least
    /// [`MIN_SHAFTS_FOR_EXIT_CUES`] of them. Clippings left on clipped skin
    /// are a few strays among hairs; where more free-standing shafts than
    /// this show no exit, the image does not resolve exits at all (too
    /// coarse a pixel, diffuse light, drawn test images of shaft segments):
    /// it is flagged `no_exit_cues`, its loose shafts are counted, and a
    /// shaft cut by the frame adds `border_ambiguous_weight`, since either
    /// end may be its exit. 1 always rejects them.
    /// Measured: no real 70× image of 992 training and 270 validation
    /// images has more than 12 free-standing shafts; 72 synthetic fields
    /// have up to 88, at most 12.5% of them loose; the exit-less segment
    /// images of `make_bench_images.py` have 28–167, 29–61% loose.
    /// Shares are taken over free-standing shafts because in a tangle every
    /// crossing reads as a shared end. Default: 0.25.
    pub max_loose_clipping_fraction: f64,
    /// Density weight of a border-cut hair whose free end cannot be told. Default: 0.5.
    pub border_ambiguous_weight: f64,
    /// A shaft whose centre-line contrast is below this fraction of another
    /// shaft's in the same component, that touches that shaft's end and is
    /// short beside it, is the exit's opening or sub-surface shadow. Default: 0.4.
    pub shadow_contrast_ratio: f64,
    /// How near (in the stronger shaft's widths) a shadow must come to its end. Default: 2.
    pub shadow_reach_widths: f64,
    /// A shaft's median centre-line contrast must reach this many robust noise
    /// σ of the flattened background. Default: 4.
    pub min_shaft_contrast_sigma: f64,
    /// ... and at least this relative contrast whatever the noise. Default: 0.04.
    pub min_shaft_contrast: f64,
    /// Median shaft length above which the field is flagged `unclipped_field`, µm.
    /// Default: 3000 µm.
    pub unclipped_length_um: f64,
    /// Thinnest shaft counted, µm (blur-corrected diameter), applied where
    /// the pixel size resolves it (at most half of it): the finest vellus
    /// hairs are about 10 µm across, while a drawn ruler or grid line, a
    /// fibre or a scratch can be thinner. 0 turns the rule off. Default: 8 µm.
    pub min_diameter_um: f64,
    /// The exit is placed where the centre line first reaches, and stays
    /// at, this share of the shaft's full contrast (the 90th percentile of
    /// its centre profile), or half its median contrast if that is higher:
    /// a sub-surface shadow beyond the exit is fainter. Default: 0.6.
    pub exit_full_contrast: f64,
    /// A shaft's centre line that falls below this share of its full
    /// contrast for at least a shaft width, between two stretches of
    /// similar contrast (within `shadow_contrast_ratio`), crosses bare skin:
    /// it is two shafts joined end to end, and is split there (a piece
    /// shorter than a segment is what a crossing left, and is dropped).
    /// 0 turns the rule off. Default: 0.2.
    pub skin_gap_contrast: f64,
    /// A shaft that meets other shafts of its component at both ends and is
    /// shorter than this many of its own (median) widths is the piece of
    /// skeleton a crossing or a fork leaves between them, not a hair. The
    /// width is capped at three of the image's single-shaft widths, where
    /// that is known: a crossing of two shafts is about two wide, and a piece
    /// wider still is a band of parallel shafts (a follicular unit lying
    /// together) crossed by others. 0 turns the rule off. Default: 2.5.
    pub bridge_max_length_widths: f64,
    /// An end shared with another shaft is taken as the exit of a shaft
    /// whose both ends lie in view, unless the other end's own exit score
    /// (without the shared-end credit) exceeds the shared end's own score
    /// by more than this. Hairs of a unit leave their common opening, but
    /// a cut tip resting on another shaft meets it the same way; the
    /// opening or shadow at the far end tells them apart. Measured on the
    /// 600 images of the accuracy report, hairs counted with a shared end as
    /// exit and the far end in view: the far end's own score was higher by
    /// more than 0.2 for 572 of the 1 136 whose true exit was the far end,
    /// and for 124 of the 3 006 whose true exit was the shared end; with
    /// the rule, hair-level F1 0.620 → 0.643. A large value (10) never
    /// overrides a shared end. Default: 0.2.
    pub shared_exit_margin: f64,
}

impl Default for CountConfig {
    fn default() -> Self {
        CountConfig {
            min_hair_length_um: 100.0,
            max_bend_deg: 35.0,
            split_width_ratio: 1.6,
            max_hairs_per_band: 4,
            unit_radius_um: 150.0,
            exit_min_score: 0.3,
            tip_max_score: 0.15,
            reject_loose_clippings: true,
            max_loose_clipping_fraction: 0.25,
            border_ambiguous_weight: 0.5,
            unclipped_length_um: 3000.0,
            min_diameter_um: 8.0,
            exit_full_contrast: 0.6,
            skin_gap_contrast: 0.2,
            bridge_max_length_widths: 2.5,
            shared_exit_margin: 0.2,
            shadow_contrast_ratio: 0.4,
            shadow_reach_widths: 2.0,
            min_shaft_contrast_sigma: 4.0,
            min_shaft_contrast: 0.04,
        }
    }
}

impl CountConfig {
    /// Checks the settings.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Config`] naming the invalid field.
    pub fn validate(&self) -> Result<()> {
        let pos = crate::config::require_positive;
        pos(self.min_hair_length_um, "count.min_hair_length_um")?;
        pos(self.unit_radius_um, "count.unit_radius_um")?;
        pos(self.unclipped_length_um, "count.unclipped_length_um")?;
        pos(self.exit_min_score, "count.exit_min_score")?;
        pos(self.shadow_reach_widths, "count.shadow_reach_widths")?;
        pos(
            self.min_shaft_contrast_sigma,
            "count.min_shaft_contrast_sigma",
        )?;
        pos(self.min_shaft_contrast, "count.min_shaft_contrast")?;
        let fraction = crate::config::require_fraction;
        fraction(self.exit_full_contrast, "count.exit_full_contrast")?;
        fraction(self.skin_gap_contrast, "count.skin_gap_contrast")?;
        crate::config::require_non_negative(self.shared_exit_margin, "count.shared_exit_margin")?;
        crate::config::require_non_negative(
            self.bridge_max_length_widths,
            "count.bridge_max_length_widths",
        )?;
        fraction(self.shadow_contrast_ratio, "count.shadow_contrast_ratio")?;
        fraction(
            self.border_ambiguous_weight,
            "count.border_ambiguous_weight",
        )?;
        fraction(
            self.max_loose_clipping_fraction,
            "count.max_loose_clipping_fraction",
        )?;
        crate::config::require_non_negative(self.min_diameter_um, "count.min_diameter_um")?;
        if !(self.max_bend_deg > 0.0 && self.max_bend_deg < 90.0) {
            return Err(Error::config("count.max_bend_deg", "must be in (0, 90)"));
        }
        if !(self.split_width_ratio > 1.0 && self.split_width_ratio.is_finite()) {
            return Err(Error::config(
                "count.split_width_ratio",
                "must be greater than 1",
            ));
        }
        if !(1..=8).contains(&self.max_hairs_per_band) {
            return Err(Error::config(
                "count.max_hairs_per_band",
                "must be in 1..=8",
            ));
        }
        if !(self.tip_max_score >= 0.0 && self.tip_max_score <= self.exit_min_score) {
            return Err(Error::config(
                "count.tip_max_score",
                "must be in [0, count.exit_min_score]",
            ));
        }
        Ok(())
    }
}

/// Segments [`extract_segments`] takes from one component before runs are
/// tested for crossing residue (see [`RESIDUE_ZONE_FACTOR`]).
pub const SEGMENTS_BEFORE_TAIL: usize = 12;

/// Past [`SEGMENTS_BEFORE_TAIL`] segments, a run is crossing residue, and is
/// dropped without ending the search, unless its points lying farther than
/// this many removal widths from every segment already taken span at least
/// the shortest segment length. Each segment removed from a tangle leaves
/// short bits of skeleton where it crossed others, just outside the band it
/// was removed with; once a component has given many segments those bits
/// outnumber the shafts still to find. A shaft broken by a crossing reaches
/// out of that band, however short it is.
///
/// This replaces a length rule (past 12 segments, runs under twice the
/// shortest segment length ended the search), which missed short shafts
/// broken by crossings. Measured against it, with the segment search capped
/// at 64 segments and [`MAX_SEARCH_ROUNDS`] rounds: on eight exit-less 1 MP
/// images of `make_bench_images.py` (110.6 shafts of 50–250 px drawn per
/// 1024² image, most in one component), hairs counted per image 83.0 →
/// 88.8 (with no rule at all 92.5, by counting residue); over its 18
/// images (1, 4 and 12 MP) the count's MAPE 15.0% → 11.4%. On 240
/// synthetic images (seed 99, 40 per scenario) density MAPE 23.7% → 23.9%
/// (`units_crossings` 19.8% → 21.2%) and hair-level F1 0.613 → 0.614; on 60
/// real 70× validation images MAE 3.10 → 3.08, F1 0.551 → 0.552, on 270
/// others 2.99 → 3.00 and 0.552 → 0.552; the accuracy report (600
/// synthetic images, seed 2026) MAPE 22.0% → 22.1%, F1 0.612 → 0.611
/// (`units_crossings` 18.9% → 19.4%, bias +7.0% → +9.2%). With a zone of 2
/// removal widths the 1 MP count was 85.9; with 1, no run was residue (the
/// points within one removal width are gone already). When the length rule
/// was introduced, before later counting changes, the same 1 MP images gave
/// 63.6 hairs per image with the search stopped at 12 segments, 86.4 with
/// only the 64-segment bound and 77.1 with the length rule.
pub const RESIDUE_ZONE_FACTOR: f32 = 1.5;

/// Most rounds of the segment search in one component (a round takes a
/// segment or drops a run of residue): a bound on its cost.
pub const MAX_SEARCH_ROUNDS: usize = 2 * MAX_SEGMENTS;

/// Most segments [`extract_segments`] takes from one component: a bound on
/// its cost (each round searches 90 directions over the remaining points).
pub const MAX_SEGMENTS: usize = 64;

/// Straight segments `[start, end]` (pixels) covering a skeleton: repeatedly
/// the longest run of points within ±`tol_px` of a line (over 90 directions,
/// gaps ≤ `gap_px`), refined by a least-squares fit, then removal of the
/// points within `remove_px` of it; stops when the best run is shorter than
/// `min_len_px`, after [`MAX_SEGMENTS`] segments or after
/// [`MAX_SEARCH_ROUNDS`] rounds. Past [`SEGMENTS_BEFORE_TAIL`] segments a
/// run that stays near the segments taken is dropped as crossing residue
/// (see [`RESIDUE_ZONE_FACTOR`]).
///
/// # Examples
/// ```
/// use trichometry::pipeline::count::extract_segments;
/// // An X: two diagonals of a 41×41 square.
/// let mut pts: Vec<(u32, u32)> = (0..41).map(|i| (i, i)).collect();
/// pts.extend((0..41).filter(|&i| i != 20).map(|i| (i, 40 - i)));
/// let segs = extract_segments(&pts, 1.5, 10.0, 2.0, 20.0);
/// assert_eq!(segs.len(), 2);
/// ```
///
/// # References
/// Duda R. O., Hart P. E. (1972) Use of the Hough transformation to detect
/// lines and curves in pictures. Comm. ACM 15(1):11–15. doi:10.1145/361237.361242
pub fn extract_segments(
    skeleton: &[(u32, u32)],
    tol_px: f32,
    gap_px: f32,
    remove_px: f32,
    min_len_px: f32,
) -> Vec<[[f32; 2]; 2]> {
    let mut search = RunSearch::default();
    segments_by(
        skeleton,
        tol_px,
        gap_px,
        remove_px,
        min_len_px,
        |pts, tol, gap| search.longest(pts, tol, gap),
    )
}

/// [`extract_segments`] with the longest-run search passed in.
fn segments_by(
    skeleton: &[(u32, u32)],
    tol_px: f32,
    gap_px: f32,
    remove_px: f32,
    min_len_px: f32,
    mut longest: impl FnMut(&[[f32; 2]], f32, f32) -> Option<(f32, Vec<usize>)>,
) -> Vec<[[f32; 2]; 2]> {
    let mut pts: Vec<[f32; 2]> = skeleton
        .iter()
        .map(|&(x, y)| [x as f32, y as f32])
        .collect();
    let mut out = Vec::new();
    let tol = tol_px.max(0.75);
    let zone = RESIDUE_ZONE_FACTOR * remove_px;
    let mut rounds = 0;
    while out.len() < MAX_SEGMENTS && pts.len() >= 2 && rounds < MAX_SEARCH_ROUNDS {
        rounds += 1;
        let best = longest(&pts, tol, gap_px);
        let Some((len, idx)) = best else { break };
        if len < min_len_px {
            break;
        }
        if out.len() >= SEGMENTS_BEFORE_TAIL && free_extent(&pts, &idx, &out, zone) < min_len_px {
            let mut residue = vec![false; pts.len()];
            for &i in &idx {
                residue[i] = true;
            }
            let mut k = 0;
            pts.retain(|_| {
                k += 1;
                !residue[k - 1]
            });
            continue;
        }
        // Least-squares (principal axis) fit of the run.
        let Some(([mx, my], theta)) =
            measure::principal_axis(idx.iter().map(|&i| pts[i].map(f64::from)))
        else {
            break;
        };
        let (mx, my, theta) = (mx as f32, my as f32, theta as f32);
        let (c, s) = (theta.cos(), theta.sin());
        let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
        for &i in &idx {
            let u = (pts[i][0] - mx) * c + (pts[i][1] - my) * s;
            lo = lo.min(u);
            hi = hi.max(u);
        }
        let a = [mx + c * lo, my + s * lo];
        let b = [mx + c * hi, my + s * hi];
        out.push([a, b]);
        // Remove points near the fitted segment.
        let keep: Vec<[f32; 2]> = pts
            .iter()
            .copied()
            .filter(|p| {
                let u = (p[0] - mx) * c + (p[1] - my) * s;
                let d = (-(p[0] - mx) * s + (p[1] - my) * c).abs();
                !(d <= remove_px && u >= lo - remove_px && u <= hi + remove_px)
            })
            .collect();
        if keep.len() == pts.len() {
            break;
        }
        pts = keep;
    }
    out
}

/// Distance from the run's first to its last point (points in order along
/// the run) lying farther than `zone` from every segment in `segs`, pixels;
/// 0 when fewer than two do.
fn free_extent(pts: &[[f32; 2]], run: &[usize], segs: &[[[f32; 2]; 2]], zone: f32) -> f32 {
    let mut free = run
        .iter()
        .map(|&i| pts[i])
        .filter(|&p| segs.iter().all(|s| nearest_on(s, p).0 > zone));
    let Some(first) = free.next() else {
        return 0.0;
    };
    free.next_back().map_or(0.0, |last| dist(first, last))
}

/// A run of skeleton points: its length, pixels, and the indices of its
/// points in order along the line.
type Run = (f32, Vec<usize>);

/// Directions [`RunSearch`] tries: `k·π/90`, `k` in `0..DIRECTIONS`.
const DIRECTIONS: usize = 90;

/// Directions [`RunSearch::longest`] searches first, those of the greatest
/// bounds, for a length the answer reaches.
const PROBES: usize = 8;

/// Scratch buffers of the direction search in [`extract_segments`], reused
/// across its rounds, and what one round learns for the next.
struct RunSearch {
    keyed: Vec<(i64, f32, usize)>,
    sorted: Vec<(i64, f32, usize)>,
    starts: Vec<usize>,
    bands: Vec<(i64, usize, usize)>,
    run: Vec<(f32, usize)>,
    /// Per direction, an upper bound on the length of any run it can give,
    /// from the gap-free stretches found there last time it was searched:
    /// the longest of them, each counted at most at the length its points
    /// could make dense ([`dense_bound`]). Removing points only shortens or
    /// splits stretches and thins them (a point's band and position depend
    /// on its coordinates alone), so a bound stays valid for every later
    /// round on a subset of the points.
    bound: [f32; DIRECTIONS],
}

impl Default for RunSearch {
    fn default() -> Self {
        RunSearch {
            keyed: Vec::new(),
            sorted: Vec::new(),
            starts: Vec::new(),
            bands: Vec::new(),
            run: Vec::new(),
            bound: [f32::INFINITY; DIRECTIONS],
        }
    }
}

impl RunSearch {
    /// The longest dense run of `pts` over 90 directions: `(length, indices
    /// of its points in order along the line)`.
    ///
    /// Per direction, each point has a band `b = ⌊d / tol⌋` across the line
    /// and a position `u` along it; a run is a band joined with the next band
    /// up (when present), stably sorted by `u`. Points are binned by a
    /// counting sort (bands ascending, index order within), each band is
    /// sorted once and merged with its neighbour, which equals the stable
    /// sort of their concatenation, so ties between equally long runs resolve
    /// the same way on every run and machine.
    ///
    /// Called again on a subset of the points (the next round of
    /// [`extract_segments`]), it skips directions whose bound (see
    /// [`RunSearch::bound`]) is below the best run of the [`PROBES`]
    /// directions of greatest bound, searched first. The answer is the same:
    /// the first run, in direction and band order, of the greatest length
    /// (a skipped direction has no run that long, and a shorter run never
    /// replaces a longer one). Measured on four 1 MP benchmark-maker images,
    /// whole `trichometry count` runs, one thread, three alternating runs:
    /// 2.17 s with every direction searched every round, 1.43 s pruned.
    /// `tests::segments_match_full_search` checks the answers against the
    /// full search.
    fn longest(&mut self, pts: &[[f32; 2]], tol: f32, gap_px: f32) -> Option<(f32, Vec<usize>)> {
        // A length some run reaches: the best of the PROBES directions with
        // the greatest bounds, each searched whole and kept for its turn.
        let mut order: [usize; DIRECTIONS] = std::array::from_fn(|k| k);
        order.sort_by(|&a, &b| self.bound[b].total_cmp(&self.bound[a]));
        let mut probed: [Option<Option<Run>>; DIRECTIONS] = std::array::from_fn(|_| None);
        let mut floor = 0f32;
        for &k in &order[..PROBES] {
            let mut own = None;
            self.bound[k] = self.direction(k, pts, tol, gap_px, 0.0, &mut own);
            floor = floor.max(own.as_ref().map_or(0.0, |b| b.0));
            probed[k] = Some(own);
        }
        // In direction order, a direction's first longest run replaces the
        // best only when longer, so taking a probed direction's own best in
        // its turn gives what searching it again would.
        let mut best: Option<(f32, Vec<usize>)> = None;
        for (k, slot) in probed.iter_mut().enumerate() {
            if let Some(own) = slot.take() {
                if let Some(r) = own.filter(|r| best.as_ref().is_none_or(|bb| r.0 > bb.0)) {
                    best = Some(r);
                }
            } else if self.bound[k] >= floor {
                self.bound[k] = self.direction(k, pts, tol, gap_px, floor, &mut best);
            }
        }
        best
    }

    /// Searches direction `k` (angle `k·π/90`), raising `best` to a longer
    /// run, skipping runs shorter than `floor`; returns the direction's
    /// bound (see [`RunSearch::bound`]).
    fn direction(
        &mut self,
        k: usize,
        pts: &[[f32; 2]],
        tol: f32,
        gap_px: f32,
        floor: f32,
        best: &mut Option<(f32, Vec<usize>)>,
    ) -> f32 {
        let RunSearch {
            keyed,
            sorted,
            starts,
            bands,
            run,
            ..
        } = self;
        let mut bound = 0f32;
        let a = std::f32::consts::PI * k as f32 / DIRECTIONS as f32;
        let (c, s) = (a.cos(), a.sin());
        keyed.clear();
        keyed.extend(pts.iter().enumerate().map(|(i, p)| {
            let d = -p[0] * s + p[1] * c;
            let u = p[0] * c + p[1] * s;
            (floor_i64(d / tol), u, i)
        }));
        // Counting sort by band; stable, so each band keeps index order.
        let lo = keyed.iter().map(|e| e.0).min().unwrap_or(0);
        let hi = keyed.iter().map(|e| e.0).max().unwrap_or(0);
        starts.clear();
        starts.resize((hi - lo) as usize + 2, 0);
        for e in keyed.iter() {
            starts[(e.0 - lo) as usize + 1] += 1;
        }
        for j in 1..starts.len() {
            starts[j] += starts[j - 1];
        }
        sorted.clear();
        sorted.resize(keyed.len(), (0, 0.0, 0));
        for e in keyed.iter() {
            let slot = &mut starts[(e.0 - lo) as usize];
            sorted[*slot] = *e;
            *slot += 1;
        }
        std::mem::swap(keyed, sorted);
        bands.clear();
        let mut g = 0;
        while g < keyed.len() {
            let b = keyed[g].0;
            let end = g + keyed[g..].iter().take_while(|e| e.0 == b).count();
            keyed[g..end].sort_by(|x, y| x.1.total_cmp(&y.1));
            bands.push((b, g, end));
            g = end;
        }
        for (q, &(b, g0, g1)) in bands.iter().enumerate() {
            let (h0, h1) = match bands.get(q + 1) {
                Some(&(b2, h0, h1)) if b2 == b + 1 => (h0, h1),
                _ => (g1, g1),
            };
            if (g1 - g0) + (h1 - h0) < 2 {
                continue;
            }
            // No part of a run is longer than its extent (`u` is finite:
            // pixel coordinates): skip runs that cannot beat the best, or
            // reach the floor; their extent bounds them.
            let (mut lo, mut hi) = (keyed[g0].1, keyed[g1 - 1].1);
            if h1 > h0 {
                lo = lo.min(keyed[h0].1);
                hi = hi.max(keyed[h1 - 1].1);
            }
            if hi - lo < floor || best.as_ref().is_some_and(|bb| hi - lo <= bb.0) {
                let n = (g1 - g0) + (h1 - h0);
                bound = bound.max((hi - lo).min(dense_bound(n)));
                continue;
            }
            run.clear();
            let (mut i, mut j) = (g0, h0);
            while i < g1 || j < h1 {
                let take_low = j == h1 || (i < g1 && keyed[i].1.total_cmp(&keyed[j].1).is_le());
                let e = if take_low {
                    i += 1;
                    keyed[i - 1]
                } else {
                    j += 1;
                    keyed[j - 1]
                };
                run.push((e.1, e.2));
            }
            bound = bound.max(scan_run(run, gap_px, best));
        }
        bound
    }
}

/// Longest run `n` points can make dense (see [`scan_run`]): `n / 0.6`,
/// with a margin for rounding.
fn dense_bound(n: usize) -> f32 {
    n as f32 / 0.6 * 1.001 + 0.01
}

/// Splits a run sorted by position `u` at gaps over `gap_px` and raises
/// `best` to the longest dense piece (at least 0.6 points per pixel of
/// length: a shaft's skeleton is dense along its line; sparse runs stitched
/// across gaps are spurs and noise). Ties keep the earlier piece. Returns
/// a bound on any dense piece these points can give: the longest piece,
/// each at most [`dense_bound`] of its point count.
fn scan_run(run: &[(f32, usize)], gap_px: f32, best: &mut Option<(f32, Vec<usize>)>) -> f32 {
    let mut start = 0;
    let mut longest = 0f32;
    for j in 1..=run.len() {
        let broken = j == run.len() || run[j].0 - run[j - 1].0 > gap_px;
        if broken {
            let len = run[j - 1].0 - run[start].0;
            longest = longest.max(len.min(dense_bound(j - start)));
            let dense = (j - start) as f32 >= 0.6 * len;
            if dense && best.as_ref().is_none_or(|bb| len > bb.0) {
                *best = Some((len, run[start..j].iter().map(|r| r.1).collect()));
            }
            start = j;
        }
    }
    longest
}

/// `x.floor() as i64` without the libm call (no SSE4.1 rounding in the
/// baseline x86-64 target): truncate, then step down below a negative
/// non-integer. Exact for every `f32`, NaN (0) and infinities (saturated) included.
#[inline]
fn floor_i64(x: f32) -> i64 {
    let t = x as i64;
    if (t as f32) > x {
        t.saturating_sub(1)
    } else {
        t
    }
}

/// A component's pixels as a bitmap over its bounding box.
struct ComponentMask {
    x0: i64,
    y0: i64,
    w: i64,
    h: i64,
    on: Vec<bool>,
}

impl ComponentMask {
    fn new(c: &Component) -> ComponentMask {
        let (x0, y0) = (i64::from(c.bbox[0]), i64::from(c.bbox[1]));
        let (w, h) = (i64::from(c.bbox[2]) - x0 + 1, i64::from(c.bbox[3]) - y0 + 1);
        let mut on = vec![false; (w * h).max(0) as usize];
        for &(x, y) in &c.pixels {
            on[((i64::from(y) - y0) * w + i64::from(x) - x0) as usize] = true;
        }
        ComponentMask { x0, y0, w, h, on }
    }

    /// Is the pixel nearest to `p` in the component?
    fn contains(&self, p: [f32; 2]) -> bool {
        let (x, y) = (
            (p[0] + 0.5).floor() as i64 - self.x0,
            (p[1] + 0.5).floor() as i64 - self.y0,
        );
        x >= 0 && y >= 0 && x < self.w && y < self.h && self.on[(y * self.w + x) as usize]
    }
}

/// Splits a shaft's polyline where its centre line crosses bare skin: a run
/// of at least one shaft width (`width_px`, and two samples) where the
/// centre profile `centre` (the hairness every `step_px` along `poly`, as
/// [`centre_profile`] reads it) falls below `gap_contrast` × the shaft's
/// full contrast (its 90th percentile), between two stretches whose median
/// contrasts are within `similar` of each other. A hair does not cross
/// skin: such a line is two shafts meeting end to end, joined by the
/// segment search across the gap (aligned clipped hairs of a
/// phototrichogram, a tip pointing at another hair's exit). A much fainter
/// stretch beyond the gap is the shaft's own sub-surface part or shadow,
/// and does not split. Returns the two pieces (as sample points every
/// `step_px`), each `None` when shorter than `min_len_px`: a short stretch
/// beyond a gap is what a crossing shaft left of the skeleton. `None`
/// when there is no such gap; `gap_contrast` 0 never splits.
fn split_at_skin_gap(
    poly: &[[f32; 2]],
    centre: &[f32],
    step_px: f32,
    width_px: f32,
    min_len_px: f32,
    gap_contrast: f32,
    similar: f32,
) -> Option<[Option<Vec<[f32; 2]>>; 2]> {
    if gap_contrast <= 0.0 {
        return None;
    }
    let full = quantile(centre, 0.9)?;
    if full <= 0.0 {
        return None;
    }
    let low = gap_contrast * full;
    let need = ((width_px / step_px).ceil() as usize).max(2);
    let min_samples = (min_len_px / step_px).ceil() as usize;
    let n = centre.len();
    let mut i = 0;
    while i < n {
        if centre[i] >= low {
            i += 1;
            continue;
        }
        let start = i;
        while i < n && centre[i] < low {
            i += 1;
        }
        // A run that reaches an end is a fading exit or tip, not a gap.
        if start == 0 || i == n || i - start < need {
            continue;
        }
        let l = quantile(&centre[..start], 0.5)?;
        let r = quantile(&centre[i..], 0.5)?;
        if l.min(r) >= similar * l.max(r) {
            let pts = measure::walk(poly, step_px);
            if pts.len() != n {
                return None;
            }
            let piece = |range: std::ops::Range<usize>| -> Option<Vec<[f32; 2]>> {
                (range.len() >= min_samples.max(2))
                    .then(|| pts[range].iter().map(|&(p, _)| p).collect())
            };
            return Some([piece(0..start), piece(i..n)]);
        }
    }
    None
}

/// Moves each end of a shaft's centre line outward along its direction to
/// half a width (`width_px`) short of where the line leaves the component,
/// never inward and by at most three widths.
///
/// A thinned skeleton's ends are ragged: where a shaft widens into its
/// opening or fades into its shadow, the skeleton may fork or stop at a
/// distance that depends on the pixel grid, and the segment fitted to it
/// with it. The component's own extent along the line does not, so every
/// end sits where a skeleton of a clean bar would: half a width inside.
fn extend_ends(poly: &mut [[f32; 2]], blob: &ComponentMask, width_px: f32) {
    let n = poly.len();
    if n < 2 {
        return;
    }
    let half = 0.5 * width_px;
    let reach = 3.0 * width_px;
    for (end, prev) in [(0, 1), (n - 1, n - 2)] {
        let t = unit(poly[prev], poly[end]);
        let at = |d: f32| [poly[end][0] + t[0] * d, poly[end][1] + t[1] * d];
        // Last distance (0.5 px steps) at which the line is still in the component.
        let mut inside = 0.0f32;
        let mut d = 0.5f32;
        while d <= reach + half && blob.contains(at(d)) {
            inside = d;
            d += 0.5;
        }
        let shift = (inside - half).clamp(0.0, reach);
        if shift > 0.0 {
            poly[end] = at(shift);
        }
    }
}

/// The visibility value (see [`Preprocessed::visible`]) of the pixel under
/// `p`, `None` off the frame.
fn visibility_at(visible: &GrayImage, p: [f32; 2]) -> Option<u8> {
    let (x, y) = ((p[0] + 0.5).floor(), (p[1] + 0.5).floor());
    (x >= 0.0 && y >= 0.0 && x < visible.width() as f32 && y < visible.height() as f32)
        .then(|| visible.get_pixel(x as u32, y as u32)[0])
}

/// For each sample point of a shaft (`walked`, from [`measure::walk`]),
/// whether both ends of the cross-section `reach_px` either side of the
/// centre line fall on visible pixels inside the frame, off ink
/// ([`super::preprocess::ON_INK`]).
fn section_clear(walked: &[([f32; 2], [f32; 2])], reach_px: f32, visible: &GrayImage) -> Vec<bool> {
    let seen = |p: [f32; 2]| visibility_at(visible, p) == Some(255);
    walked
        .iter()
        .map(|&(p, t)| {
            let n = [-t[1] * reach_px, t[0] * reach_px];
            seen([p[0] + n[0], p[1] + n[1]]) && seen([p[0] - n[0], p[1] - n[1]])
        })
        .collect()
}

/// Whether the pixel under `p` lies on ink ([`super::preprocess::ON_INK`]).
fn on_ink(visible: &GrayImage, p: [f32; 2]) -> bool {
    visibility_at(visible, p) == Some(super::preprocess::ON_INK)
}

/// Does the shaft's centre contrast start faint (below 0.7 of its median
/// over the first width from this end) and reach full contrast (0.9 of the
/// median) before the shaft's middle, with at least half of the faint
/// stretch clear of the frame? Then the end is a sub-surface shadow beyond
/// the exit, however long the shadow, or the paler root of a shaft leaving
/// the skin; a shaft cut by the frame is at full contrast where it is cut.
/// Measured against a limit of half the median: on the 600 images of the
/// accuracy report, 52 more hairs matched (71 more unmatched), `isolated`
/// density MAPE 7.7% → 7.3%; on real 70× validation images MAE 3.10 →
/// 3.00 (60 images) and 3.00 → 3.03 (270 others), box F1 0.555 → 0.555
/// and 0.563 → 0.573; on 992 training images MAE 2.92 → 2.95, F1 0.579 →
/// 0.585 (the counts rise a little: bias +1.19 → +1.35 hairs).
fn rises_from_end(s: &Shaft, at_start: bool, wpx: f32, step_px: f32) -> bool {
    let n = s.centre.len();
    let k = ((wpx / step_px).ceil() as usize).max(1);
    if n < 3 * k {
        return false;
    }
    let idx = |j: usize| if at_start { j } else { n - 1 - j };
    let at = |j: usize| s.centre[idx(j)];
    let head: Vec<f32> = (0..k).map(at).collect();
    if !quantile(&head, 0.5).is_some_and(|m| m < 0.7 * s.contrast) {
        return false;
    }
    let Some(rise) = (k..(n / 2).max(k)).find(|&j| at(j) >= 0.9 * s.contrast) else {
        return false;
    };
    // The faint stretch must lie in view: a shaft cut lengthwise by the
    // frame (entering it at a slant) is faint along a wedge whose
    // cross-sections run off the frame.
    s.clear.len() == n && (0..rise).filter(|&j| s.clear[idx(j)]).count() * 2 >= rise
}

/// Distance from `p` to a polyline, and the arc length along it (from its
/// start) of the nearest point.
fn nearest_on(poly: &[[f32; 2]], p: [f32; 2]) -> (f32, f32) {
    let (d, at, _) = nearest_with_direction(poly, p);
    (d, at)
}

/// [`nearest_on`], with the unit direction of the polyline's segment that
/// holds the nearest point.
fn nearest_with_direction(poly: &[[f32; 2]], p: [f32; 2]) -> (f32, f32, [f32; 2]) {
    let (mut best, mut at, mut s0, mut dir) = (f32::INFINITY, 0.0f32, 0.0f32, [1.0f32, 0.0]);
    for seg in poly.windows(2) {
        let (a, b) = (seg[0], seg[1]);
        let ab = [b[0] - a[0], b[1] - a[1]];
        let l2 = (ab[0] * ab[0] + ab[1] * ab[1]).max(1e-9);
        let l = l2.sqrt();
        let t = (((p[0] - a[0]) * ab[0] + (p[1] - a[1]) * ab[1]) / l2).clamp(0.0, 1.0);
        let q = [a[0] + t * ab[0], a[1] + t * ab[1]];
        let d = dist(p, q);
        if d < best {
            best = d;
            at = s0 + t * l;
            dir = [ab[0] / l, ab[1] / l];
        }
        s0 += l;
    }
    (best, at, dir)
}

/// Unit direction from end `e` (0 = start) of a shaft into the shaft.
fn inward(s: &Shaft, e: usize) -> [f32; 2] {
    let n = s.poly.len();
    if e == 0 {
        unit(s.poly[0], s.poly[1])
    } else {
        unit(s.poly[n - 1], s.poly[n - 2])
    }
}

fn dist(a: [f32; 2], b: [f32; 2]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

fn unit(a: [f32; 2], b: [f32; 2]) -> [f32; 2] {
    let d = dist(a, b).max(1e-6);
    [(b[0] - a[0]) / d, (b[1] - a[1]) / d]
}

/// Joins segments that continue each other (ends within `gap_px`, outward
/// directions within `max_bend_deg` of opposite, the second end within
/// `max_offset_px` of the first segment's continued line, and each segment
/// reaching at least half its length past the other's end) into polylines.
/// A short piece lying over another's end (what a crossing or a unit's
/// junction leaves of the skeleton) passes the first three tests with its
/// far end; joined, it would fold the line back on itself.
pub fn join_segments(
    segs: &[[[f32; 2]; 2]],
    gap_px: f32,
    max_offset_px: f32,
    max_bend_deg: f32,
) -> Vec<Vec<[f32; 2]>> {
    let mut polys: Vec<Vec<[f32; 2]>> = segs.iter().map(|s| vec![s[0], s[1]]).collect();
    let cos_lim = -(max_bend_deg.to_radians()).cos();
    loop {
        let mut merged = false;
        'outer: for i in 0..polys.len() {
            for j in (i + 1)..polys.len() {
                for ei in 0..2 {
                    for ej in 0..2 {
                        let pi = &polys[i];
                        let pj = &polys[j];
                        let (ai, ni) = if ei == 0 {
                            (pi[0], pi[1])
                        } else {
                            (pi[pi.len() - 1], pi[pi.len() - 2])
                        };
                        let (aj, nj) = if ej == 0 {
                            (pj[0], pj[1])
                        } else {
                            (pj[pj.len() - 1], pj[pj.len() - 2])
                        };
                        if dist(ai, aj) > gap_px {
                            continue;
                        }
                        let oi = unit(ni, ai);
                        let oj = unit(nj, aj);
                        if oi[0] * oj[0] + oi[1] * oj[1] > cos_lim {
                            continue;
                        }
                        // And the other end must lie near the continued line.
                        let off = ((aj[0] - ai[0]) * -oi[1] + (aj[1] - ai[1]) * oi[0]).abs();
                        if off > max_offset_px {
                            continue;
                        }
                        // Each must reach at least half its length past the
                        // other's end, not lie over it: a piece lying along
                        // another's end is crossing residue, and joined it
                        // would fold the line back.
                        let far_i = if ei == 0 { pi[pi.len() - 1] } else { pi[0] };
                        let far_j = if ej == 0 { pj[pj.len() - 1] } else { pj[0] };
                        let past = |far: [f32; 2], near: [f32; 2], at: [f32; 2], out: [f32; 2]| {
                            (far[0] - at[0]) * out[0] + (far[1] - at[1]) * out[1]
                                >= 0.5 * dist(far, near)
                        };
                        if !past(far_i, ai, aj, oj) || !past(far_j, aj, ai, oi) {
                            continue;
                        }
                        // Continuation also requires the gap not to turn sharply.
                        let mut a = polys[i].clone();
                        if ei == 0 {
                            a.reverse();
                        }
                        let mut b = polys[j].clone();
                        if ej == 1 {
                            b.reverse();
                        }
                        a.extend(b);
                        polys[i] = a;
                        polys.remove(j);
                        merged = true;
                        break 'outer;
                    }
                }
            }
        }
        if !merged {
            break;
        }
    }
    polys
}

/// A straight (or gently curved) shaft found in a component, with profiles.
#[derive(Debug, Clone)]
pub struct Shaft {
    /// Index of the component in the candidate list.
    pub component: usize,
    /// Centre line, pixels, from one skeleton end to the other.
    pub poly: Vec<[f32; 2]>,
    /// Width (FWHM, px) every sample step along `poly`, aligned with
    /// `centre` and `clear`; NaN where the cross-section has no peak.
    pub widths: Vec<f32>,
    /// Centre-line hairness every sample step along `poly`.
    pub centre: Vec<f32>,
    /// Median centre-line hairness.
    pub contrast: f32,
    /// Single-shaft width, px (10th percentile of the inner width profile).
    pub single_width_px: f32,
    /// Median width, px.
    pub median_width_px: f32,
    /// Parallel shafts in this band.
    pub n: u32,
    /// Width of this shaft alone (px) where its width profile steps up
    /// because another traced shaft lies beside it in one band (the
    /// counting stage's band reading): its diameter, rather than the
    /// median width, which holds the neighbour too.
    pub beside_width_px: Option<f32>,
    /// Whether the cross-section at each sample step lies inside the frame
    /// and the visible area (a width read across the frame edge is cut short).
    pub clear: Vec<bool>,
}

/// Contrast, relative to the shaft's, from which a step beyond an end is
/// another object rather than the shaft's shadow ([`end_score`]).
const SHADOW_MAX: f32 = 0.7;

/// "Exit-likeness" of one end of a shaft: `(1 − inner contrast)` over the last
/// two widths (fading into the subsurface shadow), plus the contrast found
/// beyond the end (shadow continuing the shaft), plus half the relative
/// widening over the last width (the opening); all relative to the shaft's
/// median contrast and width. A blunt cut tip scores about 0. "Contrast beyond
/// the end" is darkness against the skin (`dark_sign` = −1 turns the hairness
/// of a light-hair image into darkness), since openings and shadows are dark
/// whatever the hair's colour. Beyond a dark shaft it is read step by step
/// and counted only where fainter than 0.7 of the shaft (`SHADOW_MAX`):
/// darker is another object lying beyond the end, and a dust speck a few
/// pixels past a faint hair's tip would otherwise make that tip its exit.
/// Beyond a light shaft, whose opening may be far darker than the shaft is
/// light, darkness is the opening however dark, counted up to the shaft's
/// own contrast.
pub fn end_score(
    hairness: &GrayF32,
    s: &Shaft,
    at_start: bool,
    step_px: f32,
    dark_sign: f32,
) -> f32 {
    let wpx = s.median_width_px.max(1.0);
    let c = s.contrast.max(1e-6);
    let n = s.centre.len();
    if n == 0 {
        return 0.0;
    }
    let k = (((2.0 * wpx) / step_px).ceil() as usize).clamp(1, (n / 4).max(1));
    let inner: Vec<f32> = if at_start {
        s.centre[..k].to_vec()
    } else {
        s.centre[n - k..].to_vec()
    };
    let m_in = quantile(&inner, 0.5).unwrap_or(c) / c;
    let (end, prev) = if at_start {
        (s.poly[0], s.poly[1])
    } else {
        (s.poly[s.poly.len() - 1], s.poly[s.poly.len() - 2])
    };
    let t = unit(prev, end);
    let mut out = Vec::new();
    let mut d = 0.5 * wpx + 1.0;
    // Beyond the end, the strongest contrast across half a width each side
    // (the shadow of a shaft in a band need not lie on the band's centre line).
    let nrm = [-t[1], t[0]];
    let half = 0.5 * wpx;
    while d <= 2.5 * wpx + 1.0 {
        let mut best = 0f32;
        let mut o = -half;
        while o <= half {
            let (x, y) = (
                end[0] + t[0] * d + nrm[0] * o,
                end[1] + t[1] * d + nrm[1] * o,
            );
            best = best.max(dark_sign * measure::sample(hairness, x, y));
            o += 1.0;
        }
        out.push(best);
        d += step_px.max(0.5);
    }
    // A dark shaft's shadow continues it, fainter: a step beyond the end at
    // `SHADOW_MAX` of the shaft's contrast or more is another object (a
    // shaft, a dot, a speck of dust) and says nothing of this end. A light
    // shaft's opening and shadow are dark, with no fixed ratio to its own
    // contrast (a white hair's opening on pale skin is often darker than the
    // hair is light): every step counts, the mean up to the shaft's contrast.
    let step_max = if dark_sign > 0.0 {
        SHADOW_MAX * c
    } else {
        f32::INFINITY
    };
    let m_out = if out.is_empty() {
        0.0
    } else {
        let shadow = |v: f32| if v < step_max { v.max(0.0) } else { 0.0 };
        out.iter().map(|&v| shadow(v)).sum::<f32>() / out.len() as f32 / c
    };
    let m_out = m_out.min(1.0);
    let kw = ((wpx / step_px).ceil() as usize).clamp(1, (s.widths.len() / 4).max(1));
    let wend: &[f32] = if at_start {
        &s.widths[..kw.min(s.widths.len())]
    } else {
        &s.widths[s.widths.len() - kw.min(s.widths.len())..]
    };
    let blob = quantile(wend, 0.5).map_or(0.0, |x| (x / wpx - 1.2).max(0.0));
    (1.0 - m_in).clamp(0.0, 1.0) + m_out + 0.5 * blob.min(2.0)
}

/// Quantile of the widths of an image's single shafts taken as the width
/// of one shaft, against which a band without a width step is read as
/// several parallel shafts. Androgenetic alopecia mixes miniaturised shafts
/// with terminal ones two to three times as wide in one field
/// (anisotrichosis, more than 20% variation in shaft diameter, is one of its
/// trichoscopic criteria: Rakowska A. et al. (2009) Dermoscopy in female
/// androgenic alopecia: method standardization and diagnostic criteria. Int J
/// Trichology 1(2):123–130), so the median single shaft of such a field is a
/// thin one and a terminal shaft beside it reads as a pair or a triple. The
/// upper quartile is a terminal shaft wherever terminal shafts are common.
/// Measured against the median: the quartile cut the mean absolute count
/// error on 60 real 70× validation images from 3.37 to 3.07 hairs, and on
/// 268 others from 3.77 to 3.62; on the synthetic development set the
/// density MAPE moved from 22.2% to 22.5%, with 122 false positives and 53
/// true positives fewer.
const SINGLE_WIDTH_QUANTILE: f32 = 0.75;

/// How many parallel shafts lie in a band, from the quantiles `[q10, q60,
/// median]` of its solid widths (pixels), its length (pixels), the image's
/// typical single-shaft width (pixels, `None` when too few single shafts
/// were seen, see [`SINGLE_WIDTH_QUANTILE`]) and the width ratio that marks
/// a band (`count.split_width_ratio`). `None` for a single shaft; else the
/// number of shafts and the width of one of them.
///
/// Two readings. A *step*: one shaft continues beyond where others lie
/// beside it, so the narrow part (`q10`, itself a whole shaft: at least
/// 0.6 × typical) is one shaft, and the band (`q60`) holds `q60 / q10` of
/// them. *No step*: the whole band is `ratio + 0.2` typical widths or more.
/// Either reading needs a band at least three widths long.
///
/// Known limit: a step reads every shaft of the band as wide as the narrow
/// one, so a vellus shaft beside a terminal one reads as three or four.
/// Reading the rest of the band in typical shafts instead (`1 + (q60 −
/// q10) / typical`, at least two) was measured neutral: on the 600-image
/// accuracy set (`examples/accuracy_report.rs`, seed 2026) F1 0.611 →
/// 0.612, density MAPE 22.1% both, bias −5.7% → −6.1% (28 fewer true
/// hairs matched); on 992 real 70× training images MAE 2.91 → 2.90 hairs;
/// the 1 cm² demonstration cohort's month-12 change, −3.5 → −3.6 hairs/cm²
/// off the truth.
fn band_shafts(
    [q10, q60, med]: [f32; 3],
    len: f32,
    typical: Option<f32>,
    ratio: f32,
) -> Option<(f32, f32)> {
    let narrow_ok = typical.is_none_or(|t| q10 >= 0.6 * t);
    if q10 > 0.0 && q60 / q10 >= ratio && narrow_ok && len >= 3.0 * q60 {
        return Some(((q60 / q10).round(), q10));
    }
    let t = typical.filter(|&t| t > 0.0)?;
    if med / t >= ratio + 0.2 && len >= 3.0 * med {
        let n = (med / t).round();
        return Some((n, med / n));
    }
    None
}

/// Widest a crossing's bridge is read, in single-shaft widths (see
/// `CountConfig::bridge_max_length_widths`): two shafts crossing make a
/// piece about two wide; wider is a band of parallel shafts.
const BRIDGE_MAX_SINGLE_WIDTHS: f32 = 3.0;

/// Cosine of the widest angle (30°) between a shaft and another traced
/// shaft that lies beside it in one band ([`neighbours_beside`]); a shaft
/// crossing the band at a wider angle is not what makes it wide.
const PARALLEL_COS: f32 = 0.866;

/// How many other traced shafts lie within the wide part of a shaft's width
/// profile (samples at least 1.5 single-shaft widths `single_px` wide): the
/// median, over those samples, of the number of other shafts whose centre
/// line runs within half the measured width, within 30° of its direction
/// (`PARALLEL_COS`). Two hairs of a unit that leave one opening side by side
/// and touch along part of their length are traced as two shafts, and the
/// width of the pair, read along either of them, is not a third hair hidden
/// in the band.
///
/// Taking these neighbours off the band's count (with the crossing-bridge
/// cap of `bridge_max_length_widths` and the narrow part's width as such a
/// shaft's diameter, which came with it) measured, on 270 real 70×
/// validation images (`trichometry eval --ignore-border-fp`): count MAE 3.03
/// → 2.62 hairs, bias +1.56 → +0.43, CCC 0.521 → 0.573, box F1 0.573 both;
/// on the 600-image accuracy set density MAPE 21.2% → 20.8%, bias −6.9 →
/// −9.9 hairs/cm², F1 0.645 both (262 false hairs fewer, 117 true ones
/// fewer: 46 in the dense phototrichogram fields, which were already
/// undercounted, 42 in units_crossings).
fn neighbours_beside(shafts: &[Shaft], s: &Shaft, single_px: f32, step_px: f32) -> u32 {
    let pts = measure::walk(&s.poly, step_px);
    if pts.len() != s.widths.len() {
        return 0;
    }
    let mut counts: Vec<u32> = Vec::new();
    for (&(p, t), &w) in pts.iter().zip(&s.widths) {
        // (a NaN width, where the section has no peak, is not wide)
        let wide = w >= 1.5 * single_px;
        if !wide {
            continue;
        }
        let beside = shafts
            .iter()
            .filter(|o| !std::ptr::eq(*o, s))
            .filter(|o| {
                let (d, _, dir) = nearest_with_direction(&o.poly, p);
                d <= 0.5 * w && (t[0] * dir[0] + t[1] * dir[1]).abs() >= PARALLEL_COS
            })
            .count();
        counts.push(beside as u32);
    }
    if counts.is_empty() {
        return 0;
    }
    counts.sort_unstable();
    counts[counts.len() / 2]
}

/// How many parallel shafts each traced shaft holds (`Shaft::n`, and
/// `Shaft::single_width_px` for a band), from its width profile
/// ([`band_shafts`]) less the other traced shafts lying within its wide part
/// ([`neighbours_beside`]). Widths are read only where the centre line is at
/// full contrast (not the faded exit, not the shadow beyond it) and the
/// cross-section is clear of the frame and the masked area (a shaft cut
/// lengthwise by the frame narrows into a wedge, not into one of a pair of
/// shafts). `step_px` is the sampling step of the width profiles. Returns
/// the image's single-shaft width (pixels; see [`SINGLE_WIDTH_QUANTILE`]),
/// `None` when too few single shafts were seen.
fn read_bands(shafts: &mut [Shaft], cfg: &CountConfig, step_px: f32) -> Option<f32> {
    let ratio = cfg.split_width_ratio as f32;
    let solid_widths = |s: &Shaft| -> Vec<f32> {
        let nw = s.widths.len();
        let inner = if nw >= 10 {
            nw / 10..nw - nw / 10
        } else {
            0..nw
        };
        inner
            .filter(|&i| s.centre[i] >= 0.6 * s.contrast && s.clear[i])
            .map(|i| s.widths[i])
            .collect()
    };
    // The image's single-shaft width: shafts without a width step, long for
    // their width; the upper quartile of their widths, not the median, since
    // miniaturising scalps mix thin and terminal shafts (see
    // `SINGLE_WIDTH_QUANTILE`).
    let solid: Vec<Vec<f32>> = shafts.iter().map(solid_widths).collect();
    let singles: Vec<f32> = shafts
        .iter()
        .zip(&solid)
        .filter_map(|(s, w)| {
            let (q10, q60) = (quantile(w, 0.1)?, quantile(w, 0.6)?);
            let long = polyline_length(&s.poly) >= 4.0 * q60;
            (long && q10 > 0.0 && q60 / q10 < ratio).then_some(quantile(w, 0.5)?)
        })
        .collect();
    let typical = if singles.len() >= 5 {
        quantile(&singles, SINGLE_WIDTH_QUANTILE)
    } else {
        None
    };
    let mut bands: Vec<Option<(f32, f32, bool)>> = Vec::with_capacity(shafts.len());
    for (s, w) in shafts.iter().zip(&solid) {
        let (Some(q10), Some(q60), Some(med)) =
            (quantile(w, 0.1), quantile(w, 0.6), quantile(w, 0.5))
        else {
            bands.push(None);
            continue;
        };
        let len = polyline_length(&s.poly);
        bands.push(
            band_shafts([q10, q60, med], len, typical, ratio).map(|(k, single)| {
                let m = neighbours_beside(shafts, s, single, step_px);
                (k - m as f32, single, m > 0)
            }),
        );
    }
    for (s, band) in shafts.iter_mut().zip(bands) {
        s.n = 1;
        s.beside_width_px = None;
        match band {
            Some((k, single, _)) if k >= 2.0 => {
                s.n = (k as u32).clamp(1, cfg.max_hairs_per_band);
                s.single_width_px = single;
            }
            Some((_, single, true)) => s.beside_width_px = Some(single),
            _ => {}
        }
    }
    typical
}

/// Result of stage 5.
#[derive(Debug, Clone, Default)]
pub struct Counted {
    /// Counted hairs (ids 1.., unit ids 1..).
    pub hairs: Vec<Hair>,
    /// One decision per candidate component.
    pub decisions: Vec<ComponentDecision>,
    /// Sum of fractional weights of undecidable border hairs (density only).
    pub fractional: f64,
    /// Quality flags raised here.
    pub qc_flags: Vec<String>,
    /// What the later stages read of each counted hair's shaft, aligned
    /// with `hairs`.
    pub signals: Vec<HairSignal>,
}

/// What the blur estimate and the quality flags read of a counted hair's shaft.
#[derive(Debug, Clone, Default)]
pub struct HairSignal {
    /// Median centre-line contrast in noise σ.
    pub cnr: f32,
    /// Median cross-profile (`None` for a hair split out of a band of
    /// parallel shafts, whose profile is the band's); read by
    /// [`super::blur`] to estimate the image's blur.
    pub profile: Option<super::blur::CrossProfile>,
}

/// Is the true end (skeleton end pushed out by half a width) at the frame or
/// at a masked pixel?
fn at_edge(p: [f32; 2], t: [f32; 2], half_w: f32, visible: &GrayImage) -> bool {
    let (w, h) = visible.dimensions();
    let q = [p[0] + t[0] * half_w, p[1] + t[1] * half_w];
    let r = 2.5f32;
    if q[0] < r || q[1] < r || q[0] > w as f32 - 1.0 - r || q[1] > h as f32 - 1.0 - r {
        return true;
    }
    let ri = (half_w.max(1.0) + r).ceil() as i64;
    let (cx, cy) = (q[0].round() as i64, q[1].round() as i64);
    for dy in -ri..=ri {
        for dx in -ri..=ri {
            if dx * dx + dy * dy > ri * ri {
                continue;
            }
            let (x, y) = (cx + dx, cy + dy);
            if x < 0
                || y < 0
                || x >= i64::from(w)
                || y >= i64::from(h)
                || visible.get_pixel(x as u32, y as u32)[0] == 0
            {
                return true;
            }
        }
    }
    false
}

struct Candidate {
    shaft: usize,
    k: u32,
    exit: [f32; 2],
    tip: [f32; 2],
    length_px: f32,
    /// Length of the segmented shaft beyond the exit (a sub-surface shadow
    /// thresholded with it), pixels: part of the component's area.
    beyond_exit_px: f32,
    diameter_px: f32,
    weight: f64,
    /// The exit is an end shared with other shafts of the component (a fan).
    shared_exit: bool,
    /// Both ends look like cut tips and neither is shared: a loose clipping,
    /// unless the image shows no exit cues at all.
    loose: bool,
    /// Cut by the frame, with a visible end that looks cut: its exit lies
    /// outside the frame, unless the image shows no exit cues at all.
    cut_tip: bool,
}

/// Fewest free-standing shafts of one polarity from which the share of
/// loose clippings says whether an image shows exits
/// ([`CountConfig::max_loose_clipping_fraction`]).
pub const MIN_SHAFTS_FOR_EXIT_CUES: usize = 20;

/// Runs stage 5 on the hair-candidate components.
///
/// `pre` holds the hairness map, its noise level and polarity, and the
/// visibility mask; `analysed` is 255 where an exit point counts (visible ∩ ROI).
///
/// # Errors
/// [`crate::ErrorKind::Config`] on an invalid configuration.
pub fn count(
    candidates: &[&Component],
    pre: &Preprocessed,
    analysed: &GrayImage,
    scale: PixelScale,
    cfg: &CountConfig,
    mcfg: &MeasureConfig,
) -> Result<Counted> {
    cfg.validate()?;
    // The opening and the sub-surface shadow beyond an exit are darker than
    // the skin whatever the hair's colour: for light hairs on dark skin the
    // exit cue is the opposite sign of the hairness map.
    let dark_sign = if pre.polarity == Polarity::Light {
        -1.0
    } else {
        1.0
    };
    let (hairness, visible) = (&pre.hairness, &pre.visible);
    // A shaft must stand out of the skin's own texture and noise.
    let min_contrast =
        (cfg.min_shaft_contrast_sigma as f32 * pre.noise_sigma).max(cfg.min_shaft_contrast as f32);
    mcfg.validate()?;
    let step = scale.um_to_px(mcfg.sample_step_um).max(1.0) as f32;
    let max_half = scale.um_to_px(mcfg.max_half_width_um).max(3.0) as f32;
    let min_len_px = scale.um_to_px(cfg.min_hair_length_um) as f32;
    let mut shafts: Vec<Shaft> = Vec::new();
    let mut faint_comps: Vec<usize> = Vec::new();
    for (ci, c) in candidates.iter().enumerate() {
        let wpx = scale.um_to_px(c.width_um).max(1.0) as f32;
        let tol = (0.3 * wpx).max(1.5);
        let gap = (2.0 * wpx + 2.0).max(3.0);
        let remove = wpx.max(2.0);
        // Skeleton ends sit about half a width inside the shaft ends.
        let seg_min = (min_len_px - wpx).max(3.0 * wpx).max(3.0);
        let segs = extract_segments(&c.skeleton, tol, gap, remove, seg_min);
        let polys = join_segments(
            &segs,
            2.0 * gap + 2.0 * remove / 0.5,
            2.0 * tol + 2.0,
            cfg.max_bend_deg as f32,
        );
        let blob = ComponentMask::new(c);
        // Ends extended first; pieces split off at skin gaps keep theirs.
        let mut queue: Vec<Vec<[f32; 2]>> = polys
            .into_iter()
            .rev()
            .map(|mut p| {
                extend_ends(&mut p, &blob, wpx);
                p
            })
            .collect();
        while let Some(poly) = queue.pop() {
            let centre = centre_profile(hairness, &poly, step);
            if let Some([left, right]) = split_at_skin_gap(
                &poly,
                &centre,
                step,
                wpx,
                seg_min,
                cfg.skin_gap_contrast as f32,
                cfg.shadow_contrast_ratio as f32,
            ) {
                // Pieces shorter than a segment are what a crossing left.
                queue.extend(right);
                queue.extend(left);
                continue;
            }
            let widths: Vec<f32> = width_sections(hairness, &poly, step, max_half)
                .into_iter()
                .map(|w| w.unwrap_or(f32::NAN))
                .collect();
            let walked = measure::walk(&poly, step);
            let clear = section_clear(&walked, wpx + 1.0, visible);
            let nw = widths.len();
            // Missing widths (NaN) are skipped by `quantile`; so are widths
            // read across ink, which does not fall to the skin beside a shaft.
            let inner_range = if nw >= 10 {
                nw / 10..nw - nw / 10
            } else {
                0..nw
            };
            let off_ink: Vec<f32> =
                if walked.len() == nw && walked.iter().any(|&(p, _)| on_ink(visible, p)) {
                    inner_range
                        .clone()
                        .filter(|&i| !on_ink(visible, walked[i].0))
                        .map(|i| widths[i])
                        .collect()
                } else {
                    Vec::new()
                };
            let inner = if off_ink.iter().any(|w| !w.is_nan()) {
                &off_ink[..]
            } else {
                &widths[inner_range]
            };
            let single = quantile(inner, 0.1).unwrap_or(wpx);
            let median_w = quantile(inner, 0.5).unwrap_or(wpx);
            let contrast = quantile(&centre, 0.5).unwrap_or(0.0);
            if contrast < min_contrast {
                faint_comps.push(ci);
                continue;
            }
            shafts.push(Shaft {
                component: ci,
                poly,
                widths,
                centre,
                contrast,
                single_width_px: single,
                median_width_px: median_w,
                n: 1,
                beside_width_px: None,
                clear,
            });
        }
    }
    // Exit shadows: at an exit, the opening and the shaft's sub-surface
    // shadow threshold together with the shaft into one blob whose skeleton
    // spurs look like short extra shafts. A shaft far fainter than another of
    // its component, touching that shaft's end and short beside it, is that
    // shadow, not a hair.
    let n_before = shafts.len();
    let mut is_shadow = vec![false; n_before];
    for (i, s) in shafts.iter().enumerate() {
        let len_s = polyline_length(&s.poly);
        is_shadow[i] = shafts.iter().enumerate().any(|(j, t)| {
            if j == i || t.component != s.component {
                return false;
            }
            let wt = t.median_width_px.max(1.0);
            let len_t = polyline_length(&t.poly);
            let ends_t = [t.poly[0], t.poly[t.poly.len() - 1]];
            let touches = s.poly.iter().any(|&p| {
                ends_t
                    .iter()
                    .any(|&e| dist(p, e) <= cfg.shadow_reach_widths as f32 * wt)
            });
            s.contrast < cfg.shadow_contrast_ratio as f32 * t.contrast
                && len_s < (0.35 * len_t).max(4.0 * wt)
                && touches
        });
    }
    let mut shadow_comps: Vec<usize> = Vec::new();
    let mut idx = 0;
    shafts.retain(|s| {
        let keep = !is_shadow[idx];
        idx += 1;
        if !keep {
            shadow_comps.push(s.component);
        }
        keep
    });
    let typical = read_bands(&mut shafts, cfg, step);
    // End scores and shared ends.
    let ends: Vec<[[f32; 2]; 2]> = shafts
        .iter()
        .map(|s| [s.poly[0], s.poly[s.poly.len() - 1]])
        .collect();
    let mut result = Counted::default();
    let mut comp_hairs: Vec<u32> = vec![0; candidates.len()];
    let mut comp_reason: Vec<Vec<&'static str>> = vec![Vec::new(); candidates.len()];
    for c in shadow_comps {
        comp_reason[c].push("exit_shadow");
    }
    for c in faint_comps {
        comp_reason[c].push("below_noise");
    }
    let mut cands: Vec<Candidate> = Vec::new();
    // Shafts sharing no end and not cut by the frame.
    let mut free_standing = 0usize;
    for (si, s) in shafts.iter().enumerate() {
        let wpx = s.median_width_px.max(1.0);
        let len_px = polyline_length(&s.poly) + s.single_width_px.max(1.0);
        // Each end's exit score: its own cues, and a credit of 1 from each
        // shared-end rule that holds there.
        let mut own = [
            end_score(hairness, s, true, step, dark_sign),
            end_score(hairness, s, false, step, dark_sign),
        ];
        // On ink an end's cues cannot be read (the ink beyond it looks like
        // a shadow): it scores between a tip and an exit, so that an end on
        // skin showing its kind decides, and a shaft with a blunt end on
        // skin leaves the ink.
        let undecided = 0.5 * (cfg.tip_max_score + cfg.exit_min_score) as f32;
        for (e, o) in own.iter_mut().enumerate() {
            if on_ink(visible, ends[si][e]) {
                *o = o.min(undecided);
            }
        }
        let mut credit = [0.0f32; 2];
        let mut shared = [false, false];
        for e in 0..2 {
            let near = 2.0 * wpx + 3.0;
            // Hairs of one unit fan out of their common exit: both leave the
            // shared point on the same side (directions within 90°). A tip
            // that merely touches another hair's exit points the other way.
            // The other shaft may also carry on through the common stem, so
            // the end may meet its side close to its end (a fork).
            let away = inward(&shafts[si], e);
            shared[e] = shafts.iter().enumerate().any(|(sj, o)| {
                if sj == si || o.component != s.component {
                    return false;
                }
                let (d_side, along) = nearest_on(&o.poly, ends[si][e]);
                let len_o = polyline_length(&o.poly);
                let reach = (3.0 * near).max(0.3 * len_o);
                (0..2).any(|f| {
                    let d = inward(o, f);
                    let from_end = if f == 0 { along } else { len_o - along };
                    let meets = dist(ends[si][e], ends[sj][f]) <= near
                        || (d_side <= near && from_end <= reach);
                    meets && away[0] * d[0] + away[1] * d[1] > 0.0
                })
            });
            if shared[e] {
                credit[e] += 1.0;
            }
        }
        // Parallel shafts in one band share their exit: the end where the band is widest.
        if s.n >= 2 && s.widths.len() >= 4 {
            let k = (s.widths.len() / 4).max(1);
            let w0 = quantile(&s.widths[..k], 0.5).unwrap_or(0.0);
            let w1 = quantile(&s.widths[s.widths.len() - k..], 0.5).unwrap_or(0.0);
            let e = if w0 >= w1 { 0 } else { 1 };
            shared[e] = true;
            credit[e] += 1.0;
        }
        // Outward tangent at end `e`.
        let tang = |e: usize| {
            let d = inward(s, e);
            [-d[0], -d[1]]
        };
        let mut edge = [
            at_edge(ends[si][0], tang(0), wpx / 2.0, visible),
            at_edge(ends[si][1], tang(1), wpx / 2.0, visible),
        ];
        // An exit just inside the frame: what reaches the edge is the faint
        // shadow beyond the exit, and the shaft rises to full contrast inside.
        // A shaft cut by the frame is at full contrast where it is cut.
        for e in 0..2 {
            if edge[e] && !edge[1 - e] && rises_from_end(s, e == 0, wpx, step) {
                edge[e] = false;
                own[e] += 1.0;
            }
        }
        let score = [own[0] + credit[0], own[1] + credit[1]];
        if len_px < min_len_px {
            comp_reason[s.component].push("too_short");
            continue;
        }
        // A short, wide piece meeting other shafts at both ends is the
        // skeleton's bridge between them where they cross or fork.
        let bridge_wpx = typical.map_or(wpx, |t| wpx.min(BRIDGE_MAX_SINGLE_WIDTHS * t));
        if shared[0] && shared[1] && len_px < cfg.bridge_max_length_widths as f32 * bridge_wpx {
            comp_reason[s.component].push("crossing_bridge");
            continue;
        }
        let (mut loose, mut cut_tip) = (false, false);
        let (exit_e, weight) = match (edge[0], edge[1]) {
            (true, true) => {
                comp_reason[s.component].push("exit_outside_frame");
                continue;
            }
            (true, false) | (false, true) => {
                let free = if edge[0] { 1 } else { 0 };
                let sc = f64::from(score[free]);
                if sc >= cfg.exit_min_score {
                    (free, 1.0)
                } else {
                    cut_tip = sc <= cfg.tip_max_score;
                    (free, cfg.border_ambiguous_weight)
                }
            }
            (false, false) => {
                let mut e = if score[0] >= score[1] { 0 } else { 1 };
                // A shared end loses to a far end that shows the exit
                // clearly better on its own: a tip resting on another shaft.
                if shared[e]
                    && !shared[1 - e]
                    && own[1 - e] > own[e] + cfg.shared_exit_margin as f32
                {
                    e = 1 - e;
                }
                if !shared[0] && !shared[1] {
                    free_standing += 1;
                }
                loose = cfg.reject_loose_clippings
                    && f64::from(score[0].max(score[1])) < cfg.tip_max_score
                    && !shared[0]
                    && !shared[1];
                (e, 1.0)
            }
        };
        let half = s.single_width_px.max(1.0) / 2.0;
        let t_exit = tang(exit_e);
        let walkpts = measure::walk(&s.poly, step);
        // The exit is where the shaft reaches full contrast and stays there:
        // a segmented subsurface shadow beyond it is not part of the visible
        // shaft. Full contrast is read high on the centre profile (its 90th
        // percentile), since a long shadow pulls the median down to its own
        // level; "stays" is the median over the next width.
        let full = quantile(&s.centre, 0.9).unwrap_or(s.contrast);
        let strong = (0.5 * s.contrast).max(cfg.exit_full_contrast as f32 * full);
        let first_strong = if walkpts.len() == s.centre.len() && !walkpts.is_empty() {
            let n = walkpts.len();
            let k = ((wpx / step).ceil() as usize).max(2);
            // Sample index `j` steps from the exit end.
            let at = |j: usize| if exit_e == 0 { j } else { n - 1 - j };
            let mut ahead: Vec<f32> = Vec::with_capacity(k);
            (0..n)
                .position(|j| {
                    ahead.clear();
                    ahead.extend((j..(j + k).min(n)).map(|q| s.centre[at(q)]));
                    s.centre[at(j)] >= strong && quantile(&ahead, 0.5).is_some_and(|m| m >= strong)
                })
                .map(|j| (j, at(j)))
        } else {
            None
        };
        // `beyond_exit_px`: what of the segmented shaft lies beyond the exit.
        let (exit, len_px, beyond_exit_px) = match first_strong {
            Some((j, i)) if j > 0 => {
                let visible_px = (len_px - half - j as f32 * step).max(half);
                (walkpts[i].0, visible_px, len_px - visible_px)
            }
            _ => (
                [
                    ends[si][exit_e][0] + t_exit[0] * half,
                    ends[si][exit_e][1] + t_exit[1] * half,
                ],
                len_px,
                0.0,
            ),
        };
        let t_tip = tang(1 - exit_e);
        let tip_full = [
            ends[si][1 - exit_e][0] + t_tip[0] * half,
            ends[si][1 - exit_e][1] + t_tip[1] * half,
        ];
        // Parallel shafts in one band: the k-th reaches as far as the band is ≥ (k − ½) shafts wide.
        for k in 1..=s.n {
            let (tip, length_px) = if k == 1 || s.widths.len() != walkpts.len() {
                (tip_full, len_px)
            } else {
                let need = (k as f32 - 0.5) * s.single_width_px;
                let order: Vec<usize> = if exit_e == 0 {
                    (0..walkpts.len()).collect()
                } else {
                    (0..walkpts.len()).rev().collect()
                };
                let mut last = None;
                for &i in &order {
                    if s.widths[i] >= need {
                        last = Some(i);
                    }
                }
                match last {
                    Some(i) => {
                        let p = walkpts[i].0;
                        (p, dist(exit, p).max(s.single_width_px))
                    }
                    None => (tip_full, len_px),
                }
            };
            cands.push(Candidate {
                shaft: si,
                k,
                exit,
                tip,
                length_px,
                beyond_exit_px,
                diameter_px: if s.n > 1 {
                    s.single_width_px
                } else {
                    s.median_width_px
                },
                weight,
                shared_exit: shared[exit_e],
                loose,
                cut_tip,
            });
        }
    }
    // Loose clippings: strays among hairs are rejected; an image where they
    // are a large share of the free-standing shafts does not show exits:
    // they count, and a shaft cut by the frame may have its exit at either end.
    let loose: Vec<usize> = cands
        .iter()
        .filter(|c| c.k == 1 && c.loose)
        .map(|c| c.shaft)
        .collect();
    let no_exit_cues = !loose.is_empty()
        && free_standing >= MIN_SHAFTS_FOR_EXIT_CUES
        && loose.len() as f64 > cfg.max_loose_clipping_fraction * free_standing as f64;
    if no_exit_cues {
        result.qc_flags.push("no_exit_cues".to_string());
    } else {
        for si in loose {
            comp_reason[shafts[si].component].push("loose_clipping");
        }
        for c in cands.iter().filter(|c| c.k == 1 && c.cut_tip) {
            comp_reason[shafts[c.shaft].component].push("exit_outside_frame");
        }
        cands.retain(|c| !c.loose && !c.cut_tip);
    }
    // Area budget: the shafts found in a component cannot cover more than
    // its area (with 50% slack for overlaps at crossings and units); the
    // shortest are dropped first. This stops ragged skeletons from turning
    // one shaft into many.
    let full: Vec<f32> = candidates
        .iter()
        .map(|c| 1.5 * c.pixels.len() as f32)
        .collect();
    let mut budget = full.clone();
    cands.sort_by(|a, b| {
        b.length_px
            .total_cmp(&a.length_px)
            .then(a.shaft.cmp(&b.shaft))
    });
    cands.retain(|c| {
        let comp = shafts[c.shaft].component;
        let need = (c.length_px + c.beyond_exit_px) * c.diameter_px.max(1.0);
        // The longest shaft of a component is always kept.
        if budget[comp] >= need || budget[comp] == full[comp] {
            budget[comp] -= need;
            true
        } else {
            comp_reason[comp].push("over_area_budget");
            false
        }
    });
    cands.sort_by(|a, b| a.shaft.cmp(&b.shaft).then(a.k.cmp(&b.k)));
    // Exit inside the analysed area?
    let (w, h) = analysed.dimensions();
    let mut kept: Vec<Candidate> = Vec::new();
    for c in cands {
        let (ex, ey) = (c.exit[0].round(), c.exit[1].round());
        let inside = ex >= 0.0
            && ey >= 0.0
            && ex < w as f32
            && ey < h as f32
            && analysed.get_pixel(ex as u32, ey as u32)[0] != 0;
        let comp = shafts[c.shaft].component;
        if !inside {
            comp_reason[comp].push("exit_outside_area");
            continue;
        }
        if c.weight < 1.0 {
            result.fractional += c.weight;
            comp_reason[comp].push("border_ambiguous");
            continue;
        }
        comp_hairs[comp] += 1;
        kept.push(c);
    }
    // Units: same band, or exits within unit_radius.
    let r_unit = scale.um_to_px(cfg.unit_radius_um) as f32;
    let mut parent: Vec<usize> = (0..kept.len()).collect();
    fn find(p: &mut [usize], i: usize) -> usize {
        let mut r = i;
        while p[r] != r {
            r = p[r];
        }
        let mut j = i;
        while p[j] != r {
            let n = p[j];
            p[j] = r;
            j = n;
        }
        r
    }
    for i in 0..kept.len() {
        for j in (i + 1)..kept.len() {
            let (a, b) = (&kept[i], &kept[j]);
            // Hairs fanning out of one opening: shaft ends meet there (or
            // meet the side of the stem they share), while the estimated
            // exits sit where each shaft leaves the common stem, a little apart.
            let fan = (a.shared_exit || b.shared_exit)
                && shafts[a.shaft].component == shafts[b.shaft].component
                && dist(a.exit, b.exit) <= 3.0 * r_unit;
            if a.shaft == b.shaft || fan || dist(a.exit, b.exit) <= r_unit {
                let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                if a != b {
                    parent[b] = a;
                }
            }
        }
    }
    let mut unit_of: std::collections::HashMap<usize, u32> = std::collections::HashMap::new();
    for (i, c) in kept.iter().enumerate() {
        let root = find(&mut parent, i);
        let next = unit_of.len() as u32 + 1;
        let unit_id = *unit_of.entry(root).or_insert(next);
        // A shaft with a traced neighbour beside it in one band is as wide
        // as its narrow part; its median width (which set its share of the
        // component's area above) holds the neighbour too.
        let diameter_px = shafts[c.shaft].beside_width_px.unwrap_or(c.diameter_px);
        let d_um = scale.px_to_um(f64::from(diameter_px));
        let half = diameter_px / 2.0;
        let n = unit(c.exit, c.tip);
        let nn = [-n[1], n[0]];
        let xs = [
            c.exit[0] + nn[0] * half,
            c.exit[0] - nn[0] * half,
            c.tip[0] + nn[0] * half,
            c.tip[0] - nn[0] * half,
        ];
        let ys = [
            c.exit[1] + nn[1] * half,
            c.exit[1] - nn[1] * half,
            c.tip[1] + nn[1] * half,
            c.tip[1] - nn[1] * half,
        ];
        let clampx = |v: f32| v.round().clamp(0.0, (w.max(1) - 1) as f32) as u32;
        let clampy = |v: f32| v.round().clamp(0.0, (h.max(1) - 1) as f32) as u32;
        let bbox = [
            clampx(xs.iter().copied().fold(f32::INFINITY, f32::min)),
            clampy(ys.iter().copied().fold(f32::INFINITY, f32::min)),
            clampx(xs.iter().copied().fold(f32::NEG_INFINITY, f32::max)),
            clampy(ys.iter().copied().fold(f32::NEG_INFINITY, f32::max)),
        ];
        let _ = c.k;
        let s = &shafts[c.shaft];
        result.signals.push(HairSignal {
            cnr: s.contrast / pre.noise_sigma.max(f32::EPSILON),
            profile: if s.n == 1 {
                let half = (1.5 * s.median_width_px + 3.0).min(max_half);
                super::blur::cross_profile(hairness, &s.poly, step, half, max_half)
            } else {
                None
            },
        });
        result.hairs.push(Hair {
            id: i as u32 + 1,
            unit_id,
            class: measure::classify(d_um, &mcfg.classes, scale),
            diameter_um: d_um,
            length_um: scale.px_to_um(f64::from(c.length_px)),
            exit: [f64::from(c.exit[0]), f64::from(c.exit[1])],
            tip: [f64::from(c.tip[0]), f64::from(c.tip[1])],
            bbox,
        });
    }
    for (ci, c) in candidates.iter().enumerate() {
        let n = comp_hairs[ci];
        let n_shafts = shafts.iter().filter(|s| s.component == ci).count();
        let bands: u32 = shafts
            .iter()
            .filter(|s| s.component == ci)
            .map(|s| s.n)
            .sum();
        let mut reason = if n_shafts == 0 {
            "no_straight_shaft".to_string()
        } else if n == 0 {
            // Every reason, first the one that came first: a component whose
            // exit shadow was removed may have lost its shaft to another test.
            let mut r: Vec<&str> = Vec::new();
            for &x in &comp_reason[ci] {
                if !r.contains(&x) {
                    r.push(x);
                }
            }
            if r.is_empty() {
                "rejected".to_string()
            } else {
                r.join(",")
            }
        } else if n_shafts == 1 && bands == 1 {
            "hair".to_string()
        } else if n_shafts == 1 {
            format!("split_{bands}_parallel")
        } else {
            format!("split_{n}_segments")
        };
        if n > 0 && !comp_reason[ci].is_empty() {
            reason.push_str("; ");
            reason.push_str(&comp_reason[ci].join(","));
        }
        result.decisions.push(ComponentDecision {
            bbox: c.bbox,
            area_px: c.pixels.len() as u64,
            hairs: n,
            reason,
        });
    }
    // Unclipped field: long shafts.
    let lens: Vec<f32> = shafts
        .iter()
        .map(|s| scale.px_to_um(f64::from(polyline_length(&s.poly))) as f32)
        .collect();
    if let Some(m) = quantile(&lens, 0.5) {
        if f64::from(m) > cfg.unclipped_length_um {
            result.qc_flags.push("unclipped_field".to_string());
        }
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The direction search as first written, with a `BTreeMap` of bands
    /// and every band pair sorted: the reference [`RunSearch::longest`]
    /// must reproduce exactly.
    fn longest_run_reference(pts: &[[f32; 2]], tol: f32, gap_px: f32) -> Option<(f32, Vec<usize>)> {
        let mut buckets: std::collections::BTreeMap<i64, Vec<(f32, usize)>> =
            std::collections::BTreeMap::new();
        let mut best = None;
        for k in 0..90 {
            let a = std::f32::consts::PI * k as f32 / 90.0;
            let (c, s) = (a.cos(), a.sin());
            buckets.clear();
            for (i, p) in pts.iter().enumerate() {
                let d = -p[0] * s + p[1] * c;
                let u = p[0] * c + p[1] * s;
                buckets
                    .entry((d / tol).floor() as i64)
                    .or_default()
                    .push((u, i));
            }
            for (b, band) in &buckets {
                let mut run = band.clone();
                if let Some(n) = buckets.get(&(b + 1)) {
                    run.extend_from_slice(n);
                }
                if run.len() < 2 {
                    continue;
                }
                run.sort_by(|x, y| x.0.total_cmp(&y.0));
                scan_run(&run, gap_px, &mut best);
            }
        }
        best
    }

    /// Skeleton points of `scatter` and of straight `lines` `(x0, y0, x1,
    /// y1, thick)`, sorted and without repeats. Thick lines (a pixel right of
    /// and below each) put points of equal position in neighbouring bands,
    /// where tie order matters.
    fn drawn(lines: &[(u32, u32, u32, u32, bool)], scatter: Vec<(u32, u32)>) -> Vec<(u32, u32)> {
        let mut pts = scatter;
        for &(x0, y0, x1, y1, thick) in lines {
            let n = x0.abs_diff(x1).max(y0.abs_diff(y1)).max(1);
            let at = |a: u32, b: u32, t: u32| {
                (f64::from(a) + f64::from(t) / f64::from(n) * (f64::from(b) - f64::from(a))).round()
                    as u32
            };
            for t in 0..=n {
                let (x, y) = (at(x0, x1, t), at(y0, y1, t));
                pts.push((x, y));
                if thick {
                    pts.push((x + 1, y));
                    pts.push((x, y + 1));
                }
            }
        }
        pts.sort_unstable();
        pts.dedup();
        pts
    }

    /// Horizontal skeleton lines `(y, x0, len)`, one pixel apart.
    fn lines(rows: &[(u32, u32, u32)]) -> Vec<(u32, u32)> {
        rows.iter()
            .flat_map(|&(y, x0, len)| (x0..x0 + len).map(move |x| (x, y)))
            .collect()
    }

    /// A faint shaft (contrast 0.2, 5 px wide) along y = 20 from x = 30 to
    /// x = 90 on bare skin, as [`count`] describes it.
    fn faint_shaft() -> Shaft {
        let poly: Vec<[f32; 2]> = (30..=90).map(|x| [x as f32, 20.0]).collect();
        let n = poly.len();
        Shaft {
            component: 0,
            poly,
            widths: vec![5.0; n],
            centre: vec![0.2; n],
            contrast: 0.2,
            single_width_px: 5.0,
            median_width_px: 5.0,
            n: 1,
            beside_width_px: None,
            clear: vec![true; n],
        }
    }

    #[test]
    fn end_score_reads_a_shadow_but_not_a_speck_beyond_the_end() {
        let shaft = faint_shaft();
        let map = |speck: bool| {
            GrayF32::from_fn(120, 40, |x, y| {
                let v = if (18..=22).contains(&y) && (30..=90).contains(&x) {
                    0.2 // the shaft
                } else if (18..=22).contains(&y) && (15..30).contains(&x) {
                    0.1 // its sub-surface shadow beyond the exit, half as dark
                } else if speck && x == 97 && (19..=20).contains(&y) {
                    0.4 // a 1 × 2 px speck 7 px past the tip, darker than the shaft
                } else {
                    0.0
                };
                image::Luma([v])
            })
        };
        let (clean, specked) = (map(false), map(true));
        let exit = end_score(&clean, &shaft, true, 1.0, 1.0);
        let tip = end_score(&clean, &shaft, false, 1.0, 1.0);
        assert!((exit - 0.5).abs() < 1e-3, "exit {exit}");
        assert!(tip.abs() < 1e-3, "tip {tip}");
        // The speck says nothing of the tip: the same score, bit for bit.
        assert_eq!(end_score(&specked, &shaft, false, 1.0, 1.0), tip);
        assert_eq!(end_score(&specked, &shaft, true, 1.0, 1.0), exit);
    }

    #[test]
    fn end_score_reads_a_light_shafts_dark_opening() {
        // A light shaft (hairness positive) whose opening beyond the exit
        // is darker than the shaft is light: the exit still scores as one,
        // the tip not at all.
        let shaft = faint_shaft();
        let map = GrayF32::from_fn(120, 40, |x, y| {
            let v = if (18..=22).contains(&y) && (30..=90).contains(&x) {
                0.2
            } else if (17..=23).contains(&y) && (20..30).contains(&x) {
                -0.3
            } else {
                0.0
            };
            image::Luma([v])
        });
        let exit = end_score(&map, &shaft, true, 1.0, -1.0);
        let tip = end_score(&map, &shaft, false, 1.0, -1.0);
        assert!(exit >= 0.9, "exit {exit}");
        assert!(tip.abs() < 1e-3, "tip {tip}");
    }

    #[test]
    fn band_shafts_reads_steps_and_wide_bands() {
        let r = 1.6;
        // A step from a 5-px shaft to a 20-px band, 200 px long: without a
        // typical width, four shafts of 5 px.
        assert_eq!(
            band_shafts([5.0, 20.0, 19.0], 200.0, None, r),
            Some((4.0, 5.0))
        );
        // Three 8-px shafts, two beside the third for most of its length,
        // in an image whose single shafts are 8 px wide.
        assert_eq!(
            band_shafts([8.0, 24.0, 24.0], 200.0, Some(8.0), r),
            Some((3.0, 8.0))
        );
        // A narrow part thinner than 0.6 of a typical shaft is a tapering
        // end, not a whole shaft; the band is still read whole.
        assert_eq!(band_shafts([4.0, 14.0, 14.0], 200.0, Some(14.0), r), None);
        assert_eq!(
            band_shafts([4.0, 30.0, 28.0], 200.0, Some(14.0), r),
            Some((2.0, 14.0))
        );
        // Too short for its width, or no step and no typical width: one shaft.
        assert_eq!(band_shafts([5.0, 20.0, 19.0], 50.0, None, r), None);
        assert_eq!(band_shafts([10.0, 12.0, 11.0], 200.0, None, r), None);
    }

    /// A straight shaft along y from x = 0 to 200 (one sample per pixel),
    /// 10 px wide over its first half and 20 px over its second.
    fn stepped_shaft(y: f32) -> Shaft {
        let poly = vec![[0.0, y], [200.0, y]];
        let n = measure::walk(&poly, 1.0).len();
        Shaft {
            component: 0,
            poly,
            widths: (0..n)
                .map(|i| if i < n / 2 { 10.0 } else { 20.0 })
                .collect(),
            centre: vec![1.0; n],
            contrast: 1.0,
            single_width_px: 10.0,
            median_width_px: 15.0,
            n: 1,
            beside_width_px: None,
            clear: vec![true; n],
        }
    }

    #[test]
    fn a_band_traced_as_two_shafts_is_not_split_again() {
        let cfg = CountConfig::default();
        // Alone, the width step reads as a second shaft hidden in the band.
        let mut alone = vec![stepped_shaft(50.0)];
        read_bands(&mut alone, &cfg, 1.0);
        assert_eq!((alone[0].n, alone[0].single_width_px), (2, 10.0));
        // Two shafts traced side by side (centre lines 9 px apart), each
        // reading the pair's width along its wide half: one hair each.
        let mut pair = vec![stepped_shaft(50.0), stepped_shaft(59.0)];
        read_bands(&mut pair, &cfg, 1.0);
        assert_eq!(pair.iter().map(|s| s.n).collect::<Vec<_>>(), [1, 1]);
        // Each is as wide as its narrow part, not as the pair.
        assert!(pair.iter().all(|s| s.beside_width_px == Some(10.0)));
        assert_eq!(alone[0].beside_width_px, None);
        // A shaft far off explains nothing.
        let mut apart = vec![stepped_shaft(50.0), stepped_shaft(90.0)];
        read_bands(&mut apart, &cfg, 1.0);
        assert_eq!(apart.iter().map(|s| s.n).collect::<Vec<_>>(), [2, 2]);
        // Three shafts in one band: the middle one sees both others.
        let mut wide = vec![stepped_shaft(50.0), stepped_shaft(59.0)];
        for w in wide[0].widths.iter_mut().filter(|w| **w > 10.0) {
            *w = 30.0;
        }
        read_bands(&mut wide, &cfg, 1.0);
        assert_eq!(
            wide[0].n, 2,
            "a band three shafts wide with one traced neighbour"
        );
    }

    #[test]
    fn a_tangle_gives_more_than_the_first_segments() {
        // Thirty well separated 80-px shafts in one skeleton: all are found,
        // not only the first SEGMENTS_BEFORE_TAIL.
        let rows: Vec<(u32, u32, u32)> = (0..30).map(|i| (10 * i, 0, 80)).collect();
        let segs = extract_segments(&lines(&rows), 1.5, 6.0, 3.0, 30.0);
        assert_eq!(segs.len(), 30);
    }

    #[test]
    fn runs_beside_the_segments_taken_are_residue_past_the_first() {
        // Fourteen 80-px shafts 10 px apart, and six 40-px bits (above the
        // 30-px minimum) 4 px beside the first six: outside the 3-px removal
        // band, inside the 4.5-px residue zone. Past SEGMENTS_BEFORE_TAIL
        // segments the bits are residue, and the search goes on past them.
        let shafts: Vec<(u32, u32, u32)> = (0..14).map(|i| (10 * i, 0, 80)).collect();
        let beside: Vec<(u32, u32, u32)> = (0..6).map(|i| (10 * i + 4, 20, 40)).collect();
        let rows = [shafts.clone(), beside.clone()].concat();
        assert_eq!(
            extract_segments(&lines(&rows), 1.5, 6.0, 3.0, 30.0).len(),
            14
        );
        // Before that many segments they are taken.
        let few = [shafts[..6].to_vec(), beside].concat();
        assert_eq!(
            extract_segments(&lines(&few), 1.5, 6.0, 3.0, 30.0).len(),
            12
        );
        // Short shafts clear of the others are shafts, however many came before.
        let apart: Vec<(u32, u32, u32)> = (0..6).map(|i| (200 + 10 * i, 0, 40)).collect();
        let rows = [shafts, apart].concat();
        assert_eq!(
            extract_segments(&lines(&rows), 1.5, 6.0, 3.0, 30.0).len(),
            20
        );
    }

    /// A hairness map with horizontal bars `(x0, x1, value)` 6 px thick
    /// along y = 20 on zero skin.
    fn bars(spans: &[(u32, u32, f32)]) -> GrayF32 {
        GrayF32::from_fn(140, 40, |x, y| {
            let v = spans
                .iter()
                .find(|&&(a, b, _)| (a..b).contains(&x) && (17..23).contains(&y))
                .map_or(0.0, |s| s.2);
            image::Luma([v])
        })
    }

    /// [`split_at_skin_gap`] along y = 20 from x = 5 to `x1`, contrast
    /// `gap`, on the centre profile read from `h`.
    fn split_with(
        h: &GrayF32,
        x1: f32,
        min_len: f32,
        gap: f32,
    ) -> Option<[Option<Vec<[f32; 2]>>; 2]> {
        let poly = [[5.0, 20.0], [x1, 20.0]];
        let centre = centre_profile(h, &poly, 1.0);
        split_at_skin_gap(&poly, &centre, 1.0, 6.0, min_len, gap, 0.4)
    }

    fn split(h: &GrayF32, x1: f32, min_len: f32) -> Option<[Option<Vec<[f32; 2]>>; 2]> {
        split_with(h, x1, min_len, 0.2)
    }

    #[test]
    fn two_shafts_end_to_end_split_at_the_skin_between() {
        let [Some(left), Some(right)] =
            split(&bars(&[(0, 55, 1.0), (75, 140, 0.8)]), 124.0, 10.0).unwrap()
        else {
            panic!("both pieces are shafts");
        };
        // The pieces end where the skin starts, at the bars' ends.
        assert!(
            (left[left.len() - 1][0] - 54.0).abs() <= 1.0,
            "{:?}",
            left.last()
        );
        assert!((right[0][0] - 75.0).abs() <= 1.0, "{:?}", right.first());
        assert_eq!(left[0], [5.0, 20.0]);
    }

    #[test]
    fn a_whole_shaft_a_faint_continuation_or_a_narrow_gap_do_not_split() {
        assert!(split(&bars(&[(0, 140, 1.0)]), 124.0, 10.0).is_none());
        // Beyond the gap, a stretch at 0.15 of the shaft's contrast: its shadow.
        assert!(split(&bars(&[(0, 55, 1.0), (75, 140, 0.15)]), 124.0, 10.0).is_none());
        // A gap narrower than the shaft (4 px < 6 px): a dip, not skin.
        assert!(split(&bars(&[(0, 55, 1.0), (59, 140, 1.0)]), 124.0, 10.0).is_none());
        // Rule off.
        let h = bars(&[(0, 55, 1.0), (75, 140, 1.0)]);
        assert!(split_with(&h, 124.0, 10.0, 0.2).is_some());
        assert!(split_with(&h, 124.0, 10.0, 0.0).is_none());
    }

    #[test]
    fn a_short_stretch_beyond_a_gap_is_dropped() {
        // 10 px beyond the gap, with segments of at least 20 px: residue.
        let [Some(left), None] = split(&bars(&[(0, 55, 1.0), (75, 85, 1.0)]), 84.0, 20.0).unwrap()
        else {
            panic!("the long piece stays, the short one goes");
        };
        assert!((left[left.len() - 1][0] - 54.0).abs() <= 1.0);
    }

    #[test]
    fn join_segments_continues_but_never_folds_back() {
        let long = [[0.0, 0.0], [100.0, 0.0]];
        // A piece lying over the long one's start, its far end pointing at it.
        let over = [[1.0, 1.0], [12.0, 1.0]];
        let polys = join_segments(&[long, over], 20.0, 3.0, 35.0);
        assert_eq!(polys.len(), 2, "{polys:?}");
        // A piece continuing it past a gap is joined.
        let before = [[-50.0, 1.0], [-6.0, 0.5]];
        let polys = join_segments(&[long, before], 20.0, 3.0, 35.0);
        assert_eq!(
            polys,
            vec![vec![[100.0, 0.0], [0.0, 0.0], [-6.0, 0.5], [-50.0, 1.0]]]
        );
    }

    #[test]
    fn floor_matches_std() {
        let v = [
            0.0f32,
            -0.0,
            0.5,
            -0.5,
            1.0,
            -1.0,
            2.999,
            -2.999,
            1e10,
            -1e10,
            8_388_607.5,
            -8_388_607.5,
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MIN_POSITIVE,
            -f32::MIN_POSITIVE,
        ];
        for x in v {
            assert_eq!(floor_i64(x), x.floor() as i64, "{x}");
        }
    }

    proptest! {
        #[test]
        fn floor_matches_std_everywhere(x in any::<f32>()) {
            prop_assert_eq!(floor_i64(x), x.floor() as i64);
        }

        // Lines, crossings and scattered points: the same longest run, same bits.
        #[test]
        fn longest_run_matches_reference(
            lines in proptest::collection::vec((0u32..60, 0u32..60, 0u32..60, 0u32..60, any::<bool>()), 0..4),
            scatter in proptest::collection::vec((0u32..60, 0u32..60), 0..30),
        ) {
            let pts = drawn(&lines, scatter);
            let pts: Vec<[f32; 2]> = pts.iter().map(|&(x, y)| [x as f32, y as f32]).collect();
            let fast = RunSearch::default().longest(&pts, 1.5, 6.0);
            let slow = longest_run_reference(&pts, 1.5, 6.0);
            prop_assert_eq!(fast, slow);
        }
    }

    proptest! {
        // The reference searches every direction every round: slow, so few cases.
        #![proptest_config(ProptestConfig::with_cases(24))]

        // Round after round, the pruned search (directions skipped by the
        // bounds of earlier rounds) takes the same segments as a full search
        // every round: tangles of up to 40 lines, thick or thin, and scatter.
        #[test]
        fn segments_match_full_search(
            lines in proptest::collection::vec((0u32..120, 0u32..120, 0u32..120, 0u32..120, any::<bool>()), 1..40),
            scatter in proptest::collection::vec((0u32..120, 0u32..120), 0..40),
            min_len in 4.0f32..30.0,
        ) {
            let pts = drawn(&lines, scatter);
            let fast = extract_segments(&pts, 1.5, 6.0, 2.0, min_len);
            let slow = segments_by(&pts, 1.5, 6.0, 2.0, min_len, longest_run_reference);
            prop_assert_eq!(fast, slow);
        }
    }
}
