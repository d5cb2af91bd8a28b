//! `trichometry study`.

/// Arguments of `trichometry study`.
#[derive(Debug, clap::Args)]
pub struct StudyArgs {}

/// Runs `trichometry study`.
pub fn run(_args: StudyArgs) -> Result<u8, trichometry::Error> {
    Err(trichometry::Error::invalid_input("study is not built yet"))
}
