//! Decoding: file bytes to an oriented image.
//!
//! Stage 0 of the pipeline. In: the bytes of a JPEG, PNG, TIFF or BMP file.
//! Out: a [`DynamicImage`] in its native sample type (8- or 16-bit, gray or
//! colour, with or without alpha), rotated/flipped by its EXIF orientation so
//! that every coordinate trichometry reports is in the displayed frame,
//! origin top-left. Decoding is bounded by [`DecodeLimits`], so a hostile
//! header cannot exhaust memory, and a truncated or corrupt file is an error
//! even where a decoder would hand back a partial picture.

use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, ErrorKind, Result};

/// Limits applied before and while decoding an image.
///
/// Defaults: 30 000 px per side, 1 GiB of decoder allocations (a 12 MP RGB
/// 16-bit image needs 72 MiB).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DecodeLimits {
    /// Largest accepted width in pixels (inclusive).
    pub max_width_px: u32,
    /// Largest accepted height in pixels (inclusive).
    pub max_height_px: u32,
    /// Largest allocation the decoder may make, in bytes (inclusive).
    pub max_alloc_bytes: u64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_width_px: 30_000,
            max_height_px: 30_000,
            max_alloc_bytes: 1 << 30,
        }
    }
}

impl DecodeLimits {
    /// Checks that the limits are usable (all non-zero).
    ///
    /// # Errors
    /// [`ErrorKind::Config`] naming the zero field.
    pub fn validate(&self) -> Result<()> {
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
/// # Errors
/// `unsupported_format` when the bytes are not a supported image,
/// `too_large` when the header exceeds `limits`, `truncated` when the data
/// ends early, `decode_failed` for other corrupt data.
pub fn decode_bytes(bytes: &[u8], limits: &DecodeLimits) -> Result<Decoded> {
    let input_sha256 = sha256_hex(bytes);
    let format = image::guess_format(bytes).map_err(|_| {
        Error::new(ErrorKind::UnsupportedFormat(
            "content is not a recognised image (JPEG, PNG, TIFF or BMP)".into(),
        ))
    })?;
    let mut reader = ImageReader::with_format(std::io::Cursor::new(bytes), format);
    reader.limits(limits.to_image_limits());
    let mut decoder = reader.into_decoder().map_err(map_image_error)?;
    let orientation = decoder.orientation().map_err(map_image_error)?;
    let (w, h) = decoder.dimensions();
    if w > limits.max_width_px || h > limits.max_height_px {
        return Err(Error::new(ErrorKind::TooLarge {
            width: w,
            height: h,
            reason: "width or height above limits".into(),
        }));
    }
    let mut image = DynamicImage::from_decoder(decoder).map_err(map_image_error)?;
    image.apply_orientation(orientation);
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

fn map_image_error(e: image::ImageError) -> Error {
    use image::ImageError as E;
    match e {
        E::Limits(l) => Error::new(ErrorKind::TooLarge {
            width: 0,
            height: 0,
            reason: l.to_string(),
        }),
        E::Unsupported(u) => Error::new(ErrorKind::UnsupportedFormat(u.to_string())),
        E::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            Error::new(ErrorKind::Truncated(io.to_string()))
        }
        other => Error::new(ErrorKind::Decode(other.to_string())),
    }
}
