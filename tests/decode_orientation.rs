//! EXIF orientation: all eight values, from JPEG (APP1), PNG (eXIf) and TIFF
//! (Orientation tag). Coordinates after decoding are in the displayed frame.

use std::io::Cursor;

use image::{DynamicImage, GrayImage, ImageBuffer, ImageFormat, Luma};
use trichometry::decode::{decode_bytes, DecodeLimits};

/// A TIFF-structured EXIF block holding only the Orientation tag (0x0112).
fn exif_tiff(orientation: u16, big_endian: bool) -> Vec<u8> {
    let w16 = |v: u16| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let w32 = |v: u32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut b = Vec::new();
    b.extend_from_slice(if big_endian { b"MM" } else { b"II" });
    b.extend_from_slice(&w16(42));
    b.extend_from_slice(&w32(8)); // IFD0 offset
    b.extend_from_slice(&w16(1)); // one entry
    b.extend_from_slice(&w16(0x0112));
    b.extend_from_slice(&w16(3)); // SHORT
    b.extend_from_slice(&w32(1));
    b.extend_from_slice(&w16(orientation));
    b.extend_from_slice(&[0, 0]);
    b.extend_from_slice(&w32(0)); // no next IFD
    b
}

/// Inserts an `eXIf` chunk right after IHDR.
fn png_with_exif(png: &[u8], exif: &[u8]) -> Vec<u8> {
    let ihdr_end = 8 + 8 + 13 + 4;
    let mut chunk = b"eXIf".to_vec();
    chunk.extend_from_slice(exif);
    let mut out = png[..ihdr_end].to_vec();
    out.extend_from_slice(&(exif.len() as u32).to_be_bytes());
    out.extend_from_slice(&chunk);
    out.extend_from_slice(&crc32fast::hash(&chunk).to_be_bytes());
    out.extend_from_slice(&png[ihdr_end..]);
    out
}

/// Inserts an APP1 `Exif` segment right after SOI.
fn jpeg_with_exif(jpeg: &[u8], exif: &[u8]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((exif.len() + 8) as u16).to_be_bytes());
    out.extend_from_slice(b"Exif\0\0");
    out.extend_from_slice(exif);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// Where stored pixel (x, y) of a w × h image is displayed under EXIF
/// orientation `o`, written from the EXIF 2.32 definition of tag 0x0112
/// (row 0 / column 0 placement), independently of the image crate.
fn displayed(o: u16, x: u32, y: u32, w: u32, h: u32) -> (u32, u32) {
    match o {
        1 => (x, y),
        2 => (w - 1 - x, y),         // mirror horizontal
        3 => (w - 1 - x, h - 1 - y), // rotate 180
        4 => (x, h - 1 - y),         // mirror vertical
        5 => (y, x),                 // transpose
        6 => (h - 1 - y, x),         // rotate 90 clockwise
        7 => (h - 1 - y, w - 1 - x), // transverse
        8 => (y, w - 1 - x),         // rotate 90 counter-clockwise
        _ => unreachable!(),
    }
}

fn stored() -> GrayImage {
    // Every pixel distinct, so any wrong mapping shows.
    ImageBuffer::from_fn(4, 3, |x, y| Luma([(10 * y + x) as u8]))
}

fn expected(o: u16, src: &GrayImage) -> GrayImage {
    let (w, h) = src.dimensions();
    let (dw, dh) = if o >= 5 { (h, w) } else { (w, h) };
    let mut out = GrayImage::new(dw, dh);
    for (x, y, p) in src.enumerate_pixels() {
        let (dx, dy) = displayed(o, x, y, w, h);
        out.put_pixel(dx, dy, *p);
    }
    out
}

fn png_of(img: &GrayImage) -> Vec<u8> {
    let mut v = Vec::new();
    img.write_to(&mut Cursor::new(&mut v), ImageFormat::Png)
        .unwrap();
    v
}

// PNG eXIf, all eight orientations, both byte orders: every pixel lands where
// the EXIF definition puts it.
#[test]
fn png_exif_all_eight_orientations() {
    let src = stored();
    let png = png_of(&src);
    for big_endian in [false, true] {
        for o in 1..=8u16 {
            let bytes = png_with_exif(&png, &exif_tiff(o, big_endian));
            let d = decode_bytes(&bytes, &DecodeLimits::default()).unwrap();
            assert_eq!(
                d.image,
                DynamicImage::ImageLuma8(expected(o, &src)),
                "orientation {o}, big endian {big_endian}"
            );
        }
    }
}

// TIFF Orientation tag, all eight orientations.
#[test]
fn tiff_orientation_tag_all_eight() {
    let src = stored();
    for o in 1..=8u16 {
        let mut out = Cursor::new(Vec::new());
        let mut enc = tiff::encoder::TiffEncoder::new(&mut out).unwrap();
        let mut img = enc
            .new_image::<tiff::encoder::colortype::Gray8>(4, 3)
            .unwrap();
        img.encoder()
            .write_tag(tiff::tags::Tag::Orientation, o)
            .unwrap();
        img.write_data(src.as_raw()).unwrap();
        let bytes = out.into_inner();
        let d = decode_bytes(&bytes, &DecodeLimits::default()).unwrap();
        assert_eq!(
            d.image,
            DynamicImage::ImageLuma8(expected(o, &src)),
            "orientation {o}"
        );
    }
}

// JPEG APP1 Exif, all eight orientations: a bright 8 × 8 block stored at the
// top-left of a 16 × 24 dark image (block-aligned, so the JPEG values are
// exact) ends up in the corner the orientation puts it.
#[test]
fn jpeg_exif_all_eight_orientations_move_the_marked_corner() {
    let (w, h) = (16u32, 24u32);
    let src: GrayImage =
        ImageBuffer::from_fn(w, h, |x, y| Luma([if x < 8 && y < 8 { 230 } else { 20 }]));
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 100)
        .encode_image(&src)
        .unwrap();
    for o in 1..=8u16 {
        let bytes = jpeg_with_exif(&jpeg, &exif_tiff(o, o % 2 == 0));
        let d = decode_bytes(&bytes, &DecodeLimits::default()).unwrap();
        let g = d.image.to_luma8();
        let (dw, dh) = if o >= 5 { (h, w) } else { (w, h) };
        assert_eq!(g.dimensions(), (dw, dh), "orientation {o}");
        // The stored block's centre (3..4, 3..4) and its displayed position.
        let (cx, cy) = displayed(o, 3, 3, w, h);
        assert_eq!(
            g.get_pixel(cx, cy).0,
            [230],
            "orientation {o}: marked pixel"
        );
        // The displayed corner diagonally opposite stays dark.
        let (fx, fy) = displayed(o, w - 1, h - 1, w, h);
        assert_eq!(
            g.get_pixel(fx, fy).0,
            [20],
            "orientation {o}: opposite corner"
        );
    }
}
