//! Count every image in a folder on a chosen number of threads, printing one
//! line per image in input order as results arrive.
//!
//! ```text
//! cargo run --release --example batch_dir -- FOLDER PIXEL_SIZE_UM [THREADS]
//! ```

use std::path::PathBuf;

use trichometry::batch::{self, BatchOptions};
use trichometry::{Config, Pipeline};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: batch_dir FOLDER PIXEL_SIZE_UM [THREADS]");
        std::process::exit(2);
    }
    let inputs = batch::expand_inputs(&[PathBuf::from(&args[0])], &[])?;
    let threads: usize = args.get(2).map(|t| t.parse()).transpose()?.unwrap_or(0);
    let pipeline = Pipeline::new(Config::default())?;
    let opts = BatchOptions {
        pixel_size_um: Some(args[1].parse()?),
        ..Default::default()
    };
    // The library never builds a global pool: choose the threads here.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    pool.install(|| {
        batch::run(&pipeline, &inputs, &opts, |_, r| match &r.error {
            None => println!(
                "{}\t{} hairs\t{:.1} hairs/cm²",
                r.image,
                r.hair_count.unwrap_or(0),
                r.density_per_cm2.unwrap_or(0.0)
            ),
            Some(e) => println!("{}\terror: {e}", r.image),
        })
    });
    Ok(())
}
