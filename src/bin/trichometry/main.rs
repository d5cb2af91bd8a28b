//! The `trichometry` command-line tool: thin glue over the library.
//!
//! Each subcommand parses its arguments, calls the library and prints. Exit
//! status: 0 success; 1 at least one error record; 2 usage, configuration or
//! manifest error before any image was processed; 130 interrupted.

mod count;
mod eval;
mod output;
mod study;
mod synth;
mod synth_cohort;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc keeps freed memory for reuse instead of returning each large
/// image buffer to the kernel and faulting it back in zeroed for the next
/// one; `docs/performance.md` measures the gain.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Hair density (hairs/cm²) from calibrated trichoscopy / phototrichogram images.
#[derive(Debug, Parser)]
#[command(name = "trichometry", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Count hairs and compute density per image.
    Count(Box<count::CountArgs>),
    /// Generate synthetic scalp images with exact ground truth.
    Synth(synth::SynthArgs),
    /// Generate a longitudinal demonstration cohort (subjects × sites × visits) with a study manifest and its truth.
    SynthCohort(synth_cohort::SynthCohortArgs),
    /// Score counts (or hair positions) against ground truth.
    Eval(eval::EvalArgs),
    /// Density endpoints of a study: per-visit tables, change from baseline, tests, plots.
    Study(study::StudyArgs),
}

/// Exit status for usage, configuration or manifest errors.
pub const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let result = match cli.command {
        Command::Count(a) => count::run(*a),
        Command::Synth(a) => synth::run(a),
        Command::SynthCohort(a) => synth_cohort::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Study(a) => study::run(a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("trichometry: {e}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}
