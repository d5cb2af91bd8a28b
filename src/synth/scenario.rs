//! Named scenarios and the parameters ([`SynthParams`]) that define them.
//!
//! Every effect that makes real images hard has its own knob here, so that a
//! test can switch one on alone. Ranges are `[lo, hi]` pairs drawn uniformly
//! per image (or per hair), in physical units.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A named set of generator parameters.
///
/// ```
/// use trichometry::synth::Scenario;
/// let s: Scenario = "units_crossings".parse().unwrap();
/// assert_eq!(s, Scenario::UnitsCrossings);
/// assert_eq!(s.name(), "units_crossings");
/// assert!("nonsense".parse::<Scenario>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scenario {
    /// Single dark terminal hairs on light skin, clean 70× trichoscopy capture.
    Isolated,
    /// Follicular units of 1–4 hairs, crossing shafts, and look-alikes.
    UnitsCrossings,
    /// Vellus-heavy, light/grey/blond hairs, darker skin, blur, noise, JPEG.
    Faint,
    /// Long hairs in a small field: many shafts cross the frame border.
    Edge,
    /// A bit of everything, including round fields of view and burned-in text.
    Mixed,
    /// Low-magnification phototrichogram (5–12 µm/px, larger fields): thin shafts a few pixels wide.
    Phototrichogram,
}

impl Scenario {
    /// Every named scenario, in a fixed order.
    pub const ALL: [Scenario; 6] = [
        Scenario::Isolated,
        Scenario::UnitsCrossings,
        Scenario::Faint,
        Scenario::Edge,
        Scenario::Mixed,
        Scenario::Phototrichogram,
    ];

    /// The snake_case name used on the command line, in file names and in sidecars.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Isolated => "isolated",
            Scenario::UnitsCrossings => "units_crossings",
            Scenario::Faint => "faint",
            Scenario::Edge => "edge",
            Scenario::Mixed => "mixed",
            Scenario::Phototrichogram => "phototrichogram",
        }
    }

    /// The parameters of this scenario.
    pub fn params(self) -> SynthParams {
        SynthParams::for_scenario(self)
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scenario {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Scenario::ALL
            .iter()
            .copied()
            .find(|x| x.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Scenario::ALL.iter().map(|x| x.name()).collect();
                Error::config(
                    "scenario",
                    format!("unknown scenario `{s}` (one of: {})", names.join(", ")),
                )
            })
    }
}

/// Rates of look-alike objects (things that are not hair), per cm² of scalp.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LookalikeRates {
    /// Empty follicular openings (dark round pits, 40–120 µm).
    pub opening_per_cm2: f64,
    /// Black/brown dots (30–90 µm).
    pub dot_per_cm2: f64,
    /// Tattoo (marking) ink dots, blue-black, round (`tattoo_size_um`).
    pub tattoo_per_cm2: f64,
    /// Diameter range of tattoo dots, µm (default 300–1500 µm as in marked-area trichograms).
    pub tattoo_size_um: [f64; 2],
    /// Dandruff/scale flakes (white-yellowish irregular patches, 100–700 µm).
    pub flake_per_cm2: f64,
    /// Pigment specks (small brown irregular spots, 20–60 µm).
    pub pigment_per_cm2: f64,
    /// Loose cut clippings lying on the skin (shaft pieces with two blunt ends).
    pub clipping_per_cm2: f64,
    /// Air bubbles in the immersion fluid (only with immersion).
    pub bubble_per_cm2: f64,
    /// Specular glare spots (only without polarisation).
    pub glare_per_cm2: f64,
}

impl Default for LookalikeRates {
    fn default() -> Self {
        LookalikeRates {
            opening_per_cm2: 0.0,
            dot_per_cm2: 0.0,
            tattoo_per_cm2: 0.0,
            tattoo_size_um: [300.0, 1500.0],
            flake_per_cm2: 0.0,
            pigment_per_cm2: 0.0,
            clipping_per_cm2: 0.0,
            bubble_per_cm2: 0.0,
            glare_per_cm2: 0.0,
        }
    }
}

/// All knobs of the generator. Ranges `[lo, hi]` are drawn uniformly.
///
/// Defaults ([`SynthParams::default`]) are those of [`Scenario::Mixed`].
///
/// ```
/// use trichometry::synth::{Scenario, SynthParams};
/// let p = SynthParams::for_scenario(Scenario::Isolated);
/// assert!(p.validate().is_ok());
/// assert_eq!(p.hairs_per_unit_weights, [1.0, 0.0, 0.0, 0.0]);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SynthParams {
    /// Pixel size, µm/px (2.5 ≈ 70× trichoscope at 1280×1024; 5–12 phototrichogram).
    pub pixel_size_um: [f64; 2],
    /// Field of view, cm² (image area). Width:height is `aspect`.
    pub field_cm2: [f64; 2],
    /// Width / height of the frame.
    pub aspect: f64,
    /// Hair density, hairs/cm² (hairs, not units), over the whole patch.
    pub density_per_cm2: [f64; 2],
    /// Relative frequency of follicular units of 1, 2, 3 and 4 hairs.
    pub hairs_per_unit_weights: [f64; 4],
    /// Smallest distance between two unit exit points, µm.
    pub min_unit_spacing_um: f64,
    /// Clipped (visible) shaft length, µm.
    pub length_um: [f64; 2],
    /// Largest shaft curvature, 1/mm (0 = straight).
    pub max_curvature_per_mm: f64,
    /// Standard deviation of a hair's direction about the local growth direction, degrees.
    pub direction_spread_deg: f64,
    /// Largest change of the growth direction across the patch, degrees.
    pub direction_field_deg: f64,
    /// Largest angle between hairs of one unit (they fan out in a narrow V), degrees.
    pub unit_fan_deg: f64,
    /// Relative frequency of terminal, intermediate and vellus hairs.
    pub class_weights: [f64; 3],
    /// Diameter of terminal hairs, µm (> 60).
    pub terminal_diameter_um: [f64; 2],
    /// Diameter of intermediate hairs, µm (30–60).
    pub intermediate_diameter_um: [f64; 2],
    /// Diameter of vellus hairs, µm (< 30).
    pub vellus_diameter_um: [f64; 2],
    /// Probability that a terminal/intermediate hair is light (grey, blond, white) instead of dark.
    pub light_hair_fraction: f64,
    /// Probability that a vellus hair is light (unpigmented, low contrast).
    pub light_vellus_fraction: f64,
    /// Skin tone, 0 = very light (Fitzpatrick I) … 1 = very dark (VI).
    pub skin_tone: [f64; 2],
    /// Amplitude of skin mottling (large-scale colour variation), 0–1.
    pub mottling: f64,
    /// Amplitude of fine skin texture (furrows, scale), 0–1.
    pub texture: f64,
    /// Draw the sub-surface shadow of the shaft behind the exit point.
    pub subsurface_shadow: bool,
    /// Draw the follicular opening at each exit point.
    pub openings: bool,
    /// Look-alike objects.
    pub lookalikes: LookalikeRates,
    /// Probability of polarised light (no specular highlights or glare).
    pub polarised_prob: f64,
    /// Probability of immersion fluid (less surface texture; bubbles).
    pub immersion_prob: f64,
    /// Vignetting strength (relative darkening at the corners), 0–1.
    pub vignetting: [f64; 2],
    /// Illumination gradient across the frame (relative change edge to edge), 0–1.
    pub illumination_gradient: [f64; 2],
    /// Overall brightness factor.
    pub brightness: [f64; 2],
    /// Largest per-channel colour cast (white-balance error), relative gain.
    pub colour_cast: f64,
    /// Gaussian defocus blur, σ in µm (converted to pixels with the pixel size).
    pub blur_sigma_um: [f64; 2],
    /// Sensor noise: standard deviation at mid-grey, in 8-bit levels (0 = none).
    pub noise_sd: [f64; 2],
    /// JPEG quality range; `None` = lossless (PNG).
    pub jpeg_quality: Option<[u8; 2]>,
    /// Probability of a round field of view (black corners).
    pub round_fov_prob: f64,
    /// Probability of a burned-in text band (top or bottom).
    pub text_band_prob: f64,
}

impl Default for SynthParams {
    fn default() -> Self {
        SynthParams::for_scenario(Scenario::Mixed)
    }
}

impl SynthParams {
    /// A clean, light-skinned, trichoscopy baseline that the scenarios modify.
    fn base() -> Self {
        SynthParams {
            pixel_size_um: [2.5, 4.0],
            field_cm2: [0.1, 0.25],
            aspect: 1.25,
            density_per_cm2: [120.0, 220.0],
            hairs_per_unit_weights: [0.5, 0.35, 0.12, 0.03],
            min_unit_spacing_um: 250.0,
            length_um: [400.0, 1500.0],
            max_curvature_per_mm: 0.15,
            direction_spread_deg: 10.0,
            direction_field_deg: 30.0,
            unit_fan_deg: 8.0,
            class_weights: [0.75, 0.15, 0.10],
            terminal_diameter_um: [62.0, 100.0],
            intermediate_diameter_um: [31.0, 59.0],
            vellus_diameter_um: [12.0, 29.0],
            light_hair_fraction: 0.0,
            light_vellus_fraction: 0.5,
            skin_tone: [0.0, 0.25],
            mottling: 0.3,
            texture: 0.5,
            subsurface_shadow: true,
            openings: true,
            lookalikes: LookalikeRates::default(),
            polarised_prob: 0.5,
            immersion_prob: 0.0,
            vignetting: [0.1, 0.25],
            illumination_gradient: [0.0, 0.15],
            brightness: [0.95, 1.05],
            colour_cast: 0.04,
            blur_sigma_um: [0.0, 2.0],
            noise_sd: [1.0, 2.0],
            jpeg_quality: None,
            round_fov_prob: 0.0,
            text_band_prob: 0.0,
        }
    }

    /// The parameters of a named scenario.
    pub fn for_scenario(s: Scenario) -> Self {
        let b = Self::base();
        match s {
            Scenario::Isolated => SynthParams {
                density_per_cm2: [40.0, 120.0],
                hairs_per_unit_weights: [1.0, 0.0, 0.0, 0.0],
                min_unit_spacing_um: 600.0,
                length_um: [500.0, 1200.0],
                class_weights: [1.0, 0.0, 0.0],
                light_vellus_fraction: 0.0,
                skin_tone: [0.0, 0.15],
                unit_fan_deg: 0.0,
                ..b
            },
            Scenario::UnitsCrossings => SynthParams {
                density_per_cm2: [150.0, 300.0],
                hairs_per_unit_weights: [0.25, 0.4, 0.25, 0.1],
                min_unit_spacing_um: 200.0,
                length_um: [600.0, 2000.0],
                direction_spread_deg: 25.0,
                direction_field_deg: 60.0,
                unit_fan_deg: 14.0,
                class_weights: [0.6, 0.25, 0.15],
                lookalikes: LookalikeRates {
                    opening_per_cm2: 60.0,
                    dot_per_cm2: 40.0,
                    tattoo_per_cm2: 3.0,
                    flake_per_cm2: 25.0,
                    pigment_per_cm2: 40.0,
                    clipping_per_cm2: 12.0,
                    bubble_per_cm2: 20.0,
                    glare_per_cm2: 15.0,
                    ..LookalikeRates::default()
                },
                immersion_prob: 0.3,
                ..b
            },
            Scenario::Faint => SynthParams {
                density_per_cm2: [80.0, 200.0],
                class_weights: [0.15, 0.3, 0.55],
                light_hair_fraction: 0.6,
                light_vellus_fraction: 0.8,
                skin_tone: [0.4, 1.0],
                mottling: 0.45,
                texture: 0.6,
                blur_sigma_um: [3.0, 8.0],
                noise_sd: [3.0, 7.0],
                jpeg_quality: Some([55, 85]),
                colour_cast: 0.1,
                lookalikes: LookalikeRates {
                    opening_per_cm2: 40.0,
                    pigment_per_cm2: 60.0,
                    flake_per_cm2: 10.0,
                    ..LookalikeRates::default()
                },
                ..b
            },
            Scenario::Edge => SynthParams {
                field_cm2: [0.1, 0.15],
                density_per_cm2: [100.0, 200.0],
                length_um: [1500.0, 2500.0],
                max_curvature_per_mm: 0.1,
                ..b
            },
            Scenario::Mixed => SynthParams {
                pixel_size_um: [2.5, 8.0],
                field_cm2: [0.1, 0.4],
                density_per_cm2: [40.0, 300.0],
                hairs_per_unit_weights: [0.4, 0.35, 0.18, 0.07],
                min_unit_spacing_um: 220.0,
                length_um: [200.0, 2500.0],
                direction_spread_deg: 18.0,
                direction_field_deg: 45.0,
                unit_fan_deg: 12.0,
                class_weights: [0.55, 0.25, 0.2],
                light_hair_fraction: 0.2,
                light_vellus_fraction: 0.6,
                skin_tone: [0.0, 1.0],
                mottling: 0.4,
                lookalikes: LookalikeRates {
                    opening_per_cm2: 30.0,
                    dot_per_cm2: 20.0,
                    tattoo_per_cm2: 2.0,
                    flake_per_cm2: 15.0,
                    pigment_per_cm2: 30.0,
                    clipping_per_cm2: 6.0,
                    bubble_per_cm2: 15.0,
                    glare_per_cm2: 10.0,
                    ..LookalikeRates::default()
                },
                immersion_prob: 0.3,
                vignetting: [0.05, 0.4],
                illumination_gradient: [0.0, 0.3],
                brightness: [0.8, 1.1],
                colour_cast: 0.08,
                blur_sigma_um: [0.0, 6.0],
                noise_sd: [1.0, 5.0],
                jpeg_quality: Some([70, 95]),
                round_fov_prob: 0.3,
                text_band_prob: 0.3,
                ..b
            },
            Scenario::Phototrichogram => SynthParams {
                pixel_size_um: [5.0, 12.0],
                field_cm2: [0.4, 1.2],
                density_per_cm2: [80.0, 250.0],
                length_um: [300.0, 1000.0],
                class_weights: [0.5, 0.3, 0.2],
                skin_tone: [0.0, 0.6],
                blur_sigma_um: [2.0, 8.0],
                lookalikes: LookalikeRates {
                    tattoo_per_cm2: 4.0,
                    pigment_per_cm2: 20.0,
                    ..LookalikeRates::default()
                },
                immersion_prob: 1.0,
                jpeg_quality: Some([80, 95]),
                ..b
            },
        }
    }

    /// Checks that every range is ordered, finite and physically sensible.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Config`] naming the first offending field.
    pub fn validate(&self) -> Result<()> {
        fn range(field: &'static str, r: [f64; 2], min: f64, max: f64) -> Result<()> {
            if !(r[0].is_finite() && r[1].is_finite()) || r[0] > r[1] || r[0] < min || r[1] > max {
                return Err(Error::config(
                    field,
                    format!("[{}, {}] must be ordered within {min}..={max}", r[0], r[1]),
                ));
            }
            Ok(())
        }
        range("pixel_size_um", self.pixel_size_um, 0.5, 50.0)?;
        range("field_cm2", self.field_cm2, 1e-4, 4.0)?;
        range("aspect", [self.aspect, self.aspect], 0.2, 5.0)?;
        range("density_per_cm2", self.density_per_cm2, 0.0, 2000.0)?;
        range("length_um", self.length_um, 10.0, 20_000.0)?;
        range(
            "terminal_diameter_um",
            self.terminal_diameter_um,
            60.0,
            200.0,
        )?;
        range(
            "intermediate_diameter_um",
            self.intermediate_diameter_um,
            30.0,
            60.0,
        )?;
        range("vellus_diameter_um", self.vellus_diameter_um, 1.0, 30.0)?;
        range("skin_tone", self.skin_tone, 0.0, 1.0)?;
        range("vignetting", self.vignetting, 0.0, 0.95)?;
        range(
            "illumination_gradient",
            self.illumination_gradient,
            0.0,
            0.95,
        )?;
        range("brightness", self.brightness, 0.1, 3.0)?;
        range("blur_sigma_um", self.blur_sigma_um, 0.0, 100.0)?;
        range("noise_sd", self.noise_sd, 0.0, 100.0)?;
        range(
            "tattoo_size_um",
            self.lookalikes.tattoo_size_um,
            1.0,
            5000.0,
        )?;
        range(
            "min_unit_spacing_um",
            [self.min_unit_spacing_um; 2],
            0.0,
            5000.0,
        )?;
        for (f, p) in [
            ("light_hair_fraction", self.light_hair_fraction),
            ("light_vellus_fraction", self.light_vellus_fraction),
            ("polarised_prob", self.polarised_prob),
            ("immersion_prob", self.immersion_prob),
            ("round_fov_prob", self.round_fov_prob),
            ("text_band_prob", self.text_band_prob),
            ("mottling", self.mottling),
            ("texture", self.texture),
            ("colour_cast", self.colour_cast),
        ] {
            range(f, [p, p], 0.0, 1.0)?;
        }
        if self
            .hairs_per_unit_weights
            .iter()
            .any(|w| w.is_nan() || *w < 0.0)
            || self.hairs_per_unit_weights.iter().sum::<f64>() <= 0.0
        {
            return Err(Error::config(
                "hairs_per_unit_weights",
                "weights must be non-negative with a positive sum",
            ));
        }
        if self.class_weights.iter().any(|w| w.is_nan() || *w < 0.0)
            || self.class_weights.iter().sum::<f64>() <= 0.0
        {
            return Err(Error::config(
                "class_weights",
                "weights must be non-negative with a positive sum",
            ));
        }
        if let Some([lo, hi]) = self.jpeg_quality {
            if lo == 0 || lo > hi || hi > 100 {
                return Err(Error::config(
                    "jpeg_quality",
                    "must be ordered within 1..=100",
                ));
            }
        }
        let rates = &self.lookalikes;
        for r in [
            rates.opening_per_cm2,
            rates.dot_per_cm2,
            rates.tattoo_per_cm2,
            rates.flake_per_cm2,
            rates.pigment_per_cm2,
            rates.clipping_per_cm2,
            rates.bubble_per_cm2,
            rates.glare_per_cm2,
        ] {
            range("lookalikes", [r, r], 0.0, 10_000.0)?;
        }
        range(
            "max_curvature_per_mm",
            [self.max_curvature_per_mm; 2],
            0.0,
            10.0,
        )?;
        range(
            "direction_spread_deg",
            [self.direction_spread_deg; 2],
            0.0,
            180.0,
        )?;
        range(
            "direction_field_deg",
            [self.direction_field_deg; 2],
            0.0,
            180.0,
        )?;
        range("unit_fan_deg", [self.unit_fan_deg; 2], 0.0, 90.0)?;
        Ok(())
    }

    /// Turns every capture degradation off (no blur, noise, JPEG, vignetting,
    /// gradient, colour cast, masks): the "clean render" used to check truth.
    #[must_use]
    pub fn clean(mut self) -> Self {
        self.vignetting = [0.0, 0.0];
        self.illumination_gradient = [0.0, 0.0];
        self.brightness = [1.0, 1.0];
        self.colour_cast = 0.0;
        self.blur_sigma_um = [0.0, 0.0];
        self.noise_sd = [0.0, 0.0];
        self.jpeg_quality = None;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Every scenario's parameters validate and respect the documented physical ranges.
    #[test]
    fn scenarios_in_documented_ranges() {
        for s in Scenario::ALL {
            let p = s.params();
            p.validate().unwrap();
            assert!(
                p.pixel_size_um[0] >= 2.5 && p.pixel_size_um[1] <= 12.0,
                "{s}"
            );
            assert!(p.field_cm2[0] >= 0.1 && p.field_cm2[1] <= 1.2, "{s}");
            assert!(
                p.density_per_cm2[0] >= 40.0 && p.density_per_cm2[1] <= 300.0,
                "{s}"
            );
            assert!(p.length_um[0] >= 200.0 && p.length_um[1] <= 2500.0, "{s}");
            assert_eq!(s.name().parse::<Scenario>().unwrap(), s);
        }
    }

    // A reversed range is refused with the field named.
    #[test]
    fn validate_rejects_reversed_range() {
        let p = SynthParams {
            length_um: [900.0, 100.0],
            ..SynthParams::default()
        };
        let e = p.validate().unwrap_err();
        assert!(e.to_string().contains("length_um"), "{e}");
    }
}
