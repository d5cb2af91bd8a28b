//! Prints why each connected component of an image was counted as some number
//! of hairs or rejected (the pipeline's decision trail), for review and tuning.
//!
//! ```text
//! cargo run --release --example decision_trail -- IMAGE PIXEL_SIZE_UM
//! ```

use trichometry::{Config, Pipeline, PixelScale};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 2 {
        eprintln!("usage: decision_trail IMAGE PIXEL_SIZE_UM");
        std::process::exit(2);
    }
    let pipeline = Pipeline::new(Config::default())?;
    let decoded = trichometry::decode::decode_path(args[0].as_ref(), &pipeline.config().limits)?;
    let a = pipeline.analyse(&decoded.image, PixelScale::new(args[1].parse()?)?, None)?;
    for d in &a.components {
        println!(
            "{:?}\tarea={}\thairs={}\t{}",
            d.bbox, d.area_px, d.hairs, d.reason
        );
    }
    println!(
        "hairs={} density={:.1}/cm² flags={:?}",
        a.hairs.len(),
        a.density_per_cm2,
        a.qc_flags
    );
    Ok(())
}
