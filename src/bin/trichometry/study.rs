//! `trichometry study`: density endpoints of a study from a manifest of
//! subjects, visits and sites — counting every image (or reading precomputed
//! reports), then writing tables, plots and a Markdown report.

use std::io::BufRead;
use std::path::PathBuf;

use clap::ValueEnum;
use trichometry::batch::BatchOptions;
use trichometry::report::ImageReport;
use trichometry::study::{self, manifest, stats::ZeroMethod, PrimaryEndpoint, StudyConfig};
use trichometry::{Config, Error, ErrorKind, Pipeline};

/// Zero handling of the Wilcoxon signed-rank test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ZeroArg {
    /// Drop zero differences (Wilcoxon).
    Wilcox,
    /// Rank zeros, then drop their ranks (Pratt).
    Pratt,
}

/// Arguments of `trichometry study`.
#[derive(Debug, clap::Args)]
pub struct StudyArgs {
    /// Study manifest CSV: `subject,visit,image` and optionally `pixel_size_um,site,arm,visit_day,replicate` and outcome columns.
    #[arg(value_name = "MANIFEST.csv")]
    pub manifest: PathBuf,
    /// Output folder for tables, plots and report.md (created if needed).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Baseline visit [default: the first visit].
    #[arg(long, value_name = "NAME")]
    pub baseline: Option<String>,
    /// Pipeline configuration for counting (TOML, or JSON if named *.json).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Study settings (TOML): any field of the study configuration; flags override it.
    #[arg(long, value_name = "FILE")]
    pub study_config: Option<PathBuf>,
    /// Use precomputed per-image reports (JSON Lines from `trichometry count --format jsonl`) instead of counting.
    #[arg(long, value_name = "FILE.jsonl")]
    pub reports: Option<PathBuf>,
    /// Primary endpoint as VISIT:SITE:MEASURE (e.g. M12:all_sites:density); all other p-values are exploratory.
    #[arg(long, value_name = "VISIT:SITE:MEASURE")]
    pub primary: Option<String>,
    /// Outcome column to summarise (repeatable), e.g. a 1–5 satisfaction score.
    #[arg(long = "outcome", value_name = "COL")]
    pub outcomes: Vec<String>,
    /// Reference (control) arm of a two-arm study [default: the second arm in the manifest].
    #[arg(long, value_name = "NAME")]
    pub reference_arm: Option<String>,
    /// Zero handling of the Wilcoxon signed-rank test.
    #[arg(long, value_enum)]
    pub zero_method: Option<ZeroArg>,
    /// Pixel size in µm/px for images without one in the manifest (counting only).
    #[arg(long, value_name = "F")]
    pub pixel_size_um: Option<f64>,
    /// Blinded review: copy every photograph to OUT/blind/ under a random code (with its review overlay, CODE.overlay.png, when the images are counted here) and write the key to OUT/blind_key.csv (keep it from the readers).
    #[arg(long)]
    pub blind: bool,
    /// Seed of the blinding codes [default: drawn from the clock and process id].
    #[arg(long, value_name = "N", requires = "blind")]
    pub blind_seed: Option<u64>,
    /// Worker threads for counting [default: all cores].
    #[arg(long, short, value_name = "N")]
    pub jobs: Option<usize>,
}

fn read_reports(path: &std::path::Path) -> Result<Vec<ImageReport>, Error> {
    let file = std::fs::File::open(path).map_err(|e| Error::from_io(e, path))?;
    let mut out = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| Error::from_io(e, path))?;
        if line.trim().is_empty() {
            continue;
        }
        let r: ImageReport = serde_json::from_str(&line).map_err(|e| {
            Error::new(ErrorKind::Manifest {
                line: i as u64 + 1,
                reason: format!("not an image report: {e}"),
            })
            .with_path(path)
        })?;
        out.push(r);
    }
    Ok(out)
}

fn study_config(args: &StudyArgs) -> Result<StudyConfig, Error> {
    let mut cfg = match &args.study_config {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| Error::from_io(e, p))?;
            toml::from_str::<StudyConfig>(&text)
                .map_err(|e| Error::config("(study config)", e.to_string()).with_path(p))?
        }
        None => StudyConfig::default(),
    };
    if let Some(b) = &args.baseline {
        cfg.baseline = Some(b.clone());
    }
    if let Some(p) = &args.primary {
        cfg.primary = Some(PrimaryEndpoint::parse(p)?);
    }
    if !args.outcomes.is_empty() {
        cfg.outcomes = args.outcomes.clone();
    }
    if let Some(a) = &args.reference_arm {
        cfg.reference_arm = Some(a.clone());
    }
    if let Some(z) = args.zero_method {
        cfg.zero_method = match z {
            ZeroArg::Wilcox => ZeroMethod::Wilcox,
            ZeroArg::Pratt => ZeroMethod::Pratt,
        };
    }
    cfg.validate()?;
    Ok(cfg)
}

/// Runs `trichometry study`; returns the exit status (1 when any manifest row or image failed).
pub fn run(args: StudyArgs) -> Result<u8, Error> {
    let cfg = study_config(&args)?;
    let mut m = manifest::read_manifest(&args.manifest)?;
    for col in &cfg.outcomes {
        if !m.extra_columns.contains(col) {
            return Err(Error::config(
                "outcome",
                format!("`{col}` is not a column of the manifest"),
            ));
        }
    }
    // Resolve the baseline early so a typo fails before any counting.
    m.baseline(cfg.baseline.as_deref())?;
    let reports = match &args.reports {
        Some(p) => read_reports(p)?,
        None => {
            m.check_files();
            let pcfg = match &args.config {
                Some(p) => Config::from_path(p)?,
                None => Config::default(),
            };
            let pipeline = Pipeline::new(pcfg)?;
            if let Some(p) = args.pixel_size_um {
                trichometry::PixelScale::new(p)
                    .map_err(|e| Error::invalid_input(format!("--pixel-size-um: {e}")))?;
            }
            // Blinded review: overlays go to a staging folder under their
            // image names and are renamed to their codes once the key exists.
            let overlay_dir = if args.blind {
                let d = staging_dir(&args);
                std::fs::create_dir_all(&d).map_err(|e| Error::from_io(e, &d))?;
                Some(d)
            } else {
                None
            };
            let opts = BatchOptions {
                pixel_size_um: args.pixel_size_um,
                overlay_dir,
                ..Default::default()
            };
            match args.jobs {
                Some(0) => return Err(Error::invalid_input("--jobs must be at least 1")),
                Some(n) => rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .build()
                    .map_err(|e| Error::invalid_input(format!("--jobs {n}: {e}")))?
                    .install(|| study::count_images(&pipeline, &m, &opts)),
                None => study::count_images(&pipeline, &m, &opts),
            }
        }
    };
    let result = study::analyse(&m, &reports, &cfg)?;
    let mut written = study::output::write_all(&result, &args.out)?;
    if args.blind {
        written.extend(write_blind(&m, &result, &args)?);
    }
    for p in &result.problems {
        eprintln!("trichometry: {}: {p}", args.manifest.display());
    }
    eprintln!(
        "trichometry: {} images, {} files written to {}",
        result.images.len(),
        written.len(),
        args.out.display()
    );
    let failed = result
        .problems
        .iter()
        .any(|p| p.severity == manifest::Severity::Error);
    Ok(u8::from(failed))
}

/// Where overlays wait for their codes: a hidden folder in OUT, removed afterwards.
fn staging_dir(args: &StudyArgs) -> PathBuf {
    args.out.join(".blind_overlays")
}

/// Copies the photographs under random codes into `OUT/blind/`, moves their
/// review overlays (when the images were counted here) to `OUT/blind/CODE.overlay.png`,
/// and writes `OUT/blind_key.csv`.
fn write_blind(
    m: &manifest::StudyManifest,
    result: &study::StudyResult,
    args: &StudyArgs,
) -> Result<Vec<PathBuf>, Error> {
    let seed = args.blind_seed.unwrap_or_else(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        nanos ^ (u64::from(std::process::id()) << 32)
    });
    let key = study::blind::blind_codes(&result.images, seed);
    let dir = args.out.join("blind");
    let staging = staging_dir(args);
    std::fs::create_dir_all(&dir).map_err(|e| Error::from_io(e, &dir))?;
    let mut written = Vec::new();
    for k in &key {
        let Some(row) = m.rows.iter().find(|r| r.line == k.line) else {
            continue;
        };
        if !row.path.is_file() {
            continue;
        }
        let ext = row
            .path
            .extension()
            .map(|e| format!(".{}", e.to_string_lossy().to_ascii_lowercase()))
            .unwrap_or_default();
        let target = dir.join(format!("{}{ext}", k.code));
        std::fs::copy(&row.path, &target).map_err(|e| Error::from_io(e, &row.path))?;
        written.push(target);
        let overlay = staging.join(trichometry::batch::overlay_file_name(&row.image));
        if overlay.is_file() {
            let target = dir.join(format!("{}.overlay.png", k.code));
            std::fs::rename(&overlay, &target).map_err(|e| Error::from_io(e, &overlay))?;
            written.push(target);
        }
    }
    if staging.is_dir() {
        std::fs::remove_dir_all(&staging).map_err(|e| Error::from_io(e, &staging))?;
    }
    let bytes = study::output::csv_bytes(&key)?;
    let kpath = args.out.join("blind_key.csv");
    std::fs::write(&kpath, bytes).map_err(|e| Error::from_io(e, &kpath))?;
    written.push(kpath);
    Ok(written)
}
