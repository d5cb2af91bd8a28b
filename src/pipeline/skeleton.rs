//! Skeletons: Zhang–Suen thinning and skeleton length.
//!
//! Used by stage 3 (component features) and stages 4–5 (centre lines of
//! shafts). In: a binary crop. Out: the one-pixel-wide centre line.

/// Thins a binary image (row-major, `true` = foreground) to a one-pixel-wide,
/// 8-connected skeleton, in place. Pixels on the outer border are treated as
/// having background neighbours outside the image.
///
/// # Examples
/// ```
/// use trichometry::pipeline::skeleton::zhang_suen;
/// // A 3-pixel-thick horizontal bar thins to its middle row.
/// let (w, h) = (9, 5);
/// let mut m: Vec<bool> = (0..w * h).map(|i| { let (x, y) = (i % w, i / w); (1..4).contains(&y) && (1..8).contains(&x) }).collect();
/// zhang_suen(&mut m, w, h);
/// assert!(m[2 * w + 4]);
/// assert!(!m[w + 4] && !m[3 * w + 4]);
/// ```
///
/// # References
/// Zhang T. Y., Suen C. Y. (1984) A fast parallel algorithm for thinning
/// digital patterns. Communications of the ACM 27(3):236–239.
/// doi:10.1145/357994.358023
pub fn zhang_suen(mask: &mut [bool], width: usize, height: usize) {
    if width == 0 || height == 0 || mask.len() != width * height {
        return;
    }
    let get = |m: &[bool], x: i64, y: i64| -> bool {
        x >= 0
            && y >= 0
            && (x as usize) < width
            && (y as usize) < height
            && m[y as usize * width + x as usize]
    };
    let mut active: Vec<usize> = (0..mask.len()).filter(|&i| mask[i]).collect();
    let mut del: Vec<usize> = Vec::new();
    loop {
        let mut changed = false;
        for step in 0..2 {
            del.clear();
            for &i in &active {
                if !mask[i] {
                    continue;
                }
                let (x, y) = ((i % width) as i64, (i / width) as i64);
                // P2..P9 clockwise from north.
                let p = [
                    get(mask, x, y - 1),
                    get(mask, x + 1, y - 1),
                    get(mask, x + 1, y),
                    get(mask, x + 1, y + 1),
                    get(mask, x, y + 1),
                    get(mask, x - 1, y + 1),
                    get(mask, x - 1, y),
                    get(mask, x - 1, y - 1),
                ];
                let b = p.iter().filter(|&&v| v).count();
                if !(2..=6).contains(&b) {
                    continue;
                }
                let a = (0..8).filter(|&k| !p[k] && p[(k + 1) % 8]).count();
                if a != 1 {
                    continue;
                }
                let (c1, c2) = if step == 0 {
                    (p[0] && p[2] && p[4], p[2] && p[4] && p[6])
                } else {
                    (p[0] && p[2] && p[6], p[0] && p[4] && p[6])
                };
                if !c1 && !c2 {
                    del.push(i);
                }
            }
            if !del.is_empty() {
                changed = true;
                for &i in &del {
                    mask[i] = false;
                }
            }
        }
        if !changed {
            break;
        }
        active.retain(|&i| mask[i]);
    }
}

/// Length of a skeleton in pixels: horizontal/vertical links count 1,
/// diagonal links √2 (a diagonal link is counted only where no 4-path joins
/// the two pixels), so a digital straight line of any angle measures close to
/// its Euclidean length.
///
/// # Examples
/// ```
/// use trichometry::pipeline::skeleton::skeleton_length;
/// let diag: Vec<(u32, u32)> = (0..11).map(|i| (i, i)).collect();
/// assert!((skeleton_length(&diag) - 10.0 * 2f64.sqrt()).abs() < 1e-9);
/// ```
///
/// # References
/// Kulpa Z. (1977) Area and perimeter measurement of blobs in discrete binary
/// pictures. Computer Graphics and Image Processing 6(5):434–451.
/// doi:10.1016/S0146-664X(77)80021-X
pub fn skeleton_length(points: &[(u32, u32)]) -> f64 {
    let set: std::collections::HashSet<(u32, u32)> = points.iter().copied().collect();
    let has = |x: i64, y: i64| x >= 0 && y >= 0 && set.contains(&(x as u32, y as u32));
    let mut len = 0.0;
    for &(x, y) in points {
        let (x, y) = (i64::from(x), i64::from(y));
        if has(x + 1, y) {
            len += 1.0;
        }
        if has(x, y + 1) {
            len += 1.0;
        }
        if has(x + 1, y + 1) && !has(x + 1, y) && !has(x, y + 1) {
            len += std::f64::consts::SQRT_2;
        }
        if has(x - 1, y + 1) && !has(x - 1, y) && !has(x, y + 1) {
            len += std::f64::consts::SQRT_2;
        }
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    // A filled disc thins to a small connected blob, not to nothing.
    #[test]
    fn disc_keeps_a_point() {
        let (w, h) = (21usize, 21usize);
        let mut m: Vec<bool> = (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as i64 - 10, (i / w) as i64 - 10);
                x * x + y * y <= 64
            })
            .collect();
        zhang_suen(&mut m, w, h);
        let n = m.iter().filter(|&&v| v).count();
        assert!((1..=5).contains(&n), "{n}");
    }

    // A thick bar's skeleton runs nearly its full length (ends shortened by about half the width).
    #[test]
    fn bar_skeleton_length() {
        let (w, h) = (60usize, 12usize);
        let mut m: Vec<bool> = (0..w * h)
            .map(|i| (3..9).contains(&(i / w)) && (5..55).contains(&(i % w)))
            .collect();
        zhang_suen(&mut m, w, h);
        let pts: Vec<(u32, u32)> = (0..w * h)
            .filter(|&i| m[i])
            .map(|i| ((i % w) as u32, (i / w) as u32))
            .collect();
        let l = skeleton_length(&pts);
        assert!((40.0..=52.0).contains(&l), "{l}");
    }
}
