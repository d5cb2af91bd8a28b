//! Replays every fuzz corpus file (`fuzz/corpus/<target>/`) and every crash
//! reproducer (`fixtures/fuzz/<target>/`) through the same entry points the
//! fuzz targets call (`fuzz/src/lib.rs`, included here as a module), on the
//! stable toolchain: none may panic.

use std::path::{Path, PathBuf};

#[path = "../fuzz/src/lib.rs"]
mod entry;

/// Every file of the target's corpus and reproducer folders, sorted.
fn inputs(target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in [
        root.join("fuzz/corpus").join(target),
        root.join("fixtures/fuzz").join(target),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_file() {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

/// Runs `entry` on every input of `target`; fails naming each input that panicked.
fn replay(target: &str, entry: fn(&[u8])) {
    let files = inputs(target);
    assert!(
        files.len() >= 5,
        "fuzz/corpus/{target} holds only {} files",
        files.len()
    );
    let mut failed = Vec::new();
    for f in &files {
        let data = std::fs::read(f).unwrap();
        if std::panic::catch_unwind(|| entry(&data)).is_err() {
            failed.push(f.display().to_string());
        }
    }
    assert!(failed.is_empty(), "panicked on: {failed:#?}");
}

// Arbitrary bytes through decode, the pipeline and the report.
#[test]
fn replay_decode_analyse() {
    replay("decode_analyse", entry::decode_analyse);
}

// Arbitrary bytes through the count and study manifest parsers.
#[test]
fn replay_manifest() {
    replay("manifest", entry::manifest);
}

// Arbitrary text through the TOML and JSON configuration parsers.
#[test]
fn replay_config() {
    replay("config", entry::config);
}

// The fuzz limits are tighter than the defaults, so fuzzing stays fast.
#[test]
fn fuzz_limits_are_tight() {
    let l = entry::fuzz_limits();
    l.validate().unwrap();
    assert!(l.max_alloc_bytes < trichometry::decode::DecodeLimits::default().max_alloc_bytes);
}

// Prints the default configuration as TOML between markers; `fuzz/make_seeds.py`
// runs it to write the `config` target's fullest seed.
#[test]
#[ignore = "a helper for fuzz/make_seeds.py, not a check"]
fn print_default_config() {
    println!(
        "=== default config ===\n{}=== end ===",
        trichometry::Config::default().to_toml_string()
    );
}
