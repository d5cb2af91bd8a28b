//! The bad-input corpus of `fixtures/regression/`: one test per file (see the
//! README there), each asserting the exact `error_kind` code or the decoded
//! content. Error paths go through `batch::process_one` (the code a batch
//! report carries) and `decode::decode_path`.

use std::path::{Path, PathBuf};

use trichometry::batch::{process_one, BatchInput, BatchOptions};
use trichometry::decode::{decode_path, DecodeLimits, Decoded};
use trichometry::{Config, ErrorKind, Pipeline};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/regression")
        .join(name)
}

/// The `error_kind` a batch report gives for `name` with a valid calibration.
fn batch_code(name: &str) -> Option<String> {
    batch_code_path(&fixture(name), Some(5.0))
}

fn batch_code_path(path: &Path, pixel_size_um: Option<f64>) -> Option<String> {
    let pipeline = Pipeline::new(Config::default()).unwrap();
    let opts = BatchOptions {
        pixel_size_um,
        ..Default::default()
    };
    let report = process_one(&pipeline, &BatchInput::from_path(path), &opts);
    report.error_kind
}

fn decode_code(name: &str) -> &'static str {
    match decode_path(&fixture(name), &DecodeLimits::default()) {
        Ok(_) => "ok",
        Err(e) => e.code(),
    }
}

fn decoded(name: &str) -> Decoded {
    decode_path(&fixture(name), &DecodeLimits::default()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

// empty.jpg: a zero-byte file is a failed copy -> `truncated`.
#[test]
fn empty_file_is_truncated() {
    assert_eq!(decode_code("empty.jpg"), "truncated");
    assert_eq!(batch_code("empty.jpg").as_deref(), Some("truncated"));
}

// text_named.jpg: text with a .jpg name -> `unsupported_format`, saying it is text.
#[test]
fn text_named_jpg_is_unsupported() {
    let e = decode_path(&fixture("text_named.jpg"), &DecodeLimits::default()).unwrap_err();
    assert_eq!(e.code(), "unsupported_format");
    assert!(e.to_string().contains("text"), "{e}");
    assert_eq!(
        batch_code("text_named.jpg").as_deref(),
        Some("unsupported_format")
    );
}

// truncated.jpg: a JPEG cut in its scan -> `truncated` (image alone would fill it grey).
#[test]
fn truncated_jpeg_is_truncated() {
    assert_eq!(decode_code("truncated.jpg"), "truncated");
    assert_eq!(batch_code("truncated.jpg").as_deref(), Some("truncated"));
}

// truncated.png: a PNG cut inside IDAT -> `truncated`.
#[test]
fn truncated_png_is_truncated() {
    assert_eq!(decode_code("truncated.png"), "truncated");
    assert_eq!(batch_code("truncated.png").as_deref(), Some("truncated"));
}

// bomb_100000x100000.png: header claims 100000 x 100000 -> `too_large` with
// the claimed size, quickly (nothing is allocated).
#[test]
fn png_header_bomb_is_too_large_quickly() {
    let t = std::time::Instant::now();
    let e = decode_path(&fixture("bomb_100000x100000.png"), &DecodeLimits::default()).unwrap_err();
    let elapsed = t.elapsed();
    match e.kind() {
        ErrorKind::TooLarge { width, height, .. } => {
            assert_eq!((*width, *height), (100_000, 100_000))
        }
        k => panic!("expected TooLarge, got {k:?}"),
    }
    assert!(elapsed.as_millis() < 500, "took {elapsed:?}");
    assert_eq!(
        batch_code("bomb_100000x100000.png").as_deref(),
        Some("too_large")
    );
}

// one_pixel.png: a 1 x 1 image is valid; its one value is 77.
#[test]
fn one_pixel_png_decodes() {
    let d = decoded("one_pixel.png");
    assert_eq!(d.image.as_luma8().unwrap().as_raw(), &vec![77u8]);
}

// strip_3x100000.png: a 3 x 100000 strip is valid; pixel (x, y) = (x + y) % 251.
#[test]
fn strip_3x100000_png_decodes() {
    let d = decoded("strip_3x100000.png");
    let g = d.image.as_luma8().unwrap();
    assert_eq!(g.dimensions(), (3, 100_000));
    for (x, y) in [(0, 0), (2, 0), (1, 250), (2, 99_999), (0, 54_321)] {
        assert_eq!(g.get_pixel(x, y).0, [((x + y) % 251) as u8], "({x},{y})");
    }
}

// gray16.png: 16-bit gray keeps all 16 bits.
#[test]
fn gray16_png_keeps_16_bits() {
    let d = decoded("gray16.png");
    let g = d.image.as_luma16().expect("Luma16");
    assert_eq!(g.as_raw(), &vec![0x0102u16, 0x1234, 0xABCD, 0xFFFF]);
}

// gray_alpha.png: gray+alpha decodes as LumaA8 with both channels.
#[test]
fn gray_alpha_png_decodes() {
    let d = decoded("gray_alpha.png");
    assert_eq!(
        d.image.as_luma_alpha8().unwrap().as_raw(),
        &vec![10u8, 255, 200, 0]
    );
}

// cmyk.jpg: a CMYK (Adobe) JPEG of pure cyan decodes to RGB cyan. ImageMagick
// 6.9.11 (`convert cmyk.jpg -colorspace sRGB txt:-`) gives (1, 255, 255).
#[test]
fn cmyk_jpeg_decodes_to_rgb() {
    let d = decoded("cmyk.jpg");
    let rgb = d.image.as_rgb8().expect("CMYK converts to Rgb8");
    assert_eq!(rgb.dimensions(), (16, 16));
    let p = rgb.get_pixel(8, 8).0;
    assert!(p[0] <= 8 && p[1] >= 247 && p[2] >= 247, "{p:?}");
}

// exif_orientation6.jpg: stored 24 x 16 with a white block at the stored
// top-left; orientation 6 displays it 16 x 24 with the block top-right
// (ImageMagick `-auto-orient` agrees).
#[test]
fn exif_rotated_jpeg_marked_corner_lands_top_right() {
    let d = decoded("exif_orientation6.jpg");
    let g = d.image.to_luma8();
    assert_eq!(g.dimensions(), (16, 24));
    assert!(g.get_pixel(12, 3).0[0] > 240, "top-right is the block");
    assert!(g.get_pixel(3, 3).0[0] < 15, "top-left is dark");
    assert!(g.get_pixel(12, 20).0[0] < 15, "bottom-right is dark");
}

// tiny.gif: a GIF is recognised and named, but `unsupported_format`.
#[test]
fn gif_is_unsupported_and_named() {
    let e = decode_path(&fixture("tiny.gif"), &DecodeLimits::default()).unwrap_err();
    assert_eq!(e.code(), "unsupported_format");
    assert!(e.to_string().contains("GIF"), "{e}");
    assert_eq!(
        batch_code("tiny.gif").as_deref(),
        Some("unsupported_format")
    );
}

// A missing file is `not_found`, with its path.
#[test]
fn missing_file_is_not_found() {
    let p = fixture("no_such_file.png");
    let e = decode_path(&p, &DecodeLimits::default()).unwrap_err();
    assert_eq!(e.code(), "not_found");
    assert_eq!(e.path(), Some(p.as_path()));
    assert_eq!(batch_code_path(&p, Some(5.0)).as_deref(), Some("not_found"));
}

// A directory where a file is expected is `io_error`.
#[test]
fn directory_is_io_error() {
    let p = fixture("");
    assert_eq!(
        decode_path(&p, &DecodeLimits::default())
            .unwrap_err()
            .code(),
        "io_error"
    );
    assert_eq!(batch_code_path(&p, Some(5.0)).as_deref(), Some("io_error"));
}

// Symbolic links in an input folder are not followed: a self-referencing link,
// a link back up the tree (a loop) and a link to an image are all skipped, so
// the search ends and finds each real image once.
#[cfg(unix)]
#[test]
fn symlink_loops_in_input_folder_are_skipped() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    std::fs::copy(fixture("one_pixel.png"), sub.join("a.png")).unwrap();
    symlink(dir.path().join("self.png"), dir.path().join("self.png")).unwrap();
    symlink(dir.path(), sub.join("up")).unwrap();
    symlink(sub.join("a.png"), dir.path().join("link.png")).unwrap();
    let inputs = trichometry::batch::expand_inputs(&[dir.path().to_path_buf()], &[]).unwrap();
    let found: Vec<&Path> = inputs.iter().map(|i| i.path.as_path()).collect();
    assert_eq!(found, vec![sub.join("a.png").as_path()]);
    // Given directly, the self-referencing link is an error record, not a hang.
    let looped = dir.path().join("self.png");
    assert_eq!(
        batch_code_path(&looped, Some(5.0)).as_deref(),
        Some("io_error")
    );
}

// An unreadable file is `io_error`. Root reads any file whatever its mode, so
// when the read succeeds (tests running as root) there is nothing to check.
#[cfg(unix)]
#[test]
fn unreadable_file_is_io_error() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("locked.png");
    std::fs::copy(fixture("one_pixel.png"), &p).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&p).is_ok() {
        return; // running as root: permissions are not enforced
    }
    assert_eq!(
        decode_path(&p, &DecodeLimits::default())
            .unwrap_err()
            .code(),
        "io_error"
    );
}

// Pixel sizes zero, negative, NaN, infinite and absurd -> `calibration_invalid`,
// before the image is decoded.
#[test]
fn invalid_calibration_values() {
    for v in [0.0, -5.0, f64::NAN, f64::INFINITY, 1.0e9, 1.0e-9] {
        assert_eq!(
            batch_code_path(&fixture("one_pixel.png"), Some(v)).as_deref(),
            Some("calibration_invalid"),
            "{v}"
        );
    }
}

// No pixel size anywhere -> `calibration_missing`.
#[test]
fn missing_calibration() {
    assert_eq!(
        batch_code_path(&fixture("one_pixel.png"), None).as_deref(),
        Some("calibration_missing")
    );
}

// Every file listed in the README exists, and every fixture file has a test
// here (its name appears in this file).
#[test]
fn readme_and_tests_cover_every_fixture() {
    let readme = std::fs::read_to_string(fixture("README.md")).unwrap();
    let this = include_str!("bad_inputs.rs");
    for entry in std::fs::read_dir(fixture("")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name == "README.md" || name.ends_with(".py") {
            continue;
        }
        assert!(
            readme.contains(&format!("`{name}`")),
            "{name} not in README"
        );
        assert!(this.contains(&format!("\"{name}\"")), "{name} has no test");
    }
}
