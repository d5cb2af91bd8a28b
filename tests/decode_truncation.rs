//! Truncated and corrupt files are errors, never partial pictures.

use std::io::Cursor;

use image::{DynamicImage, ImageBuffer, ImageFormat, Luma, Rgb};
use trichometry::decode::{decode_bytes, DecodeLimits};
use trichometry::ErrorKind;

fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut v = Vec::new();
    img.write_to(&mut Cursor::new(&mut v), format).unwrap();
    v
}

fn textured() -> DynamicImage {
    DynamicImage::ImageRgb8(ImageBuffer::from_fn(24, 16, |x, y| {
        Rgb([(x * 10) as u8, (y * 15) as u8, ((x * y) % 256) as u8])
    }))
}

fn jpeg() -> Vec<u8> {
    encode(&textured(), ImageFormat::Jpeg)
}

fn code(bytes: &[u8]) -> &'static str {
    match decode_bytes(bytes, &DecodeLimits::default()) {
        Ok(_) => "ok",
        Err(e) => e.code(),
    }
}

// Every strict prefix of a JPEG is `truncated`, though the JPEG decoder on
// its own returns a grey-filled picture for most of them.
#[test]
fn every_jpeg_prefix_is_truncated() {
    let full = jpeg();
    assert_eq!(code(&full), "ok");
    for len in 0..full.len() {
        assert_eq!(code(&full[..len]), "truncated", "prefix of {len} bytes");
    }
}

// The lenient JPEG decoder inside `image` accepts some cuts inside the scan
// (it fills the rest grey): find them, and prove trichometry refuses each.
#[test]
fn jpeg_cuts_that_image_accepts_are_refused() {
    let full = jpeg();
    let accepted_by_image: Vec<usize> = (0..full.len())
        .filter(|&len| image::load_from_memory_with_format(&full[..len], ImageFormat::Jpeg).is_ok())
        .collect();
    assert!(
        !accepted_by_image.is_empty(),
        "image's JPEG decoder no longer accepts truncated scans; this test lost its purpose"
    );
    for len in accepted_by_image {
        assert_eq!(code(&full[..len]), "truncated", "prefix of {len} bytes");
    }
}

// Every strict prefix of a PNG is `truncated` (no IEND, or a chunk cut short).
#[test]
fn every_png_prefix_is_truncated() {
    for img in [textured(), DynamicImage::new_luma16(3, 2)] {
        let full = encode(&img, ImageFormat::Png);
        assert_eq!(code(&full), "ok");
        for len in 0..full.len() {
            assert_eq!(code(&full[..len]), "truncated", "prefix of {len} bytes");
        }
    }
}

// Every strict prefix of a TIFF or BMP either fails or (when only unreferenced
// padding was cut) decodes to the identical image; a cut inside the pixel data
// is `truncated`.
#[test]
fn tiff_and_bmp_prefixes_never_give_a_partial_picture() {
    for format in [ImageFormat::Tiff, ImageFormat::Bmp] {
        let img = textured();
        let full = encode(&img, format);
        for len in 0..full.len() {
            if let Ok(d) = decode_bytes(&full[..len], &DecodeLimits::default()) {
                assert_eq!(d.image, img, "{format:?} prefix of {len} bytes");
            }
        }
    }
    // BMP: headers then pixel rows; cutting one byte off the rows is a truncation.
    let bmp = encode(&textured(), ImageFormat::Bmp);
    assert_eq!(code(&bmp[..bmp.len() - 1]), "truncated");
    assert_eq!(code(&bmp[..60]), "truncated");
}

/// A hand-built little-endian 4 x 4 gray TIFF with its IFD *before* the
/// pixel data (one strip of 16 bytes at the end of the file), so that cutting
/// the file leaves the IFD intact and loses strip bytes.
fn tiff_ifd_first() -> (Vec<u8>, Vec<u8>) {
    let pixels: Vec<u8> = (0..16).map(|i| i * 15).collect();
    let entries: [(u16, u16, u32); 8] = [
        (256, 3, 4),  // ImageWidth
        (257, 3, 4),  // ImageLength
        (258, 3, 8),  // BitsPerSample
        (259, 3, 1),  // Compression: none
        (262, 3, 1),  // Photometric: black is zero
        (273, 4, 0),  // StripOffsets, patched below
        (278, 3, 4),  // RowsPerStrip
        (279, 4, 16), // StripByteCounts
    ];
    let ifd_len = 2 + entries.len() * 12 + 4;
    let data_at = (8 + ifd_len) as u32;
    let mut b = b"II*\0".to_vec();
    b.extend_from_slice(&8u32.to_le_bytes());
    b.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, ty, v) in entries {
        let v = if tag == 273 { data_at } else { v };
        b.extend_from_slice(&tag.to_le_bytes());
        b.extend_from_slice(&ty.to_le_bytes());
        b.extend_from_slice(&1u32.to_le_bytes());
        if ty == 3 {
            b.extend_from_slice(&(v as u16).to_le_bytes());
            b.extend_from_slice(&[0, 0]);
        } else {
            b.extend_from_slice(&v.to_le_bytes());
        }
    }
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&pixels);
    (b, pixels)
}

// A TIFF whose strip runs past the end of the file is `truncated`, whichever
// byte of the strip is missing; the full file decodes exactly.
#[test]
fn tiff_strip_beyond_end_is_truncated() {
    let (full, pixels) = tiff_ifd_first();
    let d = decode_bytes(&full, &DecodeLimits::default()).unwrap();
    assert_eq!(d.image.as_luma8().unwrap().as_raw(), &pixels);
    for len in 0..full.len() {
        assert_eq!(code(&full[..len]), "truncated", "prefix of {len} bytes");
    }
}

// A PNG whose IDAT ends early but still has IEND (a hand-spliced file) fails
// in the decoder and is reported as an error, not a partial picture.
#[test]
fn png_with_short_idat_but_valid_chunks_is_an_error() {
    let img = DynamicImage::ImageLuma8(ImageBuffer::from_fn(64, 64, |x, y| {
        Luma([((x * 7 + y * 13) % 256) as u8])
    }));
    let full = encode(&img, ImageFormat::Png);
    // Rebuild the file with the IDAT payload halved (CRC recomputed).
    let mut pos = 8;
    let mut out = full[..8].to_vec();
    while pos < full.len() {
        let len = u32::from_be_bytes(full[pos..pos + 4].try_into().unwrap()) as usize;
        let ty = &full[pos + 4..pos + 8];
        let mut data = full[pos + 8..pos + 8 + len].to_vec();
        if ty == b"IDAT" {
            data.truncate(len / 2);
        }
        let mut chunk = ty.to_vec();
        chunk.extend_from_slice(&data);
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(&chunk);
        out.extend_from_slice(&crc32fast::hash(&chunk).to_be_bytes());
        pos += 12 + len;
    }
    let c = code(&out);
    assert!(c == "decode_failed" || c == "truncated", "got {c}");
}

// Bytes after a complete image are ignored: JPEG trailer after EOI (e.g. an
// appended preview or zero padding), bytes after PNG's IEND.
#[test]
fn trailing_bytes_after_the_image_are_accepted() {
    let mut j = jpeg();
    let want = decode_bytes(&j, &DecodeLimits::default()).unwrap().image;
    j.extend_from_slice(&[0u8; 100]);
    j.extend_from_slice(b"vendor trailer \xFF\xD8\xFF");
    assert_eq!(
        decode_bytes(&j, &DecodeLimits::default()).unwrap().image,
        want
    );
    let mut p = encode(&textured(), ImageFormat::Png);
    p.extend_from_slice(b"trailing");
    assert_eq!(
        decode_bytes(&p, &DecodeLimits::default()).unwrap().image,
        textured()
    );
}

// An EXIF thumbnail inside APP1 carries its own FF D9; cutting the file right
// after the thumbnail must still be `truncated`.
#[test]
fn jpeg_embedded_thumbnail_eoi_does_not_count() {
    let main = jpeg();
    let thumb = encode(&DynamicImage::new_luma8(8, 8), ImageFormat::Jpeg);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&thumb); // not valid EXIF, but a segment is a segment
    let mut j = main[..2].to_vec();
    j.extend_from_slice(&[0xFF, 0xE1]);
    j.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    j.extend_from_slice(&app1);
    let thumb_end = j.len();
    j.extend_from_slice(&main[2..]);
    assert_eq!(code(&j), "ok");
    assert_eq!(code(&j[..thumb_end]), "truncated");
    assert_eq!(code(&j[..thumb_end + 40]), "truncated");
}

// Too-large errors carry the header's claimed size for every format.
#[test]
fn too_large_carries_header_dimensions_for_each_format() {
    let img = DynamicImage::new_rgb8(40, 30);
    let limits = DecodeLimits {
        max_width_px: 39,
        ..DecodeLimits::default()
    };
    for format in [
        ImageFormat::Png,
        ImageFormat::Jpeg,
        ImageFormat::Tiff,
        ImageFormat::Bmp,
    ] {
        let e = decode_bytes(&encode(&img, format), &limits).unwrap_err();
        match e.kind() {
            ErrorKind::TooLarge { width, height, .. } => {
                assert_eq!((*width, *height), (40, 30), "{format:?}")
            }
            k => panic!("{format:?}: expected TooLarge, got {k:?}"),
        }
    }
}

/// A hand-built big-endian 32 x 16 gray TIFF with two 16 x 16 tiles and its
/// IFD before the pixel data.
fn tiled_tiff() -> (Vec<u8>, Vec<u8>) {
    let tile = |t: u32| -> Vec<u8> {
        (0..256u32)
            .map(|i| ((i % 16 + 16 * t) * 7 + i / 16 * 3) as u8)
            .collect()
    };
    let (t0, t1) = (tile(0), tile(1));
    // Full image, row-major: left half from tile 0, right half from tile 1.
    let mut image = Vec::new();
    for y in 0..16usize {
        image.extend_from_slice(&t0[y * 16..y * 16 + 16]);
        image.extend_from_slice(&t1[y * 16..y * 16 + 16]);
    }
    // (tag, type, count, inline value); offsets/counts arrays patched below.
    let entries: [(u16, u16, u32, u32); 9] = [
        (256, 3, 1, 32), // ImageWidth
        (257, 3, 1, 16), // ImageLength
        (258, 3, 1, 8),  // BitsPerSample
        (259, 3, 1, 1),  // Compression: none
        (262, 3, 1, 1),  // Photometric: black is zero
        (322, 3, 1, 16), // TileWidth
        (323, 3, 1, 16), // TileLength
        (324, 4, 2, 0),  // TileOffsets -> array
        (325, 4, 2, 0),  // TileByteCounts -> array
    ];
    let ifd_len = 2 + entries.len() * 12 + 4;
    let offsets_at = (8 + ifd_len) as u32;
    let counts_at = offsets_at + 8;
    let data_at = counts_at + 8;
    let mut b = b"MM\0*".to_vec();
    b.extend_from_slice(&8u32.to_be_bytes());
    b.extend_from_slice(&(entries.len() as u16).to_be_bytes());
    for (tag, ty, count, v) in entries {
        b.extend_from_slice(&tag.to_be_bytes());
        b.extend_from_slice(&ty.to_be_bytes());
        b.extend_from_slice(&count.to_be_bytes());
        match tag {
            324 => b.extend_from_slice(&offsets_at.to_be_bytes()),
            325 => b.extend_from_slice(&counts_at.to_be_bytes()),
            _ => {
                b.extend_from_slice(&(v as u16).to_be_bytes());
                b.extend_from_slice(&[0, 0]);
            }
        }
    }
    b.extend_from_slice(&0u32.to_be_bytes());
    for off in [data_at, data_at + 256] {
        b.extend_from_slice(&off.to_be_bytes());
    }
    for _ in 0..2 {
        b.extend_from_slice(&256u32.to_be_bytes());
    }
    b.extend_from_slice(&t0);
    b.extend_from_slice(&t1);
    (b, image)
}

// A tiled TIFF decodes exactly; every strict prefix (tile offset/count
// arrays, then tile bytes missing) is `truncated`.
#[test]
fn tiled_tiff_decodes_and_every_prefix_is_truncated() {
    let (full, image) = tiled_tiff();
    let d = decode_bytes(&full, &DecodeLimits::default()).unwrap();
    assert_eq!(d.image.as_luma8().unwrap().as_raw(), &image);
    for len in 0..full.len() {
        assert_eq!(code(&full[..len]), "truncated", "prefix of {len} bytes");
    }
}

/// A hand-built 4 x 2 RLE8 BMP with a gray palette: bottom row 0x10 x 4,
/// top row 0x20, 0x20, 0x30, 0x30.
fn rle8_bmp() -> Vec<u8> {
    let rle: &[u8] = &[4, 0x10, 0, 0, 2, 0x20, 2, 0x30, 0, 0, 0, 1];
    let data_offset = 14 + 40 + 256 * 4;
    let mut b = b"BM".to_vec();
    b.extend_from_slice(&((data_offset + rle.len()) as u32).to_le_bytes());
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&(data_offset as u32).to_le_bytes());
    b.extend_from_slice(&40u32.to_le_bytes());
    b.extend_from_slice(&4i32.to_le_bytes());
    b.extend_from_slice(&2i32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&8u16.to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes()); // BI_RLE8
    b.extend_from_slice(&(rle.len() as u32).to_le_bytes());
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&256u32.to_le_bytes()); // colours used
    b.extend_from_slice(&0u32.to_le_bytes());
    for i in 0..=255u8 {
        b.extend_from_slice(&[i, i, i, 0]);
    }
    b.extend_from_slice(rle);
    b
}

// An RLE8 BMP decodes to its runs; no strict prefix gives a different picture.
#[test]
fn rle8_bmp_decodes_and_prefixes_never_give_a_partial_picture() {
    let full = rle8_bmp();
    let want = decode_bytes(&full, &DecodeLimits::default())
        .unwrap()
        .image
        .to_luma8();
    assert_eq!(
        want.as_raw(),
        &vec![0x20, 0x20, 0x30, 0x30, 0x10, 0x10, 0x10, 0x10]
    );
    for len in 0..full.len() {
        if let Ok(d) = decode_bytes(&full[..len], &DecodeLimits::default()) {
            assert_eq!(d.image.to_luma8(), want, "prefix of {len} bytes");
        }
    }
}
