//! Blinded review: random codes for the images of a study, so that a reader
//! judging photographs or overlays cannot tell subject, visit or arm.
//!
//! In: the study's [`ImageRow`]s and a seed. Out: one [`BlindCode`] per image
//! — the key. The key goes to a separate file kept away from the readers;
//! the files shown to readers are named by code only.

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};

use super::aggregate::ImageRow;

/// Characters of a code: no 0/O, 1/I/L, so codes can be read aloud and typed.
const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// Length of a code (31⁶ ≈ 8.9·10⁸ codes).
pub const CODE_LEN: usize = 6;

/// One line of the blinding key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlindCode {
    /// The code readers see.
    pub code: String,
    /// Manifest line of the image.
    pub line: u64,
    /// The manifest's `image` cell.
    pub image: String,
    /// Subject.
    pub subject: String,
    /// Arm.
    pub arm: String,
    /// Visit.
    pub visit: String,
    /// Site.
    pub site: String,
}

/// Draws a distinct random code for every image, from a ChaCha20 stream
/// seeded with `seed`; the same seed gives the same codes. The key is
/// returned sorted by code, so its order reveals nothing about the manifest's.
///
/// # Examples
/// ```
/// use trichometry::study::blind::{blind_codes, CODE_LEN};
/// let key = blind_codes(&[], 7);
/// assert!(key.is_empty());
/// # let _ = CODE_LEN;
/// ```
pub fn blind_codes(images: &[ImageRow], seed: u64) -> Vec<BlindCode> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut used = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(images.len());
    for r in images {
        let code = loop {
            let mut c = String::with_capacity(CODE_LEN);
            for _ in 0..CODE_LEN {
                // Rejection sampling keeps every character equally likely.
                let limit = u32::MAX - u32::MAX % ALPHABET.len() as u32;
                let v = loop {
                    let v = rng.next_u32();
                    if v < limit {
                        break v;
                    }
                };
                c.push(ALPHABET[(v % ALPHABET.len() as u32) as usize] as char);
            }
            if used.insert(c.clone()) {
                break c;
            }
        };
        out.push(BlindCode {
            code,
            line: r.line,
            image: r.image.clone(),
            subject: r.subject.clone(),
            arm: r.arm.clone(),
            visit: r.visit.clone(),
            site: r.site.clone(),
        });
    }
    out.sort_by(|a, b| a.code.cmp(&b.code));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img(i: usize) -> ImageRow {
        ImageRow {
            line: i as u64 + 2,
            subject: format!("S{i}"),
            arm: "a".into(),
            visit: "B".into(),
            site: "v".into(),
            replicate: None,
            image: format!("{i}.png"),
            input_sha256: None,
            pixel_size_um: None,
            analysed_area_cm2: None,
            hair_count: None,
            density_per_cm2: None,
            non_vellus_count: None,
            vellus_count: None,
            cumulative_thickness_mm_per_cm2: None,
            mean_diameter_um: None,
            error: None,
        }
    }

    // Codes are distinct, well-formed, reproducible from the seed and differ between seeds.
    #[test]
    fn codes_distinct_and_seeded() {
        let imgs: Vec<ImageRow> = (0..500).map(img).collect();
        let a = blind_codes(&imgs, 1);
        let b = blind_codes(&imgs, 1);
        let c = blind_codes(&imgs, 2);
        assert_eq!(a, b);
        assert_ne!(a, c);
        let set: std::collections::HashSet<&str> = a.iter().map(|k| k.code.as_str()).collect();
        assert_eq!(set.len(), 500);
        assert!(a
            .iter()
            .all(|k| k.code.len() == CODE_LEN && k.code.bytes().all(|ch| ALPHABET.contains(&ch))));
        // Sorted by code, not by manifest line.
        assert!(a.windows(2).all(|w| w[0].code < w[1].code));
    }
}
