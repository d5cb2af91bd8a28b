//! Prints the decision trail for the image named by `TRICHOMETRY_DEBUG_IMAGE`
//! (pixel size from `TRICHOMETRY_DEBUG_UM`, default 2.5); does nothing without it.

use trichometry::{Config, Pipeline, PixelScale};

// Development aid: shows why each component was counted or rejected; passes trivially without the variable.
#[test]
fn print_decisions_for_env_image() {
    let Ok(path) = std::env::var("TRICHOMETRY_DEBUG_IMAGE") else {
        return;
    };
    let um: f64 = std::env::var("TRICHOMETRY_DEBUG_UM")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.5);
    let img = image::open(&path).unwrap();
    let p = Pipeline::new(Config::default()).unwrap();
    let a = p.analyse(&img, PixelScale::new(um).unwrap(), None).unwrap();
    for d in &a.components {
        println!(
            "{:?} area={} hairs={} {}",
            d.bbox, d.area_px, d.hairs, d.reason
        );
    }
    println!("hairs={} flags={:?}", a.hairs.len(), a.qc_flags);
}
