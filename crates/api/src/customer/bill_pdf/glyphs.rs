//! Text in the viewers' built-in Helvetica: WinAnsi encoding (accents dropped where it has
//! no letter), glyph widths, and wrapping into lines that fit a width.

/// WinAnsi's horizontal ellipsis.
pub(super) const ELLIPSIS: u8 = 0x85;

/// `text` in WinAnsi, the built-in fonts' encoding: what it lacks loses its accent, or
/// becomes `?`; spaces and control characters become spaces.
pub(super) fn encode(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| {
            if c.is_whitespace() || c.is_control() {
                b' '
            } else {
                win_ansi(c).or_else(|| unaccented(c)).unwrap_or(b'?')
            }
        })
        .collect()
}

/// The WinAnsi byte of `c`, if it has one.
fn win_ansi(c: char) -> Option<u8> {
    let byte = match c {
        ' '..='~' | '\u{a0}'..='\u{ff}' => return u8::try_from(u32::from(c)).ok(),
        '€' => 0x80,
        '‚' => 0x82,
        'ƒ' => 0x83,
        '„' => 0x84,
        '…' => 0x85,
        '†' => 0x86,
        '‡' => 0x87,
        'ˆ' => 0x88,
        '‰' => 0x89,
        'Š' => 0x8a,
        '‹' => 0x8b,
        'Œ' => 0x8c,
        'Ž' => 0x8e,
        '‘' => 0x91,
        '’' => 0x92,
        '“' => 0x93,
        '”' => 0x94,
        '•' => 0x95,
        '–' => 0x96,
        '—' => 0x97,
        '˜' => 0x98,
        '™' => 0x99,
        'š' => 0x9a,
        '›' => 0x9b,
        'œ' => 0x9c,
        'ž' => 0x9e,
        'Ÿ' => 0x9f,
        _ => return None,
    };
    Some(byte)
}

/// The base letters of Latin Extended-A (U+0100 to U+017F), in order: `Ł` is `L`.
const LATIN_EXTENDED_A: &[u8; 128] =
    b"AaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHhHhIiIiIiIiIiIiJjKkkLlLlLlL\
lLlNnNnNnnNnOoOoOoOoRrRrRrSsSsSsSsTtTtTtUuUuUuUuUuUuWwYyYZzZzZzs";

/// `c` without its accent, for the Latin letters WinAnsi lacks (and a few dashes).
fn unaccented(c: char) -> Option<u8> {
    match c {
        '\u{100}'..='\u{17f}' => {
            let index = usize::try_from(u32::from(c) - 0x100).ok()?;
            LATIN_EXTENDED_A.get(index).copied()
        }
        'Ș' => Some(b'S'),
        'ș' => Some(b's'),
        'Ț' => Some(b'T'),
        'ț' => Some(b't'),
        '‐' | '‑' | '‒' | '−' => Some(b'-'),
        _ => None,
    }
}

/// Helvetica's glyph widths in thousandths of the font size, for the WinAnsi bytes 32 to
/// 255 (from Adobe's font metrics; bytes WinAnsi leaves unused, never written, have 0).
const HELVETICA_WIDTHS: [u16; 224] = [
    // 0x20: space ! " # $ % & ' ( ) * + , - . /
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
    // 0x30: 0-9 : ; < = > ?
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
    // 0x40: @ A-O
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
    // 0x50: P-Z [ \ ] ^ _
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
    // 0x60: ` a-o
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
    // 0x70: p-z { | } ~ (delete)
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, 0,
    // 0x80: € (unused) ‚ ƒ „ … † ‡ ˆ ‰ Š ‹ Œ (unused) Ž (unused)
    556, 0, 222, 556, 333, 1000, 556, 556, 333, 1000, 667, 333, 1000, 0, 611, 0,
    // 0x90: (unused) ‘ ’ “ ” • – — ˜ ™ š › œ (unused) ž Ÿ
    0, 222, 222, 333, 333, 350, 556, 1000, 333, 1000, 500, 333, 944, 0, 500, 667,
    // 0xa0: no-break space ¡ ¢ £ ¤ ¥ ¦ § ¨ © ª « ¬ soft hyphen ® ¯
    278, 333, 556, 556, 556, 556, 260, 556, 333, 737, 370, 556, 584, 333, 737, 333,
    // 0xb0: ° ± ² ³ ´ µ ¶ · ¸ ¹ º » ¼ ½ ¾ ¿
    400, 584, 333, 333, 333, 556, 537, 278, 333, 333, 365, 556, 834, 834, 834, 611,
    // 0xc0: À Á Â Ã Ä Å Æ Ç È É Ê Ë Ì Í Î Ï
    667, 667, 667, 667, 667, 667, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278,
    // 0xd0: Ð Ñ Ò Ó Ô Õ Ö × Ø Ù Ú Û Ü Ý Þ ß
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611,
    // 0xe0: à á â ã ä å æ ç è é ê ë ì í î ï
    556, 556, 556, 556, 556, 556, 889, 500, 556, 556, 556, 556, 278, 278, 278, 278,
    // 0xf0: ð ñ ò ó ô õ ö ÷ ø ù ú û ü ý þ ÿ
    556, 556, 556, 556, 556, 556, 556, 584, 611, 556, 556, 556, 556, 500, 556, 500,
];

/// The width of WinAnsi `bytes` set in Helvetica at `size` points.
pub(super) fn width(bytes: &[u8], size: f32) -> f32 {
    let thousandths: u32 = bytes
        .iter()
        .map(|&b| {
            let index = usize::from(b).wrapping_sub(32);
            u32::from(HELVETICA_WIDTHS.get(index).copied().unwrap_or(0))
        })
        .sum();
    thousandths as f32 * size / 1000.0
}

/// `text` broken into lines no wider than `width` at `size` points: at spaces, or inside a
/// word too long for a line; at most `max_lines` (at least one), the last one cut short with
/// an ellipsis if there was more.
pub(super) fn wrap(text: &[u8], size: f32, max_width: f32, max_lines: usize) -> Vec<Vec<u8>> {
    let fits = |line: &[u8]| width(line, size) <= max_width;
    let mut lines: Vec<Vec<u8>> = Vec::new();
    let mut line: Vec<u8> = Vec::new();
    for word in text.split(|&b| b == b' ').filter(|w| !w.is_empty()) {
        let mut longer = line.clone();
        if !longer.is_empty() {
            longer.push(b' ');
        }
        longer.extend_from_slice(word);
        if fits(&longer) {
            line = longer;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        for &byte in word {
            line.push(byte);
            if !fits(&line) && line.len() > 1 {
                line.pop();
                lines.push(std::mem::replace(&mut line, vec![byte]));
            }
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    let max_lines = max_lines.max(1);
    if lines.len() > max_lines {
        lines.truncate(max_lines);
        if let Some(last) = lines.last_mut() {
            last.push(ELLIPSIS);
            while !fits(last) && last.len() > 1 {
                last.pop();
                last.pop();
                last.push(ELLIPSIS);
            }
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin_1_stays_and_other_letters_lose_their_accents() {
        assert_eq!(encode("Zürich"), b"Z\xfcrich");
        assert_eq!(encode("Müller & Söhne"), b"M\xfcller & S\xf6hne");
        assert_eq!(encode("Łódź"), b"L\xf3dz");
        assert_eq!(encode("Iași – 5 €"), b"Iasi \x96 5 \x80");
        assert_eq!(encode("東京\tx"), b"?? x");
        assert_eq!(LATIN_EXTENDED_A[usize::from(0x41_u8)], b'L'); // Ł is U+0141
        assert_eq!(LATIN_EXTENDED_A[usize::from(0x7f_u8)], b's'); // ſ
    }

    #[test]
    fn lines_wrap_at_spaces_and_inside_long_words() {
        let widest = width(b"aaaa", 10.0);
        assert_eq!(
            wrap(b"aa aa aa", 10.0, widest + 3.0, 5),
            [b"aa aa".to_vec(), b"aa".to_vec()]
        );
        assert_eq!(
            wrap(b"aaaaaaaaa", 10.0, widest, 5),
            [b"aaaa".to_vec(), b"aaaa".to_vec(), b"a".to_vec()]
        );
        assert_eq!(wrap(b"", 10.0, widest, 5), [Vec::<u8>::new()]);
        let cut = wrap(b"aa aa aa aa", 10.0, widest, 2);
        assert_eq!(cut.len(), 2);
        assert_eq!(cut[1].last(), Some(&ELLIPSIS));
        assert!(cut.iter().all(|l| width(l, 10.0) <= widest));
        // Nothing fits: one glyph a line, never an endless loop.
        assert_eq!(wrap(b"ab", 10.0, 0.0, 5), [b"a".to_vec(), b"b".to_vec()]);
    }
}
