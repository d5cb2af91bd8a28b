//! Decoding: file bytes to an oriented image.
//!
//! Stage 0 of the pipeline. In: the bytes of a JPEG, PNG, TIFF or BMP file.
//! Out: a [`DynamicImage`] in its native sample type (8- or 16-bit, gray or
//! colour, with or without alpha), rotated/flipped by its EXIF orientation so
//! that every coordinate trichometry reports is in the displayed frame,
//! origin top-left. Decoding is bounded by [`DecodeLimits`], so a hostile
//! header cannot exhaust memory, and a truncated or corrupt file is an error
//! even where a decoder would hand back a partial picture.
//!
//! # What is accepted
//!
//! | format | accepted | pixel types out |
//! |---|---|---|
//! | JPEG | baseline and progressive, 8-bit gray, YCbCr/RGB, CMYK/YCCK (converted to RGB) | `Luma8`, `Rgb8` |
//! | PNG  | every colour type and bit depth; 16-bit kept as 16-bit | `Luma8/16`, `LumaA8/16`, `Rgb8/16`, `Rgba8/16` |
//! | TIFF | uncompressed, LZW, Deflate, PackBits; strips or tiles; 8/16-bit gray, RGB, RGBA; classic and BigTIFF | `Luma8/16`, `Rgb8/16`, `Rgba8/16` (floating-point samples as `Rgb32F`/`Rgba32F`). Gray+alpha TIFF is not read by `image` 0.25 and gives `unsupported_format` |
//! | BMP  | 1/4/8-bit palette (gray palettes included), 16-bit (5-5-5, 5-6-5, bit fields), 24-bit RGB, 32-bit RGB(A), RLE4/RLE8 | `Rgb8`, `Rgba8` (BMP has no gray type: a gray palette gives three equal channels; 5- and 6-bit channels are scaled to 8 bits) |
//!
//! The first image of a file is decoded (the first IFD of a multi-page TIFF).
//! EXIF orientation (all eight values) is applied for JPEG (APP1 `Exif`), PNG
//! (`eXIf`) and TIFF (`Orientation` tag); an unreadable EXIF block counts as
//! "no orientation", as in every common viewer.
//!
//! # What is rejected, and with which code ([`Error::code`])
//!
//! Before any pixel is decoded, the container structure is walked (cheap, no
//! pixel allocation) so that a file that ends early is never mistaken for a
//! picture, whatever the third-party decoder would do with it:
//!
//! * `truncated`: the file is empty; the file is a proper prefix of a supported
//!   signature; a **JPEG** ends before its end-of-image marker `FF D9` (the
//!   marker segments are walked by their lengths and the entropy-coded data is
//!   scanned, so an embedded EXIF thumbnail's own `FF D9` does not count); a
//!   **PNG** ends before its `IEND` chunk or in the middle of a chunk; a
//!   **TIFF** header, first IFD, dimension or strip/tile tag, or any strip or
//!   tile (offset + byte count) lies beyond the end of the file; an
//!   uncompressed **BMP** pixel array (rows padded to 4 bytes) does not fit
//!   between the pixel-data offset and the end of the file.
//! * `too_large`: the width or height claimed by the header exceeds
//!   [`DecodeLimits::max_width_px`]/[`DecodeLimits::max_height_px`], their
//!   product exceeds [`DecodeLimits::max_pixels`], or the
//!   decoded buffer would exceed [`DecodeLimits::max_alloc_bytes`]. The error
//!   carries the claimed width and height. The check uses the stored (pre-
//!   orientation) dimensions, happens before the pixel buffer is allocated,
//!   and comes before the truncation check, so a header-only bomb is
//!   `too_large`.
//! * `decode_failed`: any other corruption: a PNG chunk whose CRC does not
//!   match (every chunk, critical or ancillary, is checked), a bad PNG/TIFF/BMP
//!   header, a JPEG with no frame or scan before its end-of-image marker, or
//!   an error reported by the decoder. A panic inside a third-party decoder
//!   is caught and also gives `decode_failed`.
//! * `unsupported_format`: bytes that are not JPEG, PNG, TIFF or BMP. The
//!   message names the format when it is recognised (GIF, WebP, HEIF/HEIC,
//!   AVIF, JPEG 2000, JPEG XL, ...) and says when the content looks like
//!   text. Features of a supported container that the decoder does not
//!   implement (for example gray+alpha TIFF) give this code too.
//! * `not_found` / `io_error` ([`decode_path`] only): the file does not exist,
//!   or cannot be read (permissions, a directory).
//!
//! Bytes after a complete image are accepted and ignored: after the first
//! JPEG end-of-image marker (zero padding, vendor trailers, the second image
//! of a multi-picture file, an appended motion-photo video), after a PNG's
//! `IEND`, and anywhere in a TIFF or BMP that no tag or header points to.
//! Stray bytes between JPEG marker segments are skipped, as libjpeg does.
//!
//! Known limits: corrupt but complete JPEG entropy data (flipped bits in the
//! middle of a scan) can still decode to a damaged picture, because the JPEG
//! decoder runs in its lenient mode and JPEG has no checksum; the structural
//! checks here only prove that nothing is missing.

use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, ErrorKind, Result};

/// Limits applied before and while decoding an image.
///
/// Defaults: 100 000 px per side, so that long thin strips (a 3 × 100 000
/// line scan) pass; 1 GiB for the decoded pixel buffer (a 12 MP RGB 16-bit
/// image needs 72 MiB; a header claiming 100 000 × 100 000 RGB needs 30 GB and
/// is refused before allocation); and 64 Mi pixels (67 108 864, e.g.
/// 9 500 × 7 000) per image, the per-image memory ceiling: analysing an image
/// takes about 25–35 bytes of working memory per pixel on top of the decoded
/// buffer (measured on 1–16 MP fields, `docs/robustness.md`), so the default
/// keeps one image, and so one worker thread, under about 2.5 GiB.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DecodeLimits {
    /// Largest accepted width in pixels (inclusive).
    pub max_width_px: u32,
    /// Largest accepted height in pixels (inclusive).
    pub max_height_px: u32,
    /// Largest allocation the decoder may make, in bytes (inclusive).
    pub max_alloc_bytes: u64,
    /// Largest accepted width × height in pixels (inclusive): the per-image
    /// memory ceiling, since the analysis needs memory in proportion to it.
    pub max_pixels: u64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_width_px: 100_000,
            max_height_px: 100_000,
            max_alloc_bytes: 1 << 30,
            max_pixels: 64 << 20,
        }
    }
}

impl DecodeLimits {
    /// Checks that the limits are usable (all non-zero).
    ///
    /// # Errors
    /// [`ErrorKind::Config`] naming the zero field.
    pub fn validate(&self) -> Result<()> {
        if self.max_pixels == 0 {
            return Err(Error::config("limits.max_pixels", "must be > 0"));
        }
        if self.max_width_px == 0 {
            return Err(Error::config("limits.max_width_px", "must be > 0"));
        }
        if self.max_height_px == 0 {
            return Err(Error::config("limits.max_height_px", "must be > 0"));
        }
        if self.max_alloc_bytes == 0 {
            return Err(Error::config("limits.max_alloc_bytes", "must be > 0"));
        }
        Ok(())
    }

    fn to_image_limits(&self) -> image::Limits {
        let mut l = image::Limits::default();
        l.max_image_width = Some(self.max_width_px);
        l.max_image_height = Some(self.max_height_px);
        l.max_alloc = Some(self.max_alloc_bytes);
        l
    }

    /// `too_large` when `width` × `height` exceeds the per-side limits or the pixel count limit.
    fn check_dimensions(&self, width: u32, height: u32) -> Result<()> {
        if width > self.max_width_px || height > self.max_height_px {
            return Err(too_large(
                width,
                height,
                format!(
                    "limit is {} x {} pixels",
                    self.max_width_px, self.max_height_px
                ),
            ));
        }
        let pixels = u64::from(width) * u64::from(height);
        if pixels > self.max_pixels {
            return Err(too_large(
                width,
                height,
                format!(
                    "{pixels} pixels, limit is {} pixels (limits.max_pixels)",
                    self.max_pixels
                ),
            ));
        }
        Ok(())
    }
}

/// A decoded, oriented image and what identifies its file.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The pixels after EXIF orientation, in the file's native sample type.
    pub image: DynamicImage,
    /// Lower-case hex SHA-256 of the file's bytes.
    pub input_sha256: String,
    /// The container format detected from the bytes.
    pub format: ImageFormat,
}

/// Lower-case hex SHA-256 of `bytes`.
///
/// ```
/// assert_eq!(
///     trichometry::decode::sha256_hex(b"abc"),
///     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/// );
/// ```
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in digest {
        use std::fmt::Write;
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Decodes an image from memory, honouring EXIF orientation and `limits`.
///
/// See the [module documentation](self) for exactly what is accepted and
/// rejected. The returned image keeps the file's sample type (16-bit stays
/// 16-bit) and is in the displayed orientation.
///
/// ```
/// use trichometry::decode::{decode_bytes, DecodeLimits};
/// let mut png = Vec::new();
/// image::GrayImage::from_pixel(3, 2, image::Luma([7u8]))
///     .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
///     .unwrap();
/// let d = decode_bytes(&png, &DecodeLimits::default()).unwrap();
/// assert_eq!((d.image.width(), d.image.height()), (3, 2));
/// // Every strict prefix of the file is refused as truncated.
/// let e = decode_bytes(&png[..png.len() - 1], &DecodeLimits::default()).unwrap_err();
/// assert_eq!(e.code(), "truncated");
/// ```
///
/// # Errors
/// `unsupported_format` when the bytes are not a supported image,
/// `too_large` when the header exceeds `limits`, `truncated` when the data
/// ends early, `decode_failed` for other corrupt data (including a panic
/// inside a decoder).
pub fn decode_bytes(bytes: &[u8], limits: &DecodeLimits) -> Result<Decoded> {
    decode_hashed(bytes, sha256_hex(bytes), limits)
}

/// [`decode_bytes`] for a caller that has already hashed the bytes (the batch
/// runner hashes every file before decoding, for its error records), so the
/// file is not hashed twice.
pub(crate) fn decode_hashed(
    bytes: &[u8],
    input_sha256: String,
    limits: &DecodeLimits,
) -> Result<Decoded> {
    let format = sniff(bytes)?;
    let scan = match format {
        ImageFormat::Jpeg => scan_jpeg(bytes),
        ImageFormat::Png => scan_png(bytes),
        ImageFormat::Tiff => scan_tiff(bytes),
        _ => scan_bmp(bytes),
    };
    // Dimension limits first: a header bomb is `too_large` even if the rest
    // of the file is missing.
    if let Some((w, h)) = scan.dims {
        limits.check_dimensions(w, h)?;
        // A lower bound of the decoded size (exact for PNG), so that a header
        // bomb is refused even when the rest of the file is missing.
        let needed = u64::from(w) * u64::from(h) * scan.bytes_per_pixel.max(1);
        if needed > limits.max_alloc_bytes {
            return Err(too_large(
                w,
                h,
                format!(
                    "decoded image needs at least {needed} bytes, limit is {} bytes",
                    limits.max_alloc_bytes
                ),
            ));
        }
    }
    if let Some(problem) = scan.problem {
        return Err(problem);
    }
    let image = guarded(|| decode_checked(bytes, format, limits, scan.dims))?;
    Ok(Decoded {
        image,
        input_sha256,
        format,
    })
}

/// Reads and decodes an image file. Errors carry the path.
///
/// # Errors
/// `not_found` / `io_error` when the file cannot be read, then as [`decode_bytes`].
pub fn decode_path(path: &Path, limits: &DecodeLimits) -> Result<Decoded> {
    let bytes = std::fs::read(path).map_err(|e| Error::from_io(e, path))?;
    decode_bytes(&bytes, limits).map_err(|e| e.with_path(path))
}

/// Runs `f`, turning a panic inside it into a `decode_failed` error.
fn guarded<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            Err(decode_failed(format!("the decoder panicked: {msg}")))
        }
    }
}

/// Decodes bytes whose structure has been checked.
fn decode_checked(
    bytes: &[u8],
    format: ImageFormat,
    limits: &DecodeLimits,
    header_dims: Option<(u32, u32)>,
) -> Result<DynamicImage> {
    let map = |e| map_image_error(e, header_dims);
    let mut reader = ImageReader::with_format(std::io::Cursor::new(bytes), format);
    reader.limits(limits.to_image_limits());
    let mut decoder = reader.into_decoder().map_err(map)?;
    let (w, h) = decoder.dimensions();
    limits.check_dimensions(w, h)?;
    let needed = decoder.total_bytes();
    if needed > limits.max_alloc_bytes {
        return Err(too_large(
            w,
            h,
            format!(
                "decoded image needs {needed} bytes, limit is {} bytes",
                limits.max_alloc_bytes
            ),
        ));
    }
    let orientation = decoder.orientation().map_err(map)?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(map)?;
    image.apply_orientation(orientation);
    Ok(image)
}

fn too_large(width: u32, height: u32, reason: String) -> Error {
    Error::new(ErrorKind::TooLarge {
        width,
        height,
        reason,
    })
}

fn truncated(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::Truncated(msg.into()))
}

fn decode_failed(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::Decode(msg.into()))
}

fn unsupported(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::UnsupportedFormat(msg.into()))
}

fn map_image_error(e: image::ImageError, header_dims: Option<(u32, u32)>) -> Error {
    use image::ImageError as E;
    match e {
        E::Limits(l) => {
            let (width, height) = header_dims.unwrap_or((0, 0));
            too_large(width, height, l.to_string())
        }
        E::Unsupported(u) => unsupported(u.to_string()),
        E::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            truncated(io.to_string())
        }
        other => decode_failed(other.to_string()),
    }
}

// ---------------------------------------------------------------------------
// Format recognition

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
const SUPPORTED_SIGNATURES: &[(&[u8], ImageFormat)] = &[
    (PNG_SIGNATURE, ImageFormat::Png),
    (&[0xFF, 0xD8, 0xFF], ImageFormat::Jpeg),
    (b"II*\0", ImageFormat::Tiff),
    (b"MM\0*", ImageFormat::Tiff),
    (b"II+\0", ImageFormat::Tiff),
    (b"MM\0+", ImageFormat::Tiff),
    (b"BM", ImageFormat::Bmp),
];

const SUPPORTED: &str = "trichometry reads JPEG, PNG, TIFF and BMP";

/// Recognises a supported format from its signature, or says what the bytes are.
fn sniff(bytes: &[u8]) -> Result<ImageFormat> {
    if bytes.is_empty() {
        return Err(truncated("the file is empty (0 bytes)"));
    }
    for &(sig, format) in SUPPORTED_SIGNATURES {
        if bytes.starts_with(sig) {
            return Ok(format);
        }
    }
    for &(sig, format) in SUPPORTED_SIGNATURES {
        if bytes.len() < sig.len() && sig.starts_with(bytes) {
            return Err(truncated(format!(
                "the file has only {} bytes, the start of a {} signature",
                bytes.len(),
                format_name(format)
            )));
        }
    }
    if let Some(name) = other_format_name(bytes) {
        return Err(unsupported(format!("{name} image recognised; {SUPPORTED}")));
    }
    let head = &bytes[..bytes.len().min(512)];
    let looks_like_text = std::str::from_utf8(head).is_ok_and(|s| {
        s.chars()
            .all(|c| !c.is_control() || c.is_ascii_whitespace())
    });
    if looks_like_text {
        Err(unsupported(format!(
            "the content is text, not an image; {SUPPORTED}"
        )))
    } else {
        Err(unsupported(format!(
            "the content is not a recognised image format; {SUPPORTED}"
        )))
    }
}

fn format_name(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Png => "PNG",
        ImageFormat::Jpeg => "JPEG",
        ImageFormat::Tiff => "TIFF",
        ImageFormat::Bmp => "BMP",
        ImageFormat::Gif => "GIF",
        ImageFormat::WebP => "WebP",
        ImageFormat::Avif => "AVIF",
        ImageFormat::Ico => "ICO",
        ImageFormat::Dds => "DDS",
        ImageFormat::Hdr => "Radiance HDR",
        ImageFormat::OpenExr => "OpenEXR",
        ImageFormat::Qoi => "QOI",
        ImageFormat::Pnm => "PNM",
        ImageFormat::Farbfeld => "farbfeld",
        ImageFormat::Tga => "TGA",
        _ => "other",
    }
}

/// Names formats trichometry does not read, from their signatures.
fn other_format_name(bytes: &[u8]) -> Option<&'static str> {
    let at = |off: usize, sig: &[u8]| bytes.get(off..off + sig.len()) == Some(sig);
    if at(4, b"ftyp") {
        for brand in [
            b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1",
        ] {
            if at(8, brand) {
                return Some("HEIF/HEIC");
            }
        }
        if at(8, b"avif") || at(8, b"avis") {
            return Some("AVIF");
        }
    }
    if at(0, b"\0\0\0\x0cjP  \r\n\x87\n") || at(0, &[0xFF, 0x4F, 0xFF, 0x51]) {
        return Some("JPEG 2000");
    }
    if at(0, &[0xFF, 0x0A]) || at(0, b"\0\0\0\x0cJXL \r\n\x87\n") {
        return Some("JPEG XL");
    }
    if at(0, b"8BPS") {
        return Some("Photoshop (PSD)");
    }
    if at(0, b"%PDF") {
        return Some("PDF");
    }
    // PNM's signatures ("P1".."P7") would also match plain text; leave them out.
    match image::guess_format(bytes) {
        Ok(ImageFormat::Pnm) | Err(_) => None,
        Ok(f) => Some(format_name(f)),
    }
}

// ---------------------------------------------------------------------------
// Structure walkers. Each returns the dimensions claimed by the header (when
// it could be read) and the first structural problem, if any.

#[derive(Debug, Default)]
struct Scan {
    dims: Option<(u32, u32)>,
    /// Bytes per decoded pixel when the header tells (0: unknown, 1 assumed).
    bytes_per_pixel: u64,
    problem: Option<Error>,
}

impl Scan {
    fn fail(dims: Option<(u32, u32)>, problem: Error) -> Self {
        Scan {
            dims,
            bytes_per_pixel: 0,
            problem: Some(problem),
        }
    }

    fn ok(dims: Option<(u32, u32)>) -> Self {
        Scan {
            dims,
            bytes_per_pixel: 0,
            problem: None,
        }
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Walks JPEG marker segments by their lengths and scans entropy-coded data
/// until the first end-of-image marker.
///
/// # References
/// ITU-T T.81 (1992) | ISO/IEC 10918-1, Annex B (compressed data formats).
fn scan_jpeg(b: &[u8]) -> Scan {
    let n = b.len();
    let mut dims = None;
    let mut seen_scan = false;
    let mut pos = 2; // after SOI
    loop {
        // Expect a marker: 0xFF, any number of fill 0xFF, then the code.
        if pos >= n {
            return Scan::fail(
                dims,
                truncated(format!(
                    "JPEG ends after {n} bytes, before its end-of-image marker (FF D9)"
                )),
            );
        }
        // Stray bytes where a marker should be are skipped, as libjpeg does
        // (with a warning); the file must still reach its end-of-image marker.
        while pos < n && b[pos] != 0xFF {
            pos += 1;
        }
        while pos < n && b[pos] == 0xFF {
            pos += 1;
        }
        if pos >= n {
            continue; // reported as truncated at the top of the loop
        }
        let marker = b[pos];
        pos += 1;
        match marker {
            0xD9 => {
                if !seen_scan {
                    return Scan::fail(
                        dims,
                        decode_failed("JPEG: end-of-image marker before any image data"),
                    );
                }
                return Scan::ok(dims);
            }
            0xD8 | 0x00 => {
                return Scan::fail(
                    dims,
                    decode_failed(format!(
                        "JPEG: unexpected marker FF {marker:02X} at byte {}",
                        pos - 2
                    )),
                );
            }
            0x01 | 0xD0..=0xD7 => continue, // no length field
            _ => {}
        }
        let Some(len) = be16(b, pos).map(usize::from) else {
            pos = n;
            continue;
        };
        if len < 2 {
            return Scan::fail(
                dims,
                decode_failed(format!("JPEG: segment length {len} at byte {pos}")),
            );
        }
        let end = pos + len;
        if end > n {
            return Scan::fail(
                dims,
                truncated(format!(
                    "JPEG segment FF {marker:02X} at byte {} needs {len} bytes, the file ends after {n}",
                    pos - 2
                )),
            );
        }
        let is_sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof && dims.is_none() && len >= 8 {
            // P (1), Y (2), X (2)
            let h = be16(b, pos + 3).unwrap_or(0);
            let w = be16(b, pos + 5).unwrap_or(0);
            dims = Some((u32::from(w), u32::from(h)));
        }
        pos = end;
        if marker == 0xDA {
            if dims.is_none() {
                return Scan::fail(dims, decode_failed("JPEG: scan before any frame header"));
            }
            seen_scan = true;
            // Entropy-coded data: FF 00 is a stuffed byte, FF D0..D7 a restart
            // marker, FF FF fill; any other FF xx ends the scan.
            loop {
                match b[pos.min(n)..].iter().position(|&x| x == 0xFF) {
                    None => {
                        pos = n;
                        break;
                    }
                    Some(k) => {
                        pos += k;
                        match b.get(pos + 1) {
                            None => {
                                pos = n;
                                break;
                            }
                            Some(0x00 | 0xD0..=0xD7) => pos += 2,
                            Some(0xFF) => pos += 1,
                            Some(_) => break,
                        }
                    }
                }
            }
        }
    }
}

/// Walks PNG chunks from the signature to `IEND`, checking every CRC.
///
/// # References
/// W3C, Portable Network Graphics (PNG) Specification, 3rd ed. (2025), §5.3
/// (chunk layout) and §5.5 (CRC algorithm).
fn scan_png(b: &[u8]) -> Scan {
    // Decoded bytes per pixel from IHDR: palettes expand to RGB, 16-bit stays.
    let channels = match b.get(25) {
        Some(0) => 1,
        Some(4) => 2,
        Some(6) => 4,
        _ => 3,
    };
    let depth = if b.get(24) == Some(&16) { 2 } else { 1 };
    Scan {
        bytes_per_pixel: channels * depth,
        ..scan_png_chunks(b)
    }
}

fn scan_png_chunks(b: &[u8]) -> Scan {
    let n = b.len();
    let mut dims = None;
    let mut pos = PNG_SIGNATURE.len();
    let mut first = true;
    loop {
        let (Some(len), Some(ty)) = (be32(b, pos), b.get(pos + 4..pos + 8)) else {
            return Scan::fail(
                dims,
                truncated(format!("PNG ends after {n} bytes, before its IEND chunk")),
            );
        };
        let name = String::from_utf8_lossy(ty).into_owned();
        if len > 0x7FFF_FFFF {
            return Scan::fail(
                dims,
                decode_failed(format!("PNG chunk `{name}` at byte {pos} has length {len}")),
            );
        }
        let data_start = pos + 8;
        let crc_at = data_start + len as usize;
        let Some(stored) = be32(b, crc_at) else {
            return Scan::fail(
                dims,
                truncated(format!(
                    "PNG chunk `{name}` at byte {pos} needs {} bytes, the file ends after {n}",
                    len as usize + 12
                )),
            );
        };
        if first {
            if ty != b"IHDR" || len != 13 {
                return Scan::fail(dims, decode_failed("PNG: the first chunk is not IHDR"));
            }
            let w = be32(b, data_start).unwrap_or(0);
            let h = be32(b, data_start + 4).unwrap_or(0);
            dims = Some((w, h));
            first = false;
        }
        let computed = crc32fast::hash(&b[pos + 4..crc_at]);
        if computed != stored {
            return Scan::fail(
                dims,
                decode_failed(format!(
                    "PNG chunk `{name}` at byte {pos}: CRC mismatch (stored {stored:08x}, computed {computed:08x})"
                )),
            );
        }
        if ty == b"IEND" {
            return Scan::ok(dims);
        }
        pos = crc_at + 4;
    }
}

/// Checks that a TIFF's header, first IFD and every strip or tile of the first
/// image lie within the file.
///
/// # References
/// Adobe, TIFF Revision 6.0 (1992), section 2 (structure) and section 15
/// (tiles); Aware Systems, BigTIFF design (2008).
fn scan_tiff(b: &[u8]) -> Scan {
    let n = b.len();
    let little = b[0] == b'I';
    let u16_at = |at: usize| if little { le16(b, at) } else { be16(b, at) };
    let u32_at = |at: usize| if little { le32(b, at) } else { be32(b, at) };
    let u64_at = |at: usize| {
        let lo = u64::from(u32_at(at)?);
        let hi = u64::from(u32_at(at + 4)?);
        Some(if little { lo | hi << 32 } else { hi | lo << 32 })
    };
    let short = |what: &str| {
        truncated(format!(
            "TIFF {what} lies beyond the end of the file ({n} bytes)"
        ))
    };
    let big = u16_at(2) == Some(43);
    let ifd = if big {
        if u16_at(4) != Some(8) {
            return Scan::fail(None, decode_failed("BigTIFF: offset size is not 8"));
        }
        u64_at(8)
    } else {
        u32_at(4).map(u64::from)
    };
    let Some(ifd) = ifd else {
        return Scan::fail(None, short("header"));
    };
    let Ok(ifd) = usize::try_from(ifd) else {
        return Scan::fail(None, short("first IFD"));
    };
    if ifd < if big { 16 } else { 8 } {
        return Scan::fail(
            None,
            decode_failed(format!("TIFF: first IFD at byte {ifd}")),
        );
    }
    let (count, entries_at, entry_size, inline) = if big {
        (u64_at(ifd), ifd + 8, 20usize, 8usize)
    } else {
        (u16_at(ifd).map(u64::from), ifd + 2, 12usize, 4usize)
    };
    let Some(count) = count else {
        return Scan::fail(None, short("first IFD"));
    };
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    if count.saturating_mul(entry_size).saturating_add(entries_at) > n {
        return Scan::fail(None, short("first IFD"));
    }
    // Reads the numeric values of one entry; None when they lie outside the file.
    let values = |e: usize| -> Option<std::result::Result<Vec<u64>, ()>> {
        let ty = u16_at(e + 2)?;
        let cnt = if big {
            u64_at(e + 4)?
        } else {
            u64::from(u32_at(e + 4)?)
        };
        let size: u64 = match ty {
            3 => 2,
            4 | 13 => 4,
            16 | 18 => 8,
            _ => return Some(Err(())),
        };
        let total = usize::try_from(cnt.checked_mul(size)?).ok()?;
        let field = e + if big { 12 } else { 8 };
        let start = if total <= inline {
            field
        } else if big {
            usize::try_from(u64_at(field)?).ok()?
        } else {
            u32_at(field)? as usize
        };
        if start.checked_add(total)? > n {
            return None;
        }
        let mut out = Vec::with_capacity(cnt as usize);
        for i in 0..cnt as usize {
            let at = start + i * size as usize;
            out.push(match size {
                2 => u64::from(u16_at(at)?),
                4 => u64::from(u32_at(at)?),
                _ => u64_at(at)?,
            });
        }
        Some(Ok(out))
    };
    let mut width = None;
    let mut height = None;
    let mut offsets = None;
    let mut counts = None;
    for i in 0..count {
        let e = entries_at + i * entry_size;
        let Some(tag) = u16_at(e) else {
            return Scan::fail(None, short("first IFD"));
        };
        if !matches!(tag, 256 | 257 | 273 | 279 | 324 | 325) {
            continue;
        }
        let v = match values(e) {
            None => return Scan::fail(None, short(&format!("tag {tag} data"))),
            Some(Err(())) => {
                return Scan::fail(
                    None,
                    decode_failed(format!("TIFF tag {tag} has a non-integer type")),
                )
            }
            Some(Ok(v)) => v,
        };
        match tag {
            256 => width = v.first().copied(),
            257 => height = v.first().copied(),
            273 | 324 => offsets = Some(v),
            _ => counts = Some(v),
        }
    }
    let dims = match (width, height) {
        (Some(w), Some(h)) => Some((
            u32::try_from(w).unwrap_or(u32::MAX),
            u32::try_from(h).unwrap_or(u32::MAX),
        )),
        _ => None,
    };
    if let (Some(offsets), Some(counts)) = (&offsets, &counts) {
        for (k, (&off, &len)) in offsets.iter().zip(counts).enumerate() {
            if off.checked_add(len).is_none_or(|end| end > n as u64) {
                return Scan::fail(
                    dims,
                    truncated(format!(
                        "TIFF strip/tile {k} (bytes {off}..{}) lies beyond the end of the file ({n} bytes)",
                        off.saturating_add(len)
                    )),
                );
            }
        }
        if offsets.len() != counts.len() {
            return Scan::fail(
                dims,
                decode_failed("TIFF: strip/tile offsets and byte counts differ in number"),
            );
        }
    }
    Scan::ok(dims)
}

/// Checks a BMP's headers and that an uncompressed pixel array fits in the file.
///
/// # References
/// Microsoft, BITMAPINFOHEADER and BITMAPV5HEADER structures (Win32 GDI
/// documentation): rows are padded to a multiple of 4 bytes.
fn scan_bmp(b: &[u8]) -> Scan {
    let n = b.len();
    let (Some(data_offset), Some(header_size)) = (le32(b, 10), le32(b, 14)) else {
        return Scan::fail(None, truncated(format!("BMP headers end after {n} bytes")));
    };
    let (width, height, bit_count, compression) = if header_size == 12 {
        match (le16(b, 18), le16(b, 20), le16(b, 24)) {
            (Some(w), Some(h), Some(bc)) => (i64::from(w), i64::from(h), bc, 0),
            _ => return Scan::fail(None, truncated(format!("BMP headers end after {n} bytes"))),
        }
    } else if header_size >= 40 {
        match (le32(b, 18), le32(b, 22), le16(b, 28), le32(b, 30)) {
            (Some(w), Some(h), Some(bc), Some(c)) => {
                (i64::from(w as i32), i64::from(h as i32), bc, c)
            }
            _ => return Scan::fail(None, truncated(format!("BMP headers end after {n} bytes"))),
        }
    } else {
        return Scan::fail(
            None,
            decode_failed(format!("BMP: unknown header size {header_size}")),
        );
    };
    let height = height.abs(); // negative height: rows stored top-down
    if width <= 0 || height == 0 {
        return Scan::fail(
            None,
            decode_failed(format!("BMP: invalid size {width} x {height}")),
        );
    }
    let dims = Some((
        u32::try_from(width).unwrap_or(u32::MAX),
        u32::try_from(height).unwrap_or(u32::MAX),
    ));
    if 14 + header_size as usize > n {
        return Scan::fail(dims, truncated(format!("BMP headers end after {n} bytes")));
    }
    // 0 = BI_RGB, 3 = BI_BITFIELDS, 6 = BI_ALPHABITFIELDS: uncompressed rows.
    if matches!(compression, 0 | 3 | 6) {
        let row_bytes = (i128::from(bit_count) * i128::from(width) + 31) / 32 * 4;
        let needed = i128::from(data_offset) + row_bytes * i128::from(height);
        if needed > n as i128 {
            return Scan::fail(
                dims,
                truncated(format!(
                    "BMP pixel array needs bytes {data_offset}..{needed}, the file ends after {n}"
                )),
            );
        }
    } else if data_offset as usize >= n {
        return Scan::fail(
            dims,
            truncated(format!(
                "BMP pixel data starts at byte {data_offset}, the file ends after {n}"
            )),
        );
    }
    Scan::ok(dims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_bytes(img: &DynamicImage) -> Vec<u8> {
        let mut v = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut v), ImageFormat::Png)
            .unwrap();
        v
    }

    // A header-only PNG bomb is refused as too_large with the claimed size,
    // before anything is allocated.
    #[test]
    fn png_bomb_reports_claimed_dimensions() {
        let mut b = PNG_SIGNATURE.to_vec();
        let mut ihdr = b"IHDR".to_vec();
        ihdr.extend_from_slice(&100_000u32.to_be_bytes());
        ihdr.extend_from_slice(&100_000u32.to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
        b.extend_from_slice(&13u32.to_be_bytes());
        b.extend_from_slice(&ihdr);
        b.extend_from_slice(&crc32fast::hash(&ihdr).to_be_bytes());
        let e = decode_bytes(&b, &DecodeLimits::default()).unwrap_err();
        match e.kind() {
            ErrorKind::TooLarge { width, height, .. } => {
                assert_eq!((*width, *height), (100_000, 100_000));
            }
            k => panic!("expected TooLarge, got {k:?}"),
        }
    }

    // The allocation limit is checked from the header, with the dimensions kept.
    #[test]
    fn alloc_limit_reports_dimensions() {
        let png = png_bytes(&DynamicImage::new_rgb16(64, 32));
        let limits = DecodeLimits {
            max_alloc_bytes: 64 * 32 * 6 - 1,
            ..DecodeLimits::default()
        };
        let e = decode_bytes(&png, &limits).unwrap_err();
        assert!(
            matches!(
                e.kind(),
                ErrorKind::TooLarge {
                    width: 64,
                    height: 32,
                    ..
                }
            ),
            "{e:?}"
        );
        // Exactly at the limit (inclusive) decodes.
        let limits = DecodeLimits {
            max_alloc_bytes: 64 * 32 * 6,
            ..DecodeLimits::default()
        };
        assert!(decode_bytes(&png, &limits).is_ok());
    }

    // The pixel-count ceiling is inclusive and checked from the header.
    #[test]
    fn pixel_limit_is_inclusive() {
        let png = png_bytes(&DynamicImage::new_luma8(64, 32));
        let at = |max_pixels| DecodeLimits {
            max_pixels,
            ..DecodeLimits::default()
        };
        assert!(decode_bytes(&png, &at(64 * 32)).is_ok());
        let e = decode_bytes(&png, &at(64 * 32 - 1)).unwrap_err();
        assert_eq!(e.code(), "too_large");
        assert!(e.to_string().contains("limits.max_pixels"), "{e}");
        assert!(at(0).validate().is_err());
    }

    // A flipped bit in a PNG chunk is caught by its CRC.
    #[test]
    fn png_crc_mismatch_is_decode_failed() {
        let mut png = png_bytes(&DynamicImage::new_luma8(4, 4));
        let n = png.len();
        png[n - 20] ^= 0x10; // inside IDAT
        let e = decode_bytes(&png, &DecodeLimits::default()).unwrap_err();
        assert_eq!(e.code(), "decode_failed", "{e}");
    }

    // A panic inside the guarded closure becomes decode_failed.
    #[test]
    fn panics_become_decode_failed() {
        let e = guarded::<()>(|| panic!("boom")).unwrap_err();
        assert_eq!(e.code(), "decode_failed");
        assert!(e.to_string().contains("boom"), "{e}");
    }

    // Short prefixes of a signature are truncations; other bytes are named.
    #[test]
    fn sniff_names_what_it_sees() {
        assert_eq!(sniff(b"").unwrap_err().code(), "truncated");
        assert_eq!(sniff(b"\x89PN").unwrap_err().code(), "truncated");
        let gif = sniff(b"GIF89a\x01\0\x01\0").unwrap_err();
        assert_eq!(gif.code(), "unsupported_format");
        assert!(gif.to_string().contains("GIF"), "{gif}");
        let text = sniff(b"hello, this is not a JPEG\n").unwrap_err();
        assert!(text.to_string().contains("text"), "{text}");
        let heic = sniff(b"\0\0\0\x18ftypheic\0\0\0\0").unwrap_err();
        assert!(heic.to_string().contains("HEIC"), "{heic}");
    }
}
