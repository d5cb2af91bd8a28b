//! The same scalp patch photographed again: repeatability captures and later
//! visits with hairs gained, lost, grown and thinned.
//!
//! Follicle ids are stable: a hair kept from one visit to the next keeps its
//! `follicle_id`; gained hairs get new ids, lost hairs' ids are never reused.
//! The truth of every image lists `follicle_id`, so hairs link across images.
//!
//! ```
//! use trichometry::synth::{Patch, Scenario, VisitChange, rng::SynthRng};
//! let mut rng = SynthRng::from_label("cohort", &[1, 0]);
//! let base = Patch::random_with_density(&Scenario::Isolated.params(), [8000.0, 8000.0], 85.0, &mut rng);
//! let change = VisitChange { density_change_per_cm2: 35.0, ..VisitChange::default() };
//! let later = base.evolve(&change, &mut rng);
//! let delta = later.hairs.len() as i64 - base.hairs.len() as i64;
//! assert_eq!(delta, (35.0 * base.area_cm2()).round() as i64);
//! ```

use serde::{Deserialize, Serialize};

use super::capture::Capture;
use super::rng::SynthRng;
use super::scene::Patch;

/// How a patch changes between two visits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VisitChange {
    /// Net change of hair density over the patch, hairs/cm² (rounded to whole hairs).
    pub density_change_per_cm2: f64,
    /// Fraction of existing hairs lost (shed) and, if the net change allows, replaced by new ones; 0–1.
    pub loss_fraction: f64,
    /// Mean change of clipped shaft length, µm (growth since clipping; negative = clipped shorter).
    pub length_change_um: f64,
    /// Standard deviation of the per-hair length change, µm.
    pub length_change_sd_um: f64,
    /// Mean change of shaft diameter, µm (negative = thinning, miniaturisation).
    pub diameter_change_um: f64,
    /// Standard deviation of the per-hair diameter change, µm.
    pub diameter_change_sd_um: f64,
}

impl Default for VisitChange {
    fn default() -> Self {
        VisitChange {
            density_change_per_cm2: 0.0,
            loss_fraction: 0.0,
            length_change_um: 0.0,
            length_change_sd_um: 0.0,
            diameter_change_um: 0.0,
            diameter_change_sd_um: 0.0,
        }
    }
}

/// Shortest shaft kept after a length change, µm.
pub const MIN_LENGTH_UM: f64 = 50.0;
/// Thinnest shaft kept after a diameter change, µm.
pub const MIN_DIAMETER_UM: f64 = 5.0;

impl Patch {
    /// The patch at a later visit.
    ///
    /// Exactly `lost = round(n · loss_fraction)` hairs are removed (more if the
    /// net change asks for it) and `gained = round(Δdensity · area) + lost` new
    /// hairs are added (at least 0), so the hair count changes by exactly
    /// `round(density_change_per_cm2 · area_cm2)` unless that would drop below zero.
    /// Gained hairs form new single-hair units at free spots or join an
    /// existing unit of fewer than 4 hairs. Survivors keep their id, exit,
    /// direction and colour; their length and diameter change as asked.
    pub fn evolve(&self, change: &VisitChange, rng: &mut SynthRng) -> Patch {
        let mut p = self.clone();
        let n = p.hairs.len() as i64;
        let net = (change.density_change_per_cm2 * p.area_cm2()).round() as i64;
        let mut lost = (n as f64 * change.loss_fraction.clamp(0.0, 1.0)).round() as i64;
        if net + lost < 0 {
            lost = (-net).min(n);
        }
        let gained = (net + lost).max(0);
        // Remove `lost` distinct hairs (partial Fisher–Yates over indices).
        let mut idx: Vec<usize> = (0..p.hairs.len()).collect();
        for i in 0..lost as usize {
            let j = i + rng.below((idx.len() - i) as u64) as usize;
            idx.swap(i, j);
        }
        let mut remove = idx[..lost as usize].to_vec();
        remove.sort_unstable();
        for &i in remove.iter().rev() {
            p.hairs.remove(i);
        }
        for h in &mut p.hairs {
            h.length_um = (h.length_um
                + rng.gauss(change.length_change_um, change.length_change_sd_um))
            .max(MIN_LENGTH_UM);
            h.diameter_um = (h.diameter_um
                + rng.gauss(change.diameter_change_um, change.diameter_change_sd_um))
            .max(MIN_DIAMETER_UM);
        }
        let spacing = p.params.min_unit_spacing_um;
        for _ in 0..gained {
            // Join an existing small unit 30% of the time, else start a new unit.
            if rng.chance(0.3) && !p.hairs.is_empty() {
                let k = rng.below(p.hairs.len() as u64) as usize;
                let unit = p.hairs[k].unit_id;
                let members: Vec<usize> = (0..p.hairs.len())
                    .filter(|&i| p.hairs[i].unit_id == unit)
                    .collect();
                if members.len() < 4 {
                    let last = &p.hairs[*members.last().unwrap_or(&k)];
                    let theta = last.direction_rad;
                    let off = 0.9 * last.diameter_um;
                    let exit = [
                        last.exit_um[0] - off * theta.sin(),
                        last.exit_um[1] + off * theta.cos(),
                    ];
                    let dir = theta + rng.gauss(0.0, 0.05);
                    let depth = last.depth + 0.0005;
                    let mut h = p.draw_hair(unit, exit, dir, rng);
                    h.depth = depth;
                    p.hairs.push(h);
                    continue;
                }
            }
            let spot = p
                .free_spot(rng, 0.5 * spacing)
                .or_else(|| p.free_spot(rng, 0.0));
            let Some(s) = spot else { continue };
            p.add_unit(s, 1, rng);
        }
        p
    }
}

/// How much a repeat photograph of the same spot differs from the first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RepeatJitter {
    /// Standard deviation of the frame shift, µm (each axis).
    pub shift_sd_um: f64,
    /// Standard deviation of the frame rotation, degrees.
    pub rotation_sd_deg: f64,
    /// Standard deviation of the relative brightness change.
    pub brightness_sd: f64,
    /// Largest added defocus, σ in µm.
    pub defocus_max_um: f64,
}

impl Default for RepeatJitter {
    fn default() -> Self {
        RepeatJitter {
            shift_sd_um: 150.0,
            rotation_sd_deg: 3.0,
            brightness_sd: 0.05,
            defocus_max_um: 3.0,
        }
    }
}

impl Capture {
    /// A repeat photograph: the frame shifted and rotated a little, the lighting
    /// and focus changed, new sensor noise and new bubbles/glare positions kept.
    pub fn reimage(&self, jitter: &RepeatJitter, rng: &mut SynthRng) -> Capture {
        let shift = [
            rng.gauss(0.0, jitter.shift_sd_um),
            rng.gauss(0.0, jitter.shift_sd_um),
        ];
        let rot = rng.gauss(0.0, jitter.rotation_sd_deg).to_radians();
        let mut c = self.moved(shift, rot, rng.next_u64());
        c.brightness =
            (c.brightness * (1.0 + rng.gauss(0.0, jitter.brightness_sd))).clamp(0.2, 2.0);
        c.gradient_dir_rad += rng.gauss(0.0, 0.3);
        let extra = rng.range(0.0, jitter.defocus_max_um) / c.pixel_size_um;
        c.blur_sigma_px = (c.blur_sigma_px * c.blur_sigma_px + extra * extra).sqrt();
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::Scenario;

    // Losses and gains are exact, survivors keep their ids, new ids are fresh.
    #[test]
    fn evolve_keeps_ids_and_counts() {
        let mut rng = SynthRng::from_label("evolve", &[0]);
        let base = Patch::random_with_density(
            &Scenario::Mixed.params(),
            [6000.0, 5000.0],
            150.0,
            &mut rng,
        );
        let change = VisitChange {
            density_change_per_cm2: -20.0,
            loss_fraction: 0.1,
            length_change_um: 100.0,
            diameter_change_um: -3.0,
            ..VisitChange::default()
        };
        let next = base.evolve(&change, &mut rng);
        let n0 = base.hairs.len() as i64;
        let net = (-20.0f64 * base.area_cm2()).round() as i64;
        assert_eq!(next.hairs.len() as i64, n0 + net);
        let old: std::collections::BTreeMap<u64, &crate::synth::PatchHair> =
            base.hairs.iter().map(|h| (h.follicle_id, h)).collect();
        // 10 % shed, but at least as many as the net loss asks for.
        let lost = ((n0 as f64 * 0.1).round() as i64).max(-net) as usize;
        let kept = next
            .hairs
            .iter()
            .filter(|h| old.contains_key(&h.follicle_id))
            .count();
        assert_eq!(kept, base.hairs.len() - lost);
        for h in &next.hairs {
            match old.get(&h.follicle_id) {
                Some(o) => {
                    assert_eq!(o.exit_um, h.exit_um);
                    assert!(
                        (h.length_um - o.length_um - 100.0).abs() < 1e-9
                            || h.length_um == MIN_LENGTH_UM
                    );
                }
                None => assert!(h.follicle_id >= base.next_follicle_id),
            }
        }
    }
}
