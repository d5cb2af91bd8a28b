//! Batch throughput over thread counts: `batch::run_collect` on a small set of
//! generated 1 MP images inside rayon pools of 1..=N threads, where N is the
//! number of available cores.
//!
//! ```text
//! cargo bench --bench batch
//! ```
//!
//! The images come from the project's generator (`isolated` parameters,
//! 5 µm/px, a clean capture, a different field per image), are encoded as
//! JPEG into a temporary folder before timing, and are read back from disk by
//! the batch as a user's files would be. Throughput is reported in images per
//! second; with perfect scaling it grows in proportion to the threads.

// The allocator the `trichometry` binary uses.
#[cfg(feature = "cli")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::hint::black_box;
use std::num::NonZeroUsize;
use std::path::Path;

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use image::{DynamicImage, ImageFormat};
use trichometry::batch::{self, BatchInput, BatchOptions};
use trichometry::synth::{render_patch, rng::SynthRng, Capture, Patch, Scenario};
use trichometry::{Config, Pipeline};

const UM_PER_PX: f64 = 5.0;
/// Images per batch: a multiple of every thread count up to 8, so no worker
/// idles at the end of a batch for want of an image.
const IMAGES: usize = 8;
/// 1 MP, the same field size as the stage benchmark's smallest.
const SIZE_PX: (u32, u32) = (1155, 866);

/// Generated field number `i`, encoded as JPEG under `dir`.
fn write_field(dir: &Path, i: usize) -> BatchInput {
    let (w, h) = SIZE_PX;
    let mut rng = SynthRng::from_label("bench-batch", &[i as u64]);
    let size_um = [f64::from(w) * UM_PER_PX, f64::from(h) * UM_PER_PX];
    let patch = Patch::random(&Scenario::Isolated.params(), size_um, &mut rng);
    let img = DynamicImage::ImageRgb8(render_patch(&patch, &Capture::clean(w, h, UM_PER_PX)).image);
    let path = dir.join(format!("field_{i:02}.jpg"));
    img.save_with_format(&path, ImageFormat::Jpeg)
        .expect("writes the bench image");
    BatchInput::from_path(path)
}

fn threads(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let inputs: Vec<BatchInput> = (0..IMAGES).map(|i| write_field(dir.path(), i)).collect();
    let pipeline = Pipeline::new(Config::default()).unwrap();
    let opts = BatchOptions {
        pixel_size_um: Some(UM_PER_PX),
        ..Default::default()
    };
    let max_threads = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);

    let mut g = c.benchmark_group("batch_1MP_jpeg");
    // One batch takes seconds: the fewest samples criterion allows, one
    // batch per sample.
    g.sample_size(10);
    g.sampling_mode(SamplingMode::Flat);
    g.throughput(Throughput::Elements(IMAGES as u64));
    for n in 1..=max_threads {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .expect("thread pool");
        g.bench_with_input(BenchmarkId::new("threads", n), &n, |b, _| {
            b.iter(|| {
                let reports =
                    pool.install(|| batch::run_collect(&pipeline, black_box(&inputs), &opts));
                assert!(reports.iter().all(|r| r.error_kind.is_none()));
                reports
            })
        });
    }
    g.finish();
}

criterion_group!(benches, threads);
criterion_main!(benches);
