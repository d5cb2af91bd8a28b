//! `trichometry synth-cohort`: thin glue over [`trichometry::synth::cohort::write_cohort`].

use std::path::PathBuf;

use trichometry::synth::cohort::{write_cohort, CohortParams};
use trichometry::Error;

/// Arguments of `trichometry synth-cohort`.
#[derive(Debug, clap::Args)]
pub struct SynthCohortArgs {
    /// Output folder (created): images, `NAME.truth.json` sidecars, `manifest.csv`, `truth.csv`, `cohort.json`.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Seed; the same seed, parameters and generator version give byte-identical output.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Cohort parameters (TOML): any field of the cohort parameters; flags override it.
    #[arg(long, value_name = "FILE")]
    pub params: Option<PathBuf>,
    /// Number of subjects [default: 16].
    #[arg(long, value_name = "N")]
    pub subjects: Option<u32>,
    /// Area of each photograph, mm² [default: 25; a trial's target area is 100].
    #[arg(long, value_name = "MM2")]
    pub field_mm2: Option<f64>,
    /// Worker threads (default: all cores).
    #[arg(long, short, value_name = "N")]
    pub jobs: Option<usize>,
}

/// Runs `trichometry synth-cohort`.
pub fn run(args: SynthCohortArgs) -> Result<u8, Error> {
    let mut params = match &args.params {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| Error::from_io(e, p))?;
            toml::from_str::<CohortParams>(&text)
                .map_err(|e| Error::config("(cohort params)", e.to_string()).with_path(p))?
        }
        None => CohortParams::default(),
    };
    if let Some(n) = args.subjects {
        params.subjects = n;
    }
    if let Some(f) = args.field_mm2 {
        params.field_mm2 = f;
    }
    params.validate()?;
    if args.jobs == Some(0) {
        return Err(Error::invalid_input("--jobs must be at least 1"));
    }
    let start = std::time::Instant::now();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.unwrap_or(0))
        .build()
        .map_err(|e| Error::config("jobs", e.to_string()))?;
    let written = pool.install(|| write_cohort(&args.out, &params, args.seed))?;
    println!(
        "wrote {} images ({} subjects × {} sites × {} visits) with truth sidecars, {} and {} in {:.1} s (generator {})",
        written.rows.len(),
        params.subjects,
        params.sites.len(),
        params.visits.len(),
        written.manifest.display(),
        written.truth.display(),
        start.elapsed().as_secs_f64(),
        trichometry::synth::GENERATOR_VERSION
    );
    Ok(0)
}
