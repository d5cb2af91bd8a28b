//! Assets compiled into the crate, so rendering never depends on system fonts.

/// DejaVu Sans (Bitstream Vera / DejaVu licence, see `assets/fonts/LICENSE-DejaVu.txt`),
/// used for overlay labels and plot text.
pub const FONT_TTF: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");

/// The bundled font, parsed.
///
/// ```
/// let font = trichometry::assets::font();
/// # let _ = font;
/// ```
pub fn font() -> ab_glyph::FontRef<'static> {
    ab_glyph::FontRef::try_from_slice(FONT_TTF).expect("the bundled font parses")
}
