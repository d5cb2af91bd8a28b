//! How stable is the count when the same image is held another way?
//!
//! `Pipeline::analyse` works in the image's canonical pose, so its result
//! cannot change under rotation or mirroring. This example measures what that
//! guarantee hides: for small generated fields of each scenario it counts the
//! image in all eight poses (`Pipeline::analyse_in_pose`) and reports how
//! often the count differs between poses and by how much. A perfectly stable
//! counting stage would score 0 in every column; the figures are recorded in
//! `docs/robustness.md`.
//!
//! ```text
//! cargo run --release --example pose_stability -- [--n 40] [--field-cm2 0.02] [--seed 1]
//! ```

use image::DynamicImage;
use rayon::prelude::*;
use trichometry::pipeline::pose::Pose;
use trichometry::synth::{generate_with_params, Scenario};
use trichometry::{Config, Pipeline, PixelScale};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut n = 40u64;
    let mut field_cm2 = 0.02f64;
    let mut seed = 1u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--n" => n = value()?.parse()?,
            "--field-cm2" => field_cm2 = value()?.parse()?,
            "--seed" => seed = value()?.parse()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let pipeline = Pipeline::new(Config::default())?;
    println!("| scenario | fields | mean count | fields whose count depends on the pose | mean range (max − min) | mean SD of the 8 counts |");
    println!("|---|---|---|---|---|---|");
    for scenario in Scenario::ALL {
        let mut params = scenario.params();
        params.field_cm2 = [field_cm2; 2];
        let counts: Vec<Vec<usize>> = (0..n)
            .into_par_iter()
            .map(|i| -> Result<Vec<usize>, String> {
                let g = generate_with_params(&params, scenario.name(), seed, i as u32)
                    .map_err(|e| e.to_string())?;
                let img = DynamicImage::ImageRgb8(g.image);
                let scale = PixelScale::new(g.truth.pixel_size_um).map_err(|e| e.to_string())?;
                Pose::all(img.width(), img.height())
                    .into_iter()
                    .map(|p| {
                        pipeline
                            .analyse_in_pose(&img, p, scale, None)
                            .map(|a| a.hairs.len())
                            .map_err(|e| e.to_string())
                    })
                    .collect()
            })
            .collect::<Result<_, _>>()?;
        let fields = counts.len() as f64;
        let mean = counts.iter().flatten().sum::<usize>() as f64 / (8.0 * fields);
        let unstable = counts
            .iter()
            .filter(|c| c.iter().any(|&k| k != c[0]))
            .count();
        let range = counts
            .iter()
            .map(|c| (c.iter().max().unwrap_or(&0) - c.iter().min().unwrap_or(&0)) as f64)
            .sum::<f64>()
            / fields;
        let sd = counts
            .iter()
            .map(|c| {
                let m = c.iter().sum::<usize>() as f64 / 8.0;
                (c.iter().map(|&k| (k as f64 - m).powi(2)).sum::<f64>() / 7.0).sqrt()
            })
            .sum::<f64>()
            / fields;
        println!(
            "| {} | {} | {:.1} | {} ({:.0}%) | {:.2} | {:.2} |",
            scenario.name(),
            counts.len(),
            mean,
            unstable,
            100.0 * unstable as f64 / fields,
            range,
            sd
        );
    }
    Ok(())
}
