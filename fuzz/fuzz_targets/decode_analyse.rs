//! Fuzz target `decode_analyse`: see [`trichometry_fuzz::decode_analyse`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    trichometry_fuzz::decode_analyse(data);
});
