//! The crate's one error type.
//!
//! Every fallible function in trichometry returns [`Result`]. An [`Error`] is an
//! [`ErrorKind`] (what went wrong) plus, where known, the path of the file it
//! concerns. [`Error::code`] gives a stable snake_case code that reports carry
//! in their `error_kind` field, so that programs can act on failures without
//! parsing messages.

use std::fmt;
use std::path::{Path, PathBuf};

/// Result type used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong. Split by who is at fault: the input file, the caller's
/// configuration or calibration, or the file system.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The file is not a decodable image (corrupt data, wrong content for its extension).
    #[error("cannot decode image: {0}")]
    Decode(String),
    /// The file ends before the image data does (a failed copy, an interrupted download).
    #[error("truncated or corrupt image data: {0}")]
    Truncated(String),
    /// The image format is recognised but not supported, or not recognised at all.
    #[error("unsupported image format: {0}")]
    UnsupportedFormat(String),
    /// The image is larger than the decoding limits allow.
    #[error("image of {width} x {height} pixels exceeds the decoding limits ({reason})")]
    TooLarge {
        /// Width claimed by the file header, in pixels.
        width: u32,
        /// Height claimed by the file header, in pixels.
        height: u32,
        /// Which limit was exceeded.
        reason: String,
    },
    /// No pixel size was given for an image; sizes in µm and densities cannot be computed.
    #[error("no pixel size (µm/px) given for this image: pass --pixel-size-um, a manifest column `pixel_size_um`, or `calibration.pixel_size_um` in the config")]
    CalibrationMissing,
    /// A pixel size is out of the valid range or not a finite positive number.
    #[error("invalid pixel size {value} µm/px: {reason}")]
    CalibrationInvalid {
        /// The value as given.
        value: f64,
        /// Why it was refused.
        reason: String,
    },
    /// Two calibration sources give different pixel sizes for the same image.
    #[error("conflicting pixel sizes: {first_source} says {first} µm/px, {second_source} says {second} µm/px")]
    CalibrationConflict {
        /// The higher-precedence source.
        first_source: &'static str,
        /// Its value in µm/px.
        first: f64,
        /// The lower-precedence source.
        second_source: &'static str,
        /// Its value in µm/px.
        second: f64,
    },
    /// The input file does not exist.
    #[error("file not found")]
    NotFound,
    /// Any other I/O failure (permissions, a directory where a file was expected, ...).
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A configuration value is invalid. The caller's fault, found before any image is read.
    #[error("invalid configuration `{field}`: {reason}")]
    Config {
        /// Dotted path of the offending field, e.g. `segment.min_length_um`.
        field: String,
        /// Why it was refused.
        reason: String,
    },
    /// A manifest (CSV) problem, with its 1-based line number.
    #[error("manifest line {line}: {reason}")]
    Manifest {
        /// 1-based line number in the manifest file (the header is line 1).
        line: u64,
        /// What is wrong with the line.
        reason: String,
    },
    /// A region of interest that cannot be applied (outside the image, zero area, ...).
    #[error("invalid region of interest: {0}")]
    Roi(String),
    /// Any other invalid argument to a library function.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A bug in trichometry caught before it could take a batch down.
    #[error("internal error (please report it): {0}")]
    Internal(String),
}

/// The error type of trichometry: an [`ErrorKind`] and, where known, the file it concerns.
///
/// `Display` names the file first, then the problem:
///
/// ```
/// use trichometry::{Error, ErrorKind};
/// let e = Error::new(ErrorKind::NotFound).with_path("scans/a.jpg");
/// assert_eq!(e.to_string(), "scans/a.jpg: file not found");
/// assert_eq!(e.code(), "not_found");
/// ```
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    path: Option<PathBuf>,
}

impl Error {
    /// Makes an error of the given kind, not tied to a file.
    pub fn new(kind: ErrorKind) -> Self {
        Error {
            inner: Box::new(Inner { kind, path: None }),
        }
    }

    /// Attaches the path of the file the error concerns (replacing any earlier one).
    #[must_use]
    pub fn with_path(mut self, path: impl AsRef<Path>) -> Self {
        self.inner.path = Some(path.as_ref().to_path_buf());
        self
    }

    /// Shorthand for an [`ErrorKind::Config`] error.
    pub fn config(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::new(ErrorKind::Config {
            field: field.into(),
            reason: reason.into(),
        })
    }

    /// Shorthand for an [`ErrorKind::InvalidInput`] error.
    pub fn invalid_input(reason: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidInput(reason.into()))
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.inner.kind
    }

    /// Consumes the error, returning its kind.
    pub fn into_kind(self) -> ErrorKind {
        self.inner.kind
    }

    /// The file the error concerns, if known.
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// Stable snake_case code for the `error_kind` field of reports.
    ///
    /// Codes never change meaning once released: `decode_failed`, `truncated`,
    /// `unsupported_format`, `too_large`, `calibration_missing`,
    /// `calibration_invalid`, `calibration_conflict`, `not_found`, `io_error`,
    /// `config_invalid`, `manifest_invalid`, `roi_invalid`, `invalid_input`,
    /// `internal_error`.
    pub fn code(&self) -> &'static str {
        match &self.inner.kind {
            ErrorKind::Decode(_) => "decode_failed",
            ErrorKind::Truncated(_) => "truncated",
            ErrorKind::UnsupportedFormat(_) => "unsupported_format",
            ErrorKind::TooLarge { .. } => "too_large",
            ErrorKind::CalibrationMissing => "calibration_missing",
            ErrorKind::CalibrationInvalid { .. } => "calibration_invalid",
            ErrorKind::CalibrationConflict { .. } => "calibration_conflict",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Io(_) => "io_error",
            ErrorKind::Config { .. } => "config_invalid",
            ErrorKind::Manifest { .. } => "manifest_invalid",
            ErrorKind::Roi(_) => "roi_invalid",
            ErrorKind::InvalidInput(_) => "invalid_input",
            ErrorKind::Internal(_) => "internal_error",
        }
    }

    /// Makes an error from an I/O error, mapping "not found" to [`ErrorKind::NotFound`].
    pub fn from_io(err: std::io::Error, path: impl AsRef<Path>) -> Self {
        let kind = if err.kind() == std::io::ErrorKind::NotFound {
            ErrorKind::NotFound
        } else {
            ErrorKind::Io(err)
        };
        Error::new(kind).with_path(path)
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Error::new(kind)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.inner.kind)
            .field("path", &self.inner.path)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner.path {
            Some(p) => write!(f, "{}: {}", p.display(), self.inner.kind),
            None => write!(f, "{}", self.inner.kind),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.inner.kind {
            ErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The message names the file first, then the problem.
    #[test]
    fn display_names_file_then_problem() {
        let e = Error::new(ErrorKind::Truncated(
            "JPEG has no end-of-image marker".into(),
        ))
        .with_path("a/b.jpg");
        assert_eq!(
            e.to_string(),
            "a/b.jpg: truncated or corrupt image data: JPEG has no end-of-image marker"
        );
        assert_eq!(e.code(), "truncated");
    }

    // io::ErrorKind::NotFound maps to the stable `not_found` code.
    #[test]
    fn io_not_found_maps_to_not_found() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "x");
        assert_eq!(Error::from_io(io, "x.png").code(), "not_found");
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "x");
        assert_eq!(Error::from_io(io, "x.png").code(), "io_error");
    }
}
