//! Output destinations shared by the subcommands: stdout, or a file written
//! atomically (a temporary file beside it, renamed into place when complete),
//! so that a half-written report never looks complete. An existing target
//! that is not a regular file (`/dev/null`, a named pipe) is written in
//! place: renaming over it would replace the device or pipe with a file.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};

use trichometry::{Error, ErrorKind};

/// Where a report goes.
pub enum Sink {
    /// Standard output.
    Stdout(BufWriter<io::Stdout>),
    /// A temporary file, renamed to its target by [`Sink::finish`].
    File {
        writer: BufWriter<File>,
        tmp: PathBuf,
        target: PathBuf,
    },
    /// An existing device or pipe, written in place.
    Special {
        writer: BufWriter<File>,
        target: PathBuf,
    },
}

impl Sink {
    /// Opens `path`, or stdout when `None`.
    pub fn open(path: Option<&Path>) -> Result<Sink, Error> {
        match path {
            None => Ok(Sink::Stdout(BufWriter::new(io::stdout()))),
            Some(target) if std::fs::metadata(target).is_ok_and(|m| !m.is_file()) => {
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(target)
                    .map_err(|e| Error::from_io(e, target))?;
                Ok(Sink::Special {
                    writer: BufWriter::new(file),
                    target: target.to_path_buf(),
                })
            }
            Some(target) => {
                let name = target
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "output".into());
                let tmp = target.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
                // Named by the user's path: the temporary name means nothing to them.
                let file = File::create(&tmp).map_err(|e| {
                    if e.kind() == io::ErrorKind::NotFound {
                        Error::new(ErrorKind::Io(io::Error::new(
                            io::ErrorKind::NotFound,
                            "cannot create the file: its folder does not exist",
                        )))
                        .with_path(target)
                    } else {
                        Error::from_io(e, target)
                    }
                })?;
                Ok(Sink::File {
                    writer: BufWriter::new(file),
                    tmp,
                    target: target.to_path_buf(),
                })
            }
        }
    }

    /// True when this sink is a terminal (for choosing the default format).
    pub fn is_terminal(&self) -> bool {
        matches!(self, Sink::Stdout(_)) && io::stdout().is_terminal()
    }

    /// Flushes, and for a file renames the temporary into place.
    pub fn finish(self) -> Result<(), Error> {
        match self {
            Sink::Stdout(mut w) => w.flush().map_err(|e| Error::from_io(e, "<stdout>")),
            Sink::File {
                writer,
                tmp,
                target,
            } => {
                let file = writer
                    .into_inner()
                    .map_err(|e| Error::from_io(e.into_error(), &tmp))?;
                file.sync_all().map_err(|e| Error::from_io(e, &tmp))?;
                std::fs::rename(&tmp, &target).map_err(|e| Error::from_io(e, &target))
            }
            Sink::Special { mut writer, target } => {
                writer.flush().map_err(|e| Error::from_io(e, &target))
            }
        }
    }

    /// Removes a temporary file after a failure.
    pub fn abandon(self) {
        if let Sink::File { tmp, .. } = self {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Stdout(w) => w.write(buf),
            Sink::File { writer, .. } | Sink::Special { writer, .. } => writer.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Stdout(w) => w.flush(),
            Sink::File { writer, .. } | Sink::Special { writer, .. } => writer.flush(),
        }
    }
}
