//! `trichometry eval`.

/// Arguments of `trichometry eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {}

/// Runs `trichometry eval`.
pub fn run(_args: EvalArgs) -> Result<u8, trichometry::Error> {
    Err(trichometry::Error::invalid_input("eval is not built yet"))
}
