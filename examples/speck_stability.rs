//! How often does a speck far below the minimum hair size change the count?
//!
//! The property test `small_specks_change_nothing` (tests/pipeline_props.rs)
//! asks that isolated dark specks of 1–4 pixels on quiet skin change nothing.
//! This example measures how far the pipeline is from that: for generated
//! fields of each scenario (5 µm/px, 0.01–0.03 cm², every other field with
//! capture effects) it places 1–15 such specks where the test places them
//! (every pixel within 12 px within 30 gray levels of the field's median,
//! more than 12 px of skin from every object of the truth, faint vellus
//! tips included, as [`trichometry::synth::Truth::clearance_px`] reads it,
//! 12 px apart), analyses the field with and without them and reports how often
//! the count changed, by how much, how often a hair's exit or tip moved
//! beyond max(¼ diameter, 1.5 px), and whether a hair was ever found at a
//! speck. The figures are recorded in `docs/robustness.md`.
//!
//! ```text
//! cargo run --release --example speck_stability -- [--n 100] [--seed 1]
//! ```

use image::{DynamicImage, GrayImage, Rgb};
use rayon::prelude::*;
use trichometry::synth::{generate_with_params, Scenario};
use trichometry::{Analysis, Config, Pipeline, PixelScale};

/// SplitMix64: a small deterministic generator for the field and speck draws.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// True when every pixel of the `(2r+1)²` window around `(x, y)` lies within
/// 30 gray levels of `median` (the rule of the property test).
fn quiet_around(gray: &GrayImage, median: u8, x: u32, y: u32, r: u32) -> bool {
    let (w, h) = gray.dimensions();
    if x < r || y < r || x + r >= w || y + r >= h {
        return false;
    }
    (y - r..=y + r)
        .all(|yy| (x - r..=x + r).all(|xx| gray.get_pixel(xx, yy)[0].abs_diff(median) <= 30))
}

/// What the specks did to one field.
struct Outcome {
    specks: usize,
    count_change: i64,
    moved: bool,
    hair_at_speck: bool,
    /// Hairs in the largest follicular unit before the specks: a tangle
    /// that the counting stage splits as one unit.
    largest_unit: usize,
}

fn one_field(
    pipeline: &Pipeline,
    scenario: Scenario,
    seed: u64,
    i: u64,
) -> Result<Outcome, String> {
    let mut rng = SplitMix(seed ^ (i.wrapping_mul(0x2545_f491_4f6c_dd1d)) ^ scenario as u64);
    let mut params = scenario.params();
    if i.is_multiple_of(2) {
        params = params.clean();
    }
    params.pixel_size_um = [5.0; 2];
    params.field_cm2 = [0.01 + 0.02 * rng.unit(); 2];
    params.jpeg_quality = None;
    let generated = generate_with_params(&params, scenario.name(), seed, i as u32)
        .map_err(|e| e.to_string())?;
    let (img, truth) = (generated.image, generated.truth);
    let gray = image::imageops::grayscale(&img);
    let mut values = gray.as_raw().clone();
    values.sort_unstable();
    let median = values[values.len() / 2];
    let (w, h) = img.dimensions();
    let mut spotted = img.clone();
    let mut placed: Vec<(u32, u32)> = Vec::new();
    for _ in 0..1 + rng.next() % 15 {
        let (x, y) = (
            (rng.unit() * f64::from(w)) as u32,
            (rng.unit() * f64::from(h)) as u32,
        );
        let (sw, sh) = (1 + (rng.next() % 2) as u32, 1 + (rng.next() % 2) as u32);
        let centre = [
            f64::from(x) + 0.5 * f64::from(sw),
            f64::from(y) + 0.5 * f64::from(sh),
        ];
        if !quiet_around(&gray, median, x, y, 12)
            || truth.clearance_px(centre) <= 12.0
            || placed
                .iter()
                .any(|&(px, py)| px.abs_diff(x) < 12 && py.abs_diff(y) < 12)
        {
            continue;
        }
        placed.push((x, y));
        for yy in y..y + sh {
            for xx in x..x + sw {
                spotted.put_pixel(xx, yy, Rgb([40, 30, 25]));
            }
        }
    }
    let scale = PixelScale::new(5.0).map_err(|e| e.to_string())?;
    let analyse = |im: image::RgbImage| -> Result<Analysis, String> {
        pipeline
            .analyse(&DynamicImage::ImageRgb8(im), scale, None)
            .map_err(|e| e.to_string())
    };
    let before = analyse(img)?;
    let after = analyse(spotted)?;
    let moved = before.hairs.len() != after.hairs.len()
        || before.hairs.iter().zip(&after.hairs).any(|(b, a)| {
            let tol = (0.25 * b.diameter_um / 5.0).max(1.5);
            let far = |p: [f64; 2], q: [f64; 2]| (p[0] - q[0]).hypot(p[1] - q[1]) > tol;
            far(a.exit, b.exit) || far(a.tip, b.tip)
        });
    let near_speck = |p: [f64; 2]| {
        placed
            .iter()
            .any(|&(x, y)| (p[0] - f64::from(x)).hypot(p[1] - f64::from(y)) < 4.0)
    };
    let mut per_unit = std::collections::BTreeMap::new();
    for h in &before.hairs {
        *per_unit.entry(h.unit_id).or_insert(0usize) += 1;
    }
    Ok(Outcome {
        largest_unit: per_unit.values().copied().max().unwrap_or(0),
        specks: placed.len(),
        count_change: after.hairs.len() as i64 - before.hairs.len() as i64,
        moved,
        hair_at_speck: after
            .hairs
            .iter()
            .any(|h| near_speck(h.exit) || near_speck(h.tip)),
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut n = 100u64;
    let mut seed = 1u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--n" => n = value()?.parse()?,
            "--seed" => seed = value()?.parse()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let pipeline = Pipeline::new(Config::default())?;
    println!("| scenario | fields | mean specks placed | fields whose count changed | largest change (hairs) | fields where an exit or tip moved | fields with a hair at a speck | changed fields whose largest unit holds ≥ 5 hairs (all fields) |");
    println!("|---|---|---|---|---|---|---|---|");
    for scenario in [
        Scenario::Isolated,
        Scenario::UnitsCrossings,
        Scenario::Mixed,
    ] {
        let outcomes: Vec<Outcome> = (0..n)
            .into_par_iter()
            .map(|i| one_field(&pipeline, scenario, seed, i))
            .collect::<Result<_, _>>()?;
        let fields = outcomes.len();
        let specks = outcomes.iter().map(|o| o.specks).sum::<usize>() as f64 / fields.max(1) as f64;
        let changed = outcomes.iter().filter(|o| o.count_change != 0).count();
        let largest = outcomes
            .iter()
            .map(|o| o.count_change.abs())
            .max()
            .unwrap_or(0);
        let moved = outcomes.iter().filter(|o| o.moved).count();
        let at_speck = outcomes.iter().filter(|o| o.hair_at_speck).count();
        let tangled = |o: &&Outcome| o.largest_unit >= 5;
        let changed_tangled = outcomes
            .iter()
            .filter(|o| o.count_change != 0)
            .filter(tangled)
            .count();
        let all_tangled = outcomes.iter().filter(tangled).count();
        println!(
            "| {} | {fields} | {specks:.1} | {changed} | {largest} | {moved} | {at_speck} | {changed_tangled} ({all_tangled}) |",
            scenario.name()
        );
    }
    Ok(())
}
