//! Live heap peak of the analysis of one image: what the pipeline itself
//! holds at its worst point, whatever the allocator keeps on top (see
//! `docs/performance.md`, "Peak memory").
//!
//! ```text
//! cargo run --release --example peak_memory -- IMAGE PIXEL_SIZE_UM [--save]
//! ```
//!
//! Prints the image's hair count, the largest number of bytes live at
//! once, from decoding to the report, and the bytes allocated in all (each
//! fresh page of which the kernel zeroes on first touch), counted by the
//! `dhat` heap profiler.
//! With `--save` the profile is written to `dhat-heap.json` for the DHAT
//! viewer, which shows which allocation sites were live at that peak.

use std::path::Path;

use trichometry::calibrate::PixelScale;
use trichometry::decode::{decode_path, DecodeLimits};
use trichometry::pipeline::Pipeline;
use trichometry::Config;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: peak_memory IMAGE PIXEL_SIZE_UM [--save]";
    let image = args.next().ok_or(usage)?;
    let pixel_size_um: f64 = args.next().ok_or(usage)?.parse()?;
    let save = args.next().as_deref() == Some("--save");
    let profiler = if save {
        dhat::Profiler::builder().build()
    } else {
        dhat::Profiler::builder().testing().build()
    };
    let pipeline = Pipeline::new(Config::default())?;
    let decoded = decode_path(Path::new(&image), &DecodeLimits::default())?;
    let after_decode = dhat::HeapStats::get().curr_bytes;
    let analysis = pipeline.analyse_owned(decoded.image, PixelScale::new(pixel_size_um)?, None)?;
    let stats = dhat::HeapStats::get();
    println!(
        "{image}: {} hairs; decoded image {:.1} MB; live heap peak {:.1} MB; \
         allocated in all {:.1} MB in {} blocks",
        analysis.hairs.len(),
        after_decode as f64 / 1e6,
        stats.max_bytes as f64 / 1e6,
        stats.total_bytes as f64 / 1e6,
        stats.total_blocks
    );
    drop(profiler);
    Ok(())
}
