//! Fuzz target `config`: see [`trichometry_fuzz::config`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    trichometry_fuzz::config(data);
});
