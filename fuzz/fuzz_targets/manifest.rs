//! Fuzz target `manifest`: see [`trichometry_fuzz::manifest`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    trichometry_fuzz::manifest(data);
});
