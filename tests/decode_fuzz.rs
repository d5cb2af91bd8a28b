//! Decoding never panics and never returns a partial picture: random bytes,
//! random bytes behind each supported signature, bit-flipped valid files, and
//! every truncation of valid files. Seeds are pinned so failures reproduce.

use std::io::Cursor;

use image::{DynamicImage, ImageBuffer, ImageFormat, Luma, Rgb, Rgba};
use proptest::prelude::*;
use trichometry::decode::{decode_bytes, DecodeLimits};

mod common;
use common::proptest_config as cfg;

/// Small limits so that a mutated header cannot make a test slow.
fn limits() -> DecodeLimits {
    DecodeLimits {
        max_width_px: 1024,
        max_height_px: 1024,
        max_alloc_bytes: 4 << 20,
        max_pixels: 1 << 20,
    }
}

fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut v = Vec::new();
    img.write_to(&mut Cursor::new(&mut v), format).unwrap();
    v
}

/// Small valid files of every supported container, some pixel types each.
fn seeds() -> Vec<(ImageFormat, DynamicImage, Vec<u8>)> {
    let rgb = DynamicImage::ImageRgb8(ImageBuffer::from_fn(13, 9, |x, y| {
        Rgb([(x * 19) as u8, (y * 27) as u8, ((x * y * 7) % 256) as u8])
    }));
    let gray = DynamicImage::ImageLuma8(ImageBuffer::from_fn(9, 5, |x, y| {
        Luma([((x * 31 + y * 17) % 256) as u8])
    }));
    let rgba16 = DynamicImage::ImageRgba16(ImageBuffer::from_fn(5, 4, |x, y| {
        Rgba([
            (x * 9000) as u16,
            (y * 13_000) as u16,
            0x1234,
            0xFFFF - x as u16,
        ])
    }));
    let mut out = Vec::new();
    for (format, img) in [
        (ImageFormat::Jpeg, rgb.clone()),
        (ImageFormat::Jpeg, gray.clone()),
        (ImageFormat::Png, rgb.clone()),
        (ImageFormat::Png, rgba16.clone()),
        (ImageFormat::Tiff, rgb.clone()),
        (ImageFormat::Tiff, rgba16),
        (ImageFormat::Bmp, rgb),
        (ImageFormat::Bmp, gray),
    ] {
        let bytes = encode(&img, format);
        // What trichometry decodes from the intact file (JPEG is lossy).
        let want = decode_bytes(&bytes, &limits()).unwrap().image;
        out.push((format, want, bytes));
    }
    out
}

// Every strict prefix of every seed file is an error, or (only where the cut
// removed bytes nothing refers to) exactly the intact picture. For JPEG and
// PNG, whose ends are marked, every prefix is `truncated`.
#[test]
fn every_truncation_of_every_seed_is_an_error() {
    for (format, want, bytes) in seeds() {
        for len in 0..bytes.len() {
            match decode_bytes(&bytes[..len], &limits()) {
                Err(e) => {
                    if matches!(format, ImageFormat::Jpeg | ImageFormat::Png) {
                        assert_eq!(e.code(), "truncated", "{format:?} prefix {len}: {e}");
                    }
                }
                Ok(d) => assert_eq!(d.image, want, "{format:?} prefix {len} decoded differently"),
            }
        }
    }
}

const SIGNATURES: &[&[u8]] = &[
    &[0xFF, 0xD8, 0xFF],
    b"\x89PNG\r\n\x1a\n",
    b"II*\0",
    b"MM\0*",
    b"II+\0\x08\0\0\0",
    b"BM",
];

proptest! {
    #![proptest_config(cfg(400))]

    // Arbitrary bytes never panic out of decode_bytes.
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = decode_bytes(&bytes, &limits());
    }

    // Arbitrary bytes behind a supported signature reach the structure
    // walkers and decoders, and never panic out of decode_bytes.
    #[test]
    fn random_bytes_behind_a_signature_never_panic(
        sig in 0..SIGNATURES.len(),
        tail in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let mut bytes = SIGNATURES[sig].to_vec();
        bytes.extend_from_slice(&tail);
        let _ = decode_bytes(&bytes, &limits());
    }
}

proptest! {
    #![proptest_config(cfg(600))]

    // Valid files with 1-8 random bytes overwritten (bit flips included)
    // never panic; a PNG so damaged outside its signature never decodes to a
    // different picture (every chunk carries a CRC).
    #[test]
    fn mutated_valid_files_never_panic(
        which in 0usize..8,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        also_cut in any::<bool>(),
    ) {
        let seeds = seeds();
        let (format, want, bytes) = &seeds[which % seeds.len()];
        let mut m = bytes.clone();
        for (at, v) in &edits {
            let i = at.index(m.len());
            m[i] = *v;
        }
        if also_cut {
            m.truncate(cut.index(m.len()));
        }
        let r = decode_bytes(&m, &limits());
        if *format == ImageFormat::Png && m != *bytes && m.len() > 8 && m[..8] == bytes[..8] {
            if let Ok(d) = r {
                prop_assert_eq!(&d.image, want);
            }
        }
    }
}
