//! Count the hairs in one image and print its report as JSON.
//!
//! ```text
//! cargo run --example count_one -- IMAGE PIXEL_SIZE_UM
//! cargo run --example count_one -- fixtures/images/mixed_0000.png 5
//! ```

use trichometry::batch::{self, BatchInput, BatchOptions};
use trichometry::{Config, Pipeline};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(path), Some(px)) = (args.next(), args.next()) else {
        eprintln!("usage: count_one IMAGE PIXEL_SIZE_UM");
        std::process::exit(2);
    };
    let pipeline = Pipeline::new(Config::default())?;
    let opts = BatchOptions {
        pixel_size_um: Some(px.parse()?),
        ..Default::default()
    };
    // process_one never fails: problems become an error record.
    let report = batch::process_one(&pipeline, &BatchInput::from_path(path), &opts);
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
