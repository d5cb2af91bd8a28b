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

/// mimalloc's `mi_option_purge_delay` (its index in `mi_option_e`, the same
/// in mimalloc 2 and 3; `libmimalloc-sys` names no constant for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Has the allocator return freed memory to the kernel at once rather than
/// after a delay (one second in mimalloc 3), unless the user set
/// `MIMALLOC_PURGE_DELAY`. A 12 MP analysis frees and allocates
/// buffers of 12–48 MB stage after stage; memory held back for reuse that
/// the next buffer does not fit raised the peak resident memory well above
/// the live heap. Measured with the same binary, `MIMALLOC_PURGE_DELAY`
/// 1000 (mimalloc's default) against 0, runs alternating, on the benchmark
/// maker's 12 MP JPEGs at 5 µm/px (`docs/performance.md`, "Peak memory"):
/// four images with `--jobs 1`, three runs each, peak RSS 264–271 MiB →
/// 182–187 MiB, wall time 6.57–7.08 s → 6.77–6.97 s (medians 6.63 s and
/// 6.87 s, about 3% slower); an earlier build, four images with `--jobs 2`,
/// six runs each, 428–540 MiB → 325–370 MiB, 3.19–3.66 s → 3.18–3.65 s.
fn return_freed_memory_at_once() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets one integer option of the allocator; it takes no
        // pointers, and mimalloc reads its options atomically at any time.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
    }
}

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
    return_freed_memory_at_once();
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

#[cfg(test)]
mod tests {
    use super::*;

    // The index names the purge delay of the linked mimalloc: its default
    // (1000 ms in mimalloc 3's `options.c`) reads back, then the value set.
    #[test]
    fn purge_delay_option_is_the_one_set() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        // SAFETY: reads and sets one integer option (see `return_freed_memory_at_once`).
        let before = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        assert_eq!(before, 1000);
        return_freed_memory_at_once();
        let after = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        assert_eq!(after, 0);
    }
}
