//! One test per supported pixel format: encode a small known image, decode it
//! with `trichometry::decode`, and check dimensions, sample type and pixel
//! values.

use std::io::Cursor;

use image::{DynamicImage, ImageBuffer, ImageFormat, Luma, LumaA, Rgb, Rgba};
use trichometry::decode::{decode_bytes, DecodeLimits};

fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut v = Vec::new();
    img.write_to(&mut Cursor::new(&mut v), format).unwrap();
    v
}

fn decode(bytes: &[u8]) -> DynamicImage {
    decode_bytes(bytes, &DecodeLimits::default())
        .unwrap_or_else(|e| panic!("decode failed: {e}"))
        .image
}

/// A 5 × 3 test card whose every sample differs, spanning the full range.
fn card8(c: usize) -> Vec<u8> {
    (0..5 * 3 * c)
        .map(|i| (i * 251 / (5 * 3 * c)) as u8 + (i % 3) as u8)
        .collect()
}

/// As [`card8`], 16-bit, with low bytes that an 8-bit conversion would lose.
fn card16(c: usize) -> Vec<u16> {
    (0..5 * 3 * c)
        .map(|i| (i * 65_000 / (5 * 3 * c)) as u16 + 257 + i as u16)
        .collect()
}

fn gray8() -> DynamicImage {
    DynamicImage::ImageLuma8(ImageBuffer::from_raw(5, 3, card8(1)).unwrap())
}
fn gray_alpha8() -> DynamicImage {
    DynamicImage::ImageLumaA8(ImageBuffer::<LumaA<u8>, _>::from_raw(5, 3, card8(2)).unwrap())
}
fn rgb8() -> DynamicImage {
    DynamicImage::ImageRgb8(ImageBuffer::<Rgb<u8>, _>::from_raw(5, 3, card8(3)).unwrap())
}
fn rgba8() -> DynamicImage {
    DynamicImage::ImageRgba8(ImageBuffer::<Rgba<u8>, _>::from_raw(5, 3, card8(4)).unwrap())
}
fn gray16() -> DynamicImage {
    DynamicImage::ImageLuma16(ImageBuffer::<Luma<u16>, _>::from_raw(5, 3, card16(1)).unwrap())
}
fn gray_alpha16() -> DynamicImage {
    DynamicImage::ImageLumaA16(ImageBuffer::<LumaA<u16>, _>::from_raw(5, 3, card16(2)).unwrap())
}
fn rgb16() -> DynamicImage {
    DynamicImage::ImageRgb16(ImageBuffer::<Rgb<u16>, _>::from_raw(5, 3, card16(3)).unwrap())
}
fn rgba16() -> DynamicImage {
    DynamicImage::ImageRgba16(ImageBuffer::<Rgba<u16>, _>::from_raw(5, 3, card16(4)).unwrap())
}

// ---------------------------------------------------------------- PNG

// Lossless: every PNG pixel type comes back sample-for-sample, same type.
#[test]
fn png_every_pixel_type_round_trips_exactly() {
    for img in [
        gray8(),
        gray_alpha8(),
        rgb8(),
        rgba8(),
        gray16(),
        gray_alpha16(),
        rgb16(),
        rgba16(),
    ] {
        let back = decode(&encode(&img, ImageFormat::Png));
        assert_eq!(back.color(), img.color(), "sample type kept");
        assert_eq!(back, img, "{:?}", img.color());
    }
}

// 16-bit PNG keeps its low byte (no silent conversion to 8-bit).
#[test]
fn png_16_bit_keeps_low_byte() {
    let img = DynamicImage::ImageLuma16(ImageBuffer::from_pixel(2, 2, Luma([0x1234u16])));
    let back = decode(&encode(&img, ImageFormat::Png));
    assert_eq!(back.as_luma16().unwrap().get_pixel(1, 1).0, [0x1234]);
}

// ---------------------------------------------------------------- JPEG

// A flat gray JPEG at quality 100 decodes to the same value (DC-only blocks
// are exact); the two 8 × 8 blocks keep their order left to right.
#[test]
fn jpeg_gray8_blocks_decode_to_their_values() {
    let img = ImageBuffer::from_fn(16, 8, |x, _| Luma([if x < 8 { 40u8 } else { 200 }]));
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 100)
        .encode_image(&img)
        .unwrap();
    let back = decode(&bytes);
    let back = back.as_luma8().expect("gray JPEG decodes as Luma8");
    assert_eq!(back.dimensions(), (16, 8));
    assert_eq!(back.get_pixel(0, 0).0, [40]);
    assert_eq!(back.get_pixel(3, 4).0, [40]);
    assert_eq!(back.get_pixel(15, 7).0, [200]);
    assert_eq!(back.get_pixel(8, 0).0, [200]);
}

// Colour JPEG decodes as Rgb8; YCbCr conversion and rounding allow ±2 per
// channel on flat 16 × 16 colour patches (JPEG is lossy; no exact value exists).
#[test]
fn jpeg_rgb8_flat_patches_decode_within_rounding() {
    let colours = [
        [200u8, 30, 30],
        [20, 160, 60],
        [30, 40, 220],
        [128, 128, 128],
    ];
    let img = ImageBuffer::from_fn(32, 32, |x, y| Rgb(colours[(y / 16 * 2 + x / 16) as usize]));
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 100)
        .encode_image(&img)
        .unwrap();
    let back = decode(&bytes);
    let back = back.as_rgb8().expect("colour JPEG decodes as Rgb8");
    assert_eq!(back.dimensions(), (32, 32));
    for (x, y) in [(4, 4), (20, 4), (4, 20), (20, 20)] {
        let want = colours[(y / 16 * 2 + x / 16) as usize];
        let got = back.get_pixel(x, y).0;
        for c in 0..3 {
            assert!(
                (i32::from(got[c]) - i32::from(want[c])).abs() <= 2,
                "({x},{y}) channel {c}: got {got:?}, want {want:?}"
            );
        }
    }
}

// ---------------------------------------------------------------- BMP

// BMP 24-bit RGB and 32-bit RGBA are lossless and keep their type.
#[test]
fn bmp_rgb8_and_rgba8_round_trip_exactly() {
    for img in [rgb8(), rgba8()] {
        let back = decode(&encode(&img, ImageFormat::Bmp));
        assert_eq!(back, img, "{:?}", img.color());
    }
}

// BMP has no gray type: an 8-bit gray image is stored with a gray palette
// and decodes to RGB with three equal channels.
#[test]
fn bmp_gray8_palette_decodes_to_equal_rgb() {
    let img = gray8();
    let back = decode(&encode(&img, ImageFormat::Bmp));
    assert_eq!(back.to_luma8(), img.to_luma8());
    let rgb = back.to_rgb8();
    for p in rgb.pixels() {
        assert!(p.0[0] == p.0[1] && p.0[1] == p.0[2], "{p:?}");
    }
    assert_eq!((back.width(), back.height()), (5, 3));
}

// BMP has no gray+alpha type: image's encoder stores gray+alpha as 32-bit
// BI_RGB, whose fourth byte is unused by definition, so the gray survives and
// the alpha reads back opaque.
#[test]
fn bmp_gray_alpha8_keeps_gray_and_reads_opaque() {
    let img = gray_alpha8();
    let back = decode(&encode(&img, ImageFormat::Bmp));
    assert_eq!(back.to_luma8(), img.to_luma8());
    assert!(back.to_luma_alpha8().pixels().all(|p| p.0[1] == 255));
}

/// A 16-bit BMP (BITMAPINFOHEADER, BI_BITFIELDS) written by hand: `px` holds
/// (r, g, b) in 5-bit units, `g6` selects 5-6-5 instead of 5-5-5.
fn bmp16(width: u32, height: u32, px: &[(u16, u16, u16)], g6: bool) -> Vec<u8> {
    let row = (width * 2).div_ceil(4) * 4;
    let data_offset = 14 + 40 + 12;
    let size = data_offset + row * height;
    let mut b = Vec::new();
    b.extend_from_slice(b"BM");
    b.extend_from_slice(&size.to_le_bytes());
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&data_offset.to_le_bytes());
    b.extend_from_slice(&40u32.to_le_bytes());
    b.extend_from_slice(&(width as i32).to_le_bytes());
    b.extend_from_slice(&(height as i32).to_le_bytes()); // bottom-up
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(&3u32.to_le_bytes()); // BI_BITFIELDS
    b.extend_from_slice(&(row * height).to_le_bytes());
    b.extend_from_slice(&[0; 16]);
    let (rm, gm, bm) = if g6 {
        (0xF800u32, 0x07E0u32, 0x001Fu32)
    } else {
        (0x7C00, 0x03E0, 0x001F)
    };
    for m in [rm, gm, bm] {
        b.extend_from_slice(&m.to_le_bytes());
    }
    for y in (0..height).rev() {
        let start = b.len();
        for x in 0..width {
            let (r, g, bl) = px[(y * width + x) as usize];
            let v = if g6 {
                r << 11 | g << 5 | bl
            } else {
                r << 10 | g << 5 | bl
            };
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.resize(start + row as usize, 0);
    }
    b
}

/// 5-bit (or 6-bit) to 8-bit by rounding v · 255 / max (the usual scaling).
fn scale(v: u16, max: u16) -> u8 {
    ((u32::from(v) * 255 + u32::from(max) / 2) / u32::from(max)) as u8
}

// 16-bit BMP, 5-5-5: each channel is scaled to 8 bits; rows stored bottom-up
// land top-down.
#[test]
fn bmp_16_bit_555_decodes_scaled() {
    let px = [
        (31, 0, 0),
        (0, 31, 0),
        (0, 0, 31),
        (16, 8, 3),
        (0, 0, 0),
        (31, 31, 31),
    ];
    let back = decode(&bmp16(3, 2, &px, false));
    let back = back.as_rgb8().expect("16-bit BMP decodes as Rgb8");
    assert_eq!(back.dimensions(), (3, 2));
    for (i, &(r, g, b)) in px.iter().enumerate() {
        let (x, y) = (i as u32 % 3, i as u32 / 3);
        assert_eq!(
            back.get_pixel(x, y).0,
            [scale(r, 31), scale(g, 31), scale(b, 31)],
            "pixel ({x},{y})"
        );
    }
}

// 16-bit BMP, 5-6-5 bit fields: green has 6 bits.
#[test]
fn bmp_16_bit_565_decodes_scaled() {
    let px = [(31, 63, 0), (1, 32, 30)];
    let back = decode(&bmp16(2, 1, &px, true));
    let back = back.as_rgb8().unwrap();
    assert_eq!(back.get_pixel(0, 0).0, [255, 255, 0]);
    assert_eq!(
        back.get_pixel(1, 0).0,
        [scale(1, 31), scale(32, 63), scale(30, 31)]
    );
}

// ---------------------------------------------------------------- TIFF

fn tiff_bytes<C>(
    w: u32,
    h: u32,
    data: &[C::Inner],
    compression: tiff::encoder::Compression,
) -> Vec<u8>
where
    C: tiff::encoder::colortype::ColorType,
    [C::Inner]: tiff::encoder::TiffValue,
{
    let mut out = Cursor::new(Vec::new());
    let mut enc = tiff::encoder::TiffEncoder::new(&mut out)
        .unwrap()
        .with_compression(compression);
    enc.write_image::<C>(w, h, data).unwrap();
    out.into_inner()
}

fn compressions() -> Vec<(&'static str, tiff::encoder::Compression)> {
    use tiff::encoder::Compression;
    vec![
        ("uncompressed", Compression::Uncompressed),
        ("lzw", Compression::Lzw),
        (
            "deflate",
            Compression::Deflate(tiff::encoder::DeflateLevel::Balanced),
        ),
        ("packbits", Compression::Packbits),
    ]
}

// TIFF gray/RGB/RGBA at 8 and 16 bits, uncompressed, LZW, Deflate and
// PackBits: exact samples and the native sample type.
#[test]
fn tiff_every_pixel_type_and_compression_round_trips_exactly() {
    use tiff::encoder::colortype as ct;
    for (name, c) in compressions() {
        let cases: Vec<(DynamicImage, Vec<u8>)> = vec![
            (gray8(), tiff_bytes::<ct::Gray8>(5, 3, &card8(1), c)),
            (rgb8(), tiff_bytes::<ct::RGB8>(5, 3, &card8(3), c)),
            (rgba8(), tiff_bytes::<ct::RGBA8>(5, 3, &card8(4), c)),
            (gray16(), tiff_bytes::<ct::Gray16>(5, 3, &card16(1), c)),
            (rgb16(), tiff_bytes::<ct::RGB16>(5, 3, &card16(3), c)),
            (rgba16(), tiff_bytes::<ct::RGBA16>(5, 3, &card16(4), c)),
        ];
        for (want, bytes) in cases {
            let back = decode(&bytes);
            assert_eq!(back.color(), want.color(), "{name}");
            assert_eq!(back, want, "{name} {:?}", want.color());
        }
    }
}

/// Gray+alpha colour types for the TIFF encoder, which has none built in
/// (Photometric BlackIsZero with one unassociated extra sample).
macro_rules! gray_alpha_tiff {
    ($name:ident, $inner:ty, $bits:expr) => {
        struct $name;
        impl tiff::encoder::colortype::ColorType for $name {
            type Inner = $inner;
            const TIFF_VALUE: tiff::tags::PhotometricInterpretation =
                tiff::tags::PhotometricInterpretation::BlackIsZero;
            const BITS_PER_SAMPLE: &'static [u16] = &[$bits, $bits];
            const SAMPLE_FORMAT: &'static [tiff::tags::SampleFormat] = &[
                tiff::tags::SampleFormat::Uint,
                tiff::tags::SampleFormat::Uint,
            ];
            fn horizontal_predict(row: &[$inner], result: &mut Vec<$inner>) {
                result.extend_from_slice(row); // no predictor is used here
            }
        }
    };
}
gray_alpha_tiff!(GrayA8, u8, 8);
gray_alpha_tiff!(GrayA16, u16, 16);

fn tiff_gray_alpha<C>(data: &[C::Inner], compression: tiff::encoder::Compression) -> Vec<u8>
where
    C: tiff::encoder::colortype::ColorType,
    [C::Inner]: tiff::encoder::TiffValue,
{
    let mut out = Cursor::new(Vec::new());
    let mut enc = tiff::encoder::TiffEncoder::new(&mut out)
        .unwrap()
        .with_compression(compression);
    let mut img = enc.new_image::<C>(5, 3).unwrap();
    // ExtraSamples = 2 (unassociated alpha), written as a plain tag: the
    // encoder's `extra_samples` adds samples on top of BITS_PER_SAMPLE.
    img.encoder()
        .write_tag(tiff::tags::Tag::ExtraSamples, 2u16)
        .unwrap();
    img.write_data(data).unwrap();
    out.into_inner()
}

// TIFF gray+alpha (8 or 16 bits) is not read by image 0.25's TIFF decoder
// (it is a "multiband" layout there): a clear `unsupported_format`, never a
// wrong picture.
#[test]
fn tiff_gray_alpha_is_a_clear_unsupported_format() {
    for (name, c) in compressions() {
        for bytes in [
            tiff_gray_alpha::<GrayA8>(&card8(2), c),
            tiff_gray_alpha::<GrayA16>(&card16(2), c),
        ] {
            let e = decode_bytes(&bytes, &DecodeLimits::default()).unwrap_err();
            assert_eq!(e.code(), "unsupported_format", "{name}: {e}");
        }
    }
}

// The extreme shapes decode: 1 × 1 and a 3 × 100 000 strip.
#[test]
fn extreme_shapes_decode() {
    let one = DynamicImage::ImageLuma8(ImageBuffer::from_pixel(1, 1, Luma([77u8])));
    assert_eq!(decode(&encode(&one, ImageFormat::Png)), one);
    let tall = DynamicImage::ImageLuma8(ImageBuffer::from_fn(3, 100_000, |x, y| {
        Luma([((x + y) % 251) as u8])
    }));
    assert_eq!(decode(&encode(&tall, ImageFormat::Png)), tall);
}

// BigTIFF (64-bit offsets) 16-bit RGB with LZW decodes exactly, and every
// strict prefix of it is refused.
#[test]
fn bigtiff_round_trips_and_refuses_prefixes() {
    let mut out = Cursor::new(Vec::new());
    let mut enc = tiff::encoder::TiffEncoder::new_big(&mut out)
        .unwrap()
        .with_compression(tiff::encoder::Compression::Lzw);
    enc.write_image::<tiff::encoder::colortype::RGB16>(5, 3, &card16(3))
        .unwrap();
    let bytes = out.into_inner();
    assert_eq!(&bytes[..4], b"II+\0");
    assert_eq!(decode(&bytes), rgb16());
    for len in 0..bytes.len() {
        if let Ok(d) = decode_bytes(&bytes[..len], &DecodeLimits::default()) {
            assert_eq!(d.image, rgb16(), "prefix of {len} bytes");
        }
    }
}
