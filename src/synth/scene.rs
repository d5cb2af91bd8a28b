//! Scalp geometry in physical units: follicles, hairs and look-alikes of a patch.
//!
//! A [`Patch`] is a piece of scalp, centred on the origin, in µm (x right, y
//! down). It holds everything that belongs to the skin and stays put between
//! photographs: exit points, unit membership, growth directions, shaft
//! lengths, diameters and colours, the skin's tone and texture seed, and
//! objects lying on the skin. A [`crate::synth::Capture`] then says how one
//! photograph sees it.

use serde::{Deserialize, Serialize};

use super::rng::SynthRng;
use super::scenario::SynthParams;
use crate::report::HairClass;

/// Pigmentation of a hair shaft, which sets its colour and opacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pigment {
    /// Black / dark brown (eumelanin): high contrast on light skin.
    Dark,
    /// Mid brown.
    Brown,
    /// Grey (partly unpigmented).
    Grey,
    /// Blond / light yellow-brown.
    Blond,
    /// White, unpigmented.
    White,
}

impl Pigment {
    /// Linear-light RGB colour and opacity of a shaft of this pigment.
    pub fn colour_opacity(self) -> ([f32; 3], f32) {
        match self {
            Pigment::Dark => ([0.012, 0.011, 0.012], 0.97),
            Pigment::Brown => ([0.05, 0.03, 0.018], 0.92),
            Pigment::Grey => ([0.30, 0.30, 0.31], 0.6),
            Pigment::Blond => ([0.42, 0.30, 0.15], 0.55),
            Pigment::White => ([0.72, 0.72, 0.70], 0.5),
        }
    }

    /// Whether the pigment is light (low contrast on light skin).
    pub fn is_light(self) -> bool {
        matches!(self, Pigment::Grey | Pigment::Blond | Pigment::White)
    }
}

/// Diameter class by the counting convention: vellus < 30 µm, terminal > 60 µm.
pub fn class_of(diameter_um: f64) -> HairClass {
    if diameter_um < 30.0 {
        HairClass::Vellus
    } else if diameter_um > 60.0 {
        HairClass::Terminal
    } else {
        HairClass::Intermediate
    }
}

/// One hair of a patch, in µm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchHair {
    /// Identifies the follicle across photographs and visits.
    pub follicle_id: u64,
    /// Follicular unit; hairs of one unit leave the same opening.
    pub unit_id: u32,
    /// Exit point (where the shaft leaves the skin), µm.
    pub exit_um: [f64; 2],
    /// Direction of the shaft at the exit, radians (0 = +x, π/2 = +y, i.e. down).
    pub direction_rad: f64,
    /// Signed curvature of the shaft, 1/µm (constant along it: a circular arc).
    pub curvature_per_um: f64,
    /// Visible (clipped) length from exit to cut tip, µm.
    pub length_um: f64,
    /// Shaft diameter, µm.
    pub diameter_um: f64,
    /// Pigmentation.
    pub pigment: Pigment,
    /// Angle of the cut face against the perpendicular of the shaft, radians (0 = square cut).
    pub cut_angle_rad: f64,
    /// Length of the shaft's shadow under the skin behind the exit, µm.
    pub subsurface_um: f64,
    /// Drawing order: larger is drawn later (on top at crossings).
    pub depth: f64,
}

impl PatchHair {
    /// Diameter class.
    pub fn class(&self) -> HairClass {
        class_of(self.diameter_um)
    }

    /// Centre line from exit to tip as a polyline in µm, `segments + 1` points.
    pub fn path_um(&self, segments: usize) -> Vec<[f64; 2]> {
        let n = segments.max(1);
        let ds = self.length_um / n as f64;
        let mut p = self.exit_um;
        let mut out = Vec::with_capacity(n + 1);
        out.push(p);
        for i in 0..n {
            // Midpoint rule along the arc: exact direction at the middle of each step.
            let theta = self.direction_rad + self.curvature_per_um * ds * (i as f64 + 0.5);
            p = [p[0] + ds * theta.cos(), p[1] + ds * theta.sin()];
            out.push(p);
        }
        out
    }
}

/// Kinds of objects that are not hair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LookalikeKind {
    /// Empty follicular opening.
    Opening,
    /// Black / brown dot.
    Dot,
    /// Tattoo (marking) ink dot.
    Tattoo,
    /// Scale / dandruff flake.
    Flake,
    /// Pigment speck.
    Pigment,
    /// Loose cut hair clipping lying on the skin.
    Clipping,
    /// Air bubble in immersion fluid.
    Bubble,
    /// Specular glare.
    Glare,
}

impl LookalikeKind {
    /// Name used in sidecars.
    pub fn name(self) -> &'static str {
        match self {
            LookalikeKind::Opening => "opening",
            LookalikeKind::Dot => "dot",
            LookalikeKind::Tattoo => "tattoo",
            LookalikeKind::Flake => "flake",
            LookalikeKind::Pigment => "pigment",
            LookalikeKind::Clipping => "clipping",
            LookalikeKind::Bubble => "bubble",
            LookalikeKind::Glare => "glare",
        }
    }
}

/// A non-hair object, in µm (patch coordinates for skin objects, frame-centred
/// coordinates for bubbles and glare, which belong to one capture).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lookalike {
    /// What it is.
    pub kind: LookalikeKind,
    /// Centre, µm.
    pub center_um: [f64; 2],
    /// Size (diameter; length for clippings), µm.
    pub size_um: f64,
    /// Orientation, radians (clippings, flakes).
    pub angle_rad: f64,
    /// Shaft diameter of a clipping, µm (0 otherwise).
    pub width_um: f64,
    /// Seed of the object's irregular outline.
    pub shape_seed: u64,
}

/// Skin appearance of a patch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skin {
    /// 0 = very light … 1 = very dark.
    pub tone: f64,
    /// Mottling amplitude, 0–1.
    pub mottling: f64,
    /// Fine texture amplitude, 0–1.
    pub texture: f64,
    /// Seed of the texture (fixed in physical coordinates, so it moves with the patch).
    pub seed: u64,
}

/// A piece of scalp with its follicles, in µm, centred on the origin.
///
/// ```
/// use trichometry::synth::{Patch, Scenario, rng::SynthRng};
/// let mut rng = SynthRng::from_label("doc", &[1]);
/// let patch = Patch::random(&Scenario::Isolated.params(), [4000.0, 3000.0], &mut rng);
/// let density = patch.hairs.len() as f64 / patch.area_cm2();
/// assert!(density > 10.0 && density < 200.0);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Patch {
    /// Width and height of the patch, µm (it spans `±extent/2`).
    pub extent_um: [f64; 2],
    /// All hairs, in no particular order.
    pub hairs: Vec<PatchHair>,
    /// Objects on the skin that are not hair.
    pub lookalikes: Vec<Lookalike>,
    /// Skin appearance.
    pub skin: Skin,
    /// Next unused follicle id.
    pub next_follicle_id: u64,
    /// Next unused unit id.
    pub next_unit_id: u32,
    /// Parameters the hairs were drawn with (used again by [`Patch::evolve`]).
    pub params: SynthParams,
    /// Mean growth direction, radians.
    pub direction_rad: f64,
    /// Phase and wave vector of the growth-direction field `[phase, kx, ky]`, (rad, rad/µm, rad/µm).
    pub direction_wave: [f64; 3],
}

impl Patch {
    /// Area of the patch, cm².
    pub fn area_cm2(&self) -> f64 {
        self.extent_um[0] * self.extent_um[1] * 1e-8
    }

    /// Local growth direction at `p` (µm), radians.
    pub fn growth_direction(&self, p: [f64; 2]) -> f64 {
        let [phase, kx, ky] = self.direction_wave;
        self.direction_rad
            + 0.5
                * self.params.direction_field_deg.to_radians()
                * (phase + kx * p[0] + ky * p[1]).sin()
    }

    /// Draws a random patch of the given extent (µm) from `params`: follicular
    /// units placed uniformly with a minimum spacing, hairs per unit, directions
    /// following a smooth growth field, and skin objects.
    ///
    /// The number of hairs is Poisson with mean `density × area`, the density
    /// drawn from `params.density_per_cm2`.
    pub fn random(params: &SynthParams, extent_um: [f64; 2], rng: &mut SynthRng) -> Patch {
        let density = rng.range2(params.density_per_cm2);
        Self::random_with_density(params, extent_um, density, rng)
    }

    /// As [`Patch::random`], with the hair density (hairs/cm²) given.
    pub fn random_with_density(
        params: &SynthParams,
        extent_um: [f64; 2],
        density_per_cm2: f64,
        rng: &mut SynthRng,
    ) -> Patch {
        let tone = rng.range2(params.skin_tone);
        let direction_rad = rng.range(0.0, std::f64::consts::TAU);
        let wavelength = rng.range(4000.0, 12000.0);
        let wave_dir = rng.range(0.0, std::f64::consts::TAU);
        let k = std::f64::consts::TAU / wavelength;
        let mut patch = Patch {
            extent_um,
            hairs: Vec::new(),
            lookalikes: Vec::new(),
            skin: Skin {
                tone,
                mottling: params.mottling,
                texture: params.texture,
                seed: rng.next_u64(),
            },
            next_follicle_id: 1,
            next_unit_id: 1,
            params: params.clone(),
            direction_rad,
            direction_wave: [
                rng.range(0.0, std::f64::consts::TAU),
                k * wave_dir.cos(),
                k * wave_dir.sin(),
            ],
        };
        let area = patch.area_cm2();
        let target = rng.poisson(density_per_cm2 * area) as usize;
        let mut placed = 0usize;
        let mut attempts = 0usize;
        while placed < target && attempts < 50 * target + 100 {
            attempts += 1;
            let n = (rng.weighted(&params.hairs_per_unit_weights) + 1).min(target - placed);
            let Some(p) = patch.free_spot(rng, params.min_unit_spacing_um) else {
                continue;
            };
            placed += patch.add_unit(p, n, rng);
        }
        patch.add_skin_objects(rng);
        patch
    }

    /// A uniformly drawn point at least `spacing` µm from every unit exit, if one is found in 30 tries.
    pub(crate) fn free_spot(&self, rng: &mut SynthRng, spacing: f64) -> Option<[f64; 2]> {
        let [w, h] = self.extent_um;
        for _ in 0..30 {
            let p = [rng.range(-w / 2.0, w / 2.0), rng.range(-h / 2.0, h / 2.0)];
            let ok = self.hairs.iter().all(|hr| {
                let dx = hr.exit_um[0] - p[0];
                let dy = hr.exit_um[1] - p[1];
                dx * dx + dy * dy >= spacing * spacing
            });
            if ok {
                return Some(p);
            }
        }
        None
    }

    /// Draws the properties of one new hair (not its position).
    pub(crate) fn draw_hair(
        &mut self,
        unit_id: u32,
        exit_um: [f64; 2],
        direction_rad: f64,
        rng: &mut SynthRng,
    ) -> PatchHair {
        let p = &self.params;
        let class = rng.weighted(&p.class_weights);
        let diameter_um = match class {
            0 => rng.range2(p.terminal_diameter_um),
            1 => rng.range2(p.intermediate_diameter_um),
            _ => rng.range2(p.vellus_diameter_um),
        };
        let light_p = if class == 2 {
            p.light_vellus_fraction
        } else {
            p.light_hair_fraction
        };
        let pigment = if rng.chance(light_p) {
            [Pigment::Grey, Pigment::Blond, Pigment::White][rng.below(3) as usize]
        } else if rng.chance(0.25) {
            Pigment::Brown
        } else {
            Pigment::Dark
        };
        let kmax = p.max_curvature_per_mm / 1000.0;
        let id = self.next_follicle_id;
        self.next_follicle_id += 1;
        PatchHair {
            follicle_id: id,
            unit_id,
            exit_um,
            direction_rad,
            curvature_per_um: rng.range(-kmax, kmax),
            length_um: rng.range2(p.length_um),
            diameter_um,
            pigment,
            cut_angle_rad: rng.gauss(0.0, 0.2).clamp(-0.5, 0.5),
            subsurface_um: rng.range(250.0, 600.0),
            depth: rng.uniform(),
        }
    }

    /// Adds a follicular unit of `n` hairs at `p`; returns `n`.
    pub(crate) fn add_unit(&mut self, p: [f64; 2], n: usize, rng: &mut SynthRng) -> usize {
        let unit_id = self.next_unit_id;
        self.next_unit_id += 1;
        let spread = self.params.direction_spread_deg.to_radians();
        let theta = self.growth_direction(p) + rng.gauss(0.0, spread);
        let fan = rng.range(0.0, self.params.unit_fan_deg.to_radians());
        let depth = rng.uniform();
        let mut hairs: Vec<PatchHair> = (0..n)
            .map(|i| {
                let off = i as f64 - (n as f64 - 1.0) / 2.0;
                let dir = theta + off * fan / (n.max(2) as f64 - 1.0) + rng.gauss(0.0, 0.02);
                self.draw_hair(unit_id, p, dir, rng)
            })
            .collect();
        // Hairs of a unit leave one opening side by side, touching: offset each
        // exit across the unit direction by the diameters of its neighbours.
        let widths: Vec<f64> = hairs.iter().map(|h| h.diameter_um).collect();
        let total: f64 = widths.iter().sum();
        let (nx, ny) = (-theta.sin(), theta.cos());
        let mut acc = -total / 2.0;
        let shared_curv = hairs.first().map_or(0.0, |h| h.curvature_per_um);
        for (h, w) in hairs.iter_mut().zip(&widths) {
            let c = acc + w / 2.0;
            acc += w;
            // 0.9: neighbouring shafts touch (slightly overlap) at the base.
            h.exit_um = [p[0] + 0.9 * c * nx, p[1] + 0.9 * c * ny];
            h.curvature_per_um = 0.5 * (h.curvature_per_um + shared_curv);
            h.depth = depth + 0.001 * rng.uniform();
        }
        self.hairs.extend(hairs);
        n
    }

    fn add_skin_objects(&mut self, rng: &mut SynthRng) {
        let area = self.area_cm2();
        let r = self.params.lookalikes.clone();
        let [w, h] = self.extent_um;
        let specs: [(LookalikeKind, f64, [f64; 2]); 6] = [
            (LookalikeKind::Opening, r.opening_per_cm2, [40.0, 120.0]),
            (LookalikeKind::Dot, r.dot_per_cm2, [30.0, 90.0]),
            (LookalikeKind::Tattoo, r.tattoo_per_cm2, r.tattoo_size_um),
            (LookalikeKind::Flake, r.flake_per_cm2, [100.0, 700.0]),
            (LookalikeKind::Pigment, r.pigment_per_cm2, [20.0, 60.0]),
            (LookalikeKind::Clipping, r.clipping_per_cm2, [300.0, 2000.0]),
        ];
        for (kind, rate, size) in specs {
            let n = rng.poisson(rate * area);
            for _ in 0..n {
                let center_um = [rng.range(-w / 2.0, w / 2.0), rng.range(-h / 2.0, h / 2.0)];
                let size_um = rng.range2(size);
                let width_um = if kind == LookalikeKind::Clipping {
                    rng.range(15.0, 90.0)
                } else {
                    0.0
                };
                self.lookalikes.push(Lookalike {
                    kind,
                    center_um,
                    size_um,
                    angle_rad: rng.range(0.0, std::f64::consts::TAU),
                    width_um,
                    shape_seed: rng.next_u64(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::Scenario;

    // Units keep their minimum spacing and hold 1–4 hairs with touching exits.
    #[test]
    fn units_are_spaced_and_small() {
        let mut rng = SynthRng::from_label("t", &[3]);
        let p = Scenario::UnitsCrossings.params();
        let patch = Patch::random(&p, [5000.0, 4000.0], &mut rng);
        let mut units: std::collections::BTreeMap<u32, Vec<&PatchHair>> = Default::default();
        for h in &patch.hairs {
            units.entry(h.unit_id).or_default().push(h);
        }
        assert!(units.len() > 10);
        for hs in units.values() {
            assert!((1..=4).contains(&hs.len()));
            for a in hs {
                for b in hs {
                    let d = ((a.exit_um[0] - b.exit_um[0]).powi(2)
                        + (a.exit_um[1] - b.exit_um[1]).powi(2))
                    .sqrt();
                    assert!(d <= 4.0 * 100.0);
                }
            }
        }
        let ids: std::collections::BTreeSet<u64> =
            patch.hairs.iter().map(|h| h.follicle_id).collect();
        assert_eq!(ids.len(), patch.hairs.len());
    }

    // A straight hair's path ends at exit + length along its direction.
    #[test]
    fn straight_path_length() {
        let h = PatchHair {
            follicle_id: 1,
            unit_id: 1,
            exit_um: [10.0, 20.0],
            direction_rad: std::f64::consts::FRAC_PI_2,
            curvature_per_um: 0.0,
            length_um: 500.0,
            diameter_um: 70.0,
            pigment: Pigment::Dark,
            cut_angle_rad: 0.0,
            subsurface_um: 300.0,
            depth: 0.0,
        };
        let path = h.path_um(10);
        let tip = path[10];
        assert!((tip[0] - 10.0).abs() < 1e-9 && (tip[1] - 520.0).abs() < 1e-9);
        assert_eq!(h.class(), HairClass::Terminal);
    }
}
