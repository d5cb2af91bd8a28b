//! The demonstration cohort end to end, and how well the study recovers it:
//! generates the cohort (`trichometry::synth::cohort`), counts every image and
//! analyses the study exactly as `trichometry study` does, then compares the
//! recovered density and change from baseline with the generator's truth
//! (`trichometry::study::recovery`). The figures of `docs/study.md` come from
//! this program.
//!
//! ```text
//! cargo run --release --example study_demo -- --out demo [--seed 1] [--subjects 16] [--field-mm2 25] [--jobs N]
//! ```
//!
//! Writes into `DIR`: the cohort (images, sidecars, `manifest.csv`,
//! `truth.csv`, `cohort.json`), the study (`DIR/study/`: tables, plots,
//! `report.md`) and `DIR/recovery.md`, which it also prints. An existing
//! cohort in `DIR` made with the same parameters and seed is reused.

use std::path::{Path, PathBuf};
use std::time::Instant;

use trichometry::batch::BatchOptions;
use trichometry::study::{self, aggregate::ALL_SITES, manifest, recovery, PrimaryEndpoint};
use trichometry::synth::cohort::{read_truth, write_cohort, CohortParams};
use trichometry::{Config, Pipeline};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut out: Option<PathBuf> = None;
    let mut seed = 1u64;
    let mut jobs: Option<usize> = None;
    let mut params = CohortParams::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--out" => out = Some(val()?.into()),
            "--seed" => seed = val()?.parse()?,
            "--subjects" => params.subjects = val()?.parse()?,
            "--field-mm2" => params.field_mm2 = val()?.parse()?,
            "--jobs" => jobs = Some(val()?.parse()?),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let out = out.ok_or("--out DIR is required")?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.unwrap_or(0))
        .build()?;

    let t0 = Instant::now();
    let id = format!(
        "{}\n{seed}\n{}",
        trichometry::synth::GENERATOR_VERSION,
        serde_json::to_string(&params)?
    );
    let id_path = out.join("cohort.id");
    if std::fs::read_to_string(&id_path).ok().as_deref() == Some(id.as_str()) {
        eprintln!("reusing the cohort in {}", out.display());
    } else {
        pool.install(|| write_cohort(&out, &params, seed))?;
        std::fs::write(&id_path, &id)?;
    }
    let t_gen = t0.elapsed();

    let t1 = Instant::now();
    let mut m = manifest::read_manifest(&out.join("manifest.csv"))?;
    m.check_files();
    let pipeline = Pipeline::new(Config::default())?;
    let reports = pool.install(|| study::count_images(&pipeline, &m, &BatchOptions::default()));
    let t_count = t1.elapsed();

    let last = params
        .visits
        .last()
        .map(|v| v.name.clone())
        .unwrap_or_default();
    let mut cfg = study::StudyConfig::default();
    cfg.primary = Some(PrimaryEndpoint::parse(&format!(
        "{last}:{ALL_SITES}:density"
    ))?);
    let result = study::analyse(&m, &reports, &cfg)?;
    study::output::write_all(&result, &out.join("study"))?;

    let truth = read_truth(&out.join("truth.csv"))?;
    let table = recovery::endpoint_vs_truth(&truth, &result, ALL_SITES);
    let mut recs = vec![recovery::recovery(&truth, &result, &last, ALL_SITES)?];
    for site in &params.sites {
        recs.push(recovery::recovery(&truth, &result, &last, site)?);
    }
    let md = format!(
        "# Recovery on the demonstration cohort\n\n\
         trichometry {}, generator `{}`, seed {seed}, {} subjects × {} sites × {} visits, \
         {} mm² per photograph at {} µm/px, default counting configuration.\n\n{}\n\
         Generation {:.1} s, counting {:.1} s ({} worker threads).\n",
        env!("CARGO_PKG_VERSION"),
        trichometry::synth::GENERATOR_VERSION,
        params.subjects,
        params.sites.len(),
        params.visits.len(),
        params.field_mm2,
        params.pixel_size_um,
        recovery::markdown(&table, &recs),
        t_gen.as_secs_f64(),
        t_count.as_secs_f64(),
        pool.current_num_threads()
    );
    write(&out.join("recovery.md"), &md)?;
    println!("{md}");
    for p in &result.problems {
        eprintln!("{p}");
    }
    Ok(())
}

fn write(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}
