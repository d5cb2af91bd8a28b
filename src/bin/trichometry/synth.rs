//! `trichometry synth`: thin glue over [`trichometry::synth::write_dataset_with`].

use std::path::PathBuf;

use trichometry::synth::{write_dataset_with, DatasetOptions, ImageFormat, Scenario};

/// Arguments of `trichometry synth`.
#[derive(Debug, clap::Args)]
pub struct SynthArgs {
    /// Output folder (created): images, `NAME.truth.json` sidecars and `manifest.csv`.
    #[arg(long)]
    pub out: PathBuf,
    /// Number of images (per scenario).
    #[arg(long, default_value_t = 10)]
    pub n: u32,
    /// Seed; the same seed and generator version give byte-identical output.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Scenario name (isolated, units_crossings, faint, edge, mixed, phototrichogram) or `all`.
    #[arg(long, default_value = "mixed")]
    pub scenario: String,
    /// Image format: `auto` (JPEG where the scenario compresses, else PNG), `png` or `jpg`.
    #[arg(long, default_value = "auto")]
    pub format: String,
    /// Field of view in cm² (overrides the scenario's range), e.g. `0.5`.
    #[arg(long)]
    pub field_cm2: Option<f64>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub jobs: Option<usize>,
}

/// Runs `trichometry synth`.
pub fn run(args: SynthArgs) -> Result<u8, trichometry::Error> {
    let scenarios = if args.scenario == "all" {
        Scenario::ALL.to_vec()
    } else {
        vec![args.scenario.parse::<Scenario>()?]
    };
    let format = match args.format.as_str() {
        "auto" => ImageFormat::Auto,
        "png" => ImageFormat::Png,
        "jpg" | "jpeg" => ImageFormat::Jpeg,
        other => {
            return Err(trichometry::Error::config(
                "format",
                format!("unknown format `{other}` (auto, png or jpg)"),
            ))
        }
    };
    let opts = DatasetOptions {
        scenarios: scenarios.clone(),
        n: args.n,
        seed: args.seed,
        format,
        field_cm2: args.field_cm2.map(|f| [f, f]),
    };
    let start = std::time::Instant::now();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.unwrap_or(0))
        .build()
        .map_err(|e| trichometry::Error::config("jobs", e.to_string()))?;
    let paths = pool.install(|| write_dataset_with(&args.out, &opts))?;
    let names: Vec<&str> = scenarios.iter().map(|s| s.name()).collect();
    println!(
        "wrote {} images ({}) with truth sidecars and manifest.csv to {} in {:.1} s (generator {})",
        paths.len(),
        names.join(", "),
        args.out.display(),
        start.elapsed().as_secs_f64(),
        trichometry::synth::GENERATOR_VERSION
    );
    Ok(0)
}
