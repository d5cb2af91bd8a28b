//! Per-stage and end-to-end timings of the pipeline on generated 1 MP and
//! 4 MP scalp fields (JPEG and PNG), never on downloaded images, and on
//! request at 12 MP (4000 × 3000), plus the hot-path kernels against the
//! `imageproc` functions they replace (group `kernels`).
//!
//! ```text
//! cargo bench --bench pipeline
//! TRICHOMETRY_BENCH_12MP=1 cargo bench --bench pipeline -- 12MP
//! ```
//!
//! The 12 MP sizes are behind `TRICHOMETRY_BENCH_12MP=1` because one analysis
//! there takes seconds, and ten samples of it would double the default run.
//!
//! The fields come from the project's generator (`isolated` parameters,
//! 5 µm/px, a clean capture), encoded in memory. Stages are timed on the
//! output of the stage before, so each figure is that stage alone.

use std::hint::black_box;
use std::io::Cursor;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use image::{DynamicImage, ImageFormat};
use trichometry::pipeline::pose::Pose;
use trichometry::pipeline::{components, filter, preprocess, segment};
use trichometry::synth::{render_patch, rng::SynthRng, Capture, Patch, Scenario};
use trichometry::{Config, Pipeline, PixelScale};

// The allocator the `trichometry` binary uses, so stage timings match it.
#[cfg(feature = "cli")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const UM_PER_PX: f64 = 5.0;
/// Set to `1` to add the 12 MP sizes.
const ENV_12MP: &str = "TRICHOMETRY_BENCH_12MP";

/// A generated field of `w` × `h` pixels at 5 µm/px.
fn field(w: u32, h: u32) -> DynamicImage {
    let mut rng = SynthRng::from_label("bench", &[u64::from(w), u64::from(h)]);
    let size_um = [f64::from(w) * UM_PER_PX, f64::from(h) * UM_PER_PX];
    let patch = Patch::random(&Scenario::Isolated.params(), size_um, &mut rng);
    DynamicImage::ImageRgb8(render_patch(&patch, &Capture::clean(w, h, UM_PER_PX)).image)
}

fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).expect("encodes in memory");
    out.into_inner()
}

fn stages(c: &mut Criterion) {
    let cfg = Config::default();
    let pipeline = Pipeline::new(cfg.clone()).unwrap();
    let scale = PixelScale::new(UM_PER_PX).unwrap();
    let mut g = c.benchmark_group("pipeline");
    g.sample_size(10);
    let mut sizes = vec![("1MP", 1155u32, 866u32), ("4MP", 2309, 1732)];
    let with_12mp = std::env::var(ENV_12MP).is_ok_and(|v| v == "1");
    if with_12mp {
        sizes.push(("12MP", 4000, 3000));
    }
    for (name, w, h) in sizes {
        let img = field(w, h);
        // At 12 MP only decoding and the whole analysis: the stage split is
        // already visible at 1 and 4 MP, and each stage there takes seconds.
        for (fmt_name, fmt) in [("jpeg", ImageFormat::Jpeg), ("png", ImageFormat::Png)] {
            let bytes = encode(&img, fmt);
            g.bench_with_input(
                BenchmarkId::new(format!("decode_{fmt_name}"), name),
                &bytes,
                |b, bytes| {
                    b.iter(|| trichometry::decode::decode_bytes(black_box(bytes), &cfg.limits))
                },
            );
            // The `image` crate's own decode of the same bytes: what the
            // structural walk, the truncation checks and SHA-256 add.
            g.bench_with_input(
                BenchmarkId::new(format!("decode_{fmt_name}_image_crate"), name),
                &bytes,
                |b, bytes| b.iter(|| image::load_from_memory_with_format(black_box(bytes), fmt)),
            );
        }
        {
            let pre = preprocess::preprocess(&img, scale, &cfg.preprocess).unwrap();
            g.bench_with_input(BenchmarkId::new("preprocess", name), &img, |b, img| {
                b.iter(|| preprocess::preprocess(black_box(img), scale, &cfg.preprocess))
            });
            let mask = segment::segment(&pre, scale, &cfg.segment).unwrap();
            g.bench_with_input(BenchmarkId::new("segment", name), &pre, |b, pre| {
                b.iter(|| segment::segment(black_box(pre), scale, &cfg.segment))
            });
            g.bench_with_input(BenchmarkId::new("components", name), &mask, |b, mask| {
                b.iter(|| components::components(black_box(mask), &pre, scale, &cfg.components))
            });
        }
        g.bench_with_input(BenchmarkId::new("analyse", name), &img, |b, img| {
            b.iter(|| pipeline.analyse(black_box(img), scale, None))
        });
    }
    g.finish();
}

/// The hot-path replacements against the crate functions they replace, on
/// the same input in one run (outputs are proved equal by property tests).
fn kernels(c: &mut Criterion) {
    let cfg = Config::default();
    let scale = PixelScale::new(UM_PER_PX).unwrap();
    let mut g = c.benchmark_group("kernels");
    g.sample_size(10);
    let mut sizes = vec![("4MP", 2309u32, 1732u32)];
    if std::env::var(ENV_12MP).is_ok_and(|v| v == "1") {
        sizes.push(("12MP", 4000, 3000));
    }
    for (name, w, h) in sizes {
        let img = field(w, h);
        // The canonical pose's copy: a transpose (the costliest pose) and a
        // half turn, by the image crate's operations and by trichometry's.
        for (pose_name, t, f) in [("transpose", true, false), ("rotate180", false, true)] {
            let pose = Pose {
                transpose: t,
                flip_x: f,
                flip_y: f,
                width: w,
                height: h,
            };
            g.bench_with_input(
                BenchmarkId::new(format!("pose_{pose_name}_image"), name),
                &img,
                |b, img| b.iter(|| pose.apply_with_image_crate(black_box(img))),
            );
            g.bench_with_input(
                BenchmarkId::new(format!("pose_{pose_name}_trichometry"), name),
                &img,
                |b, img| b.iter(|| pose.apply(black_box(img))),
            );
        }
        let pre = preprocess::preprocess(&img, scale, &cfg.preprocess).unwrap();
        let hn = &pre.hairness;
        let sigma = 1.85f32;
        g.bench_with_input(BenchmarkId::new("blur_imageproc", name), hn, |b, hn| {
            b.iter(|| imageproc::filter::gaussian_blur_f32(black_box(hn), sigma))
        });
        g.bench_with_input(BenchmarkId::new("blur_trichometry", name), hn, |b, hn| {
            b.iter(|| filter::gaussian_blur(black_box(hn), sigma))
        });
        // The background of one byte channel: selecting among its values
        // as floats, and the byte histograms `preprocess` uses for an RGB
        // channel (same bits: `byte_histogram_grid_matches_selection`).
        let rgb = img.to_rgb8();
        let green = image::GrayImage::from_fn(w, h, |x, y| image::Luma([rgb.get_pixel(x, y)[1]]));
        let green_f = preprocess::gray_f32(&img, preprocess::Channel::Green);
        let (win, cell) = (
            cfg.preprocess.background_window_um,
            cfg.preprocess.background_cell_um,
        );
        g.bench_with_input(
            BenchmarkId::new("background_select", name),
            &green_f,
            |b, gf| {
                b.iter(|| {
                    preprocess::estimate_background(black_box(gf), &pre.visible, scale, win, cell)
                })
            },
        );
        g.bench_with_input(
            BenchmarkId::new("background_histogram", name),
            &green,
            |b, g8| {
                b.iter(|| {
                    preprocess::estimate_background_u8(
                        black_box(g8),
                        &pre.visible,
                        scale,
                        win,
                        cell,
                    )
                })
            },
        );
        let mask = segment::segment(&pre, scale, &cfg.segment).unwrap().0;
        g.bench_with_input(BenchmarkId::new("dilate_imageproc", name), &mask, |b, m| {
            b.iter(|| {
                imageproc::morphology::dilate(
                    black_box(m),
                    imageproc::distance_transform::Norm::LInf,
                    4,
                )
            })
        });
        g.bench_with_input(
            BenchmarkId::new("dilate_trichometry", name),
            &mask,
            |b, m| b.iter(|| filter::dilate_square(black_box(m), 4)),
        );
    }
    g.finish();
}

criterion_group!(benches, stages, kernels);
criterion_main!(benches);
