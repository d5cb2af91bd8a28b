//! `trichometry synth`.

/// Arguments of `trichometry synth`.
#[derive(Debug, clap::Args)]
pub struct SynthArgs {}

/// Runs `trichometry synth`.
pub fn run(_args: SynthArgs) -> Result<u8, trichometry::Error> {
    Err(trichometry::Error::invalid_input("synth is not built yet"))
}
