//! A bill as PDF, written with `pdf-writer`: A4 pages set in the viewers' built-in Helvetica
//! (no font is embedded, and the text stays real, extractable text), showing what the
//! printable page shows ([`BillDocument`]).
//!
//! The built-in fonts know only the WinAnsi characters: Latin-1 (Zürich, Müller, Genève) comes
//! out as it is, other Latin letters lose their accents (Łódź becomes Lodz), and anything else
//! becomes `?`. A records table too long for a page goes on over the next pages, under its
//! headings again; every page has a footer with the page number.

use pdf_writer::{Buf, Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use crate::customer::bill_document::{BillDocument, COLUMNS, ITEM_COLUMN};

/// A4, in points.
const PAGE_WIDTH: f32 = 595.0;
const PAGE_HEIGHT: f32 = 842.0;
const MARGIN: f32 = 50.0;
const TEXT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN;
/// Content stays above this line; the footer goes below it.
const BOTTOM: f32 = 70.0;
const FOOTER_BASELINE: f32 = 35.0;
/// A line's height over its font size.
const LEADING: f32 = 1.4;
const TABLE_SIZE: f32 = 8.0;
const TABLE_LEADING: f32 = TABLE_SIZE * LEADING;
const COLUMN_GAP: f32 = 8.0;
/// The least width of the item column, however wide the others.
const MIN_ITEM_WIDTH: f32 = 60.0;
/// The columns set flush right: the order id and the numbers.
const FLUSH_RIGHT: [bool; 7] = [true, false, false, false, true, true, true];
/// Helvetica-Bold is at most this much wider than Helvetica, glyph by glyph (`i`, `j`, `l`).
const BOLD_WIDER: f32 = 1.25;
/// The most lines a text may take; the last line of a longer one ends in an ellipsis.
const TITLE_LINES: usize = 2;
const ADDRESS_LINES: usize = 3;
const ITEM_LINES: usize = 4;
const NOTE_LINES: usize = 12;
/// WinAnsi's horizontal ellipsis.
const ELLIPSIS: u8 = 0x85;

const CATALOG: Ref = Ref::new(1);
const PAGE_TREE: Ref = Ref::new(2);
const REGULAR_FONT: Ref = Ref::new(3);
const BOLD_FONT: Ref = Ref::new(4);
const INFO: Ref = Ref::new(5);
/// The first reference of the pages and their contents, two per page.
const FIRST_PAGE_REF: usize = 6;

/// The bill `document` as a PDF file.
pub fn render(document: &BillDocument) -> Vec<u8> {
    write(&lay_out(document), &document.title)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Font {
    Regular,
    Bold,
}

impl Font {
    /// Its name in the pages' resources.
    fn name(self) -> Name<'static> {
        match self {
            Font::Regular => Name(b"F1"),
            Font::Bold => Name(b"F2"),
        }
    }
}

/// A run of WinAnsi text with its baseline's left end.
#[derive(Debug, Clone, PartialEq)]
struct Text {
    font: Font,
    size: f32,
    x: f32,
    y: f32,
    bytes: Vec<u8>,
}

/// A horizontal hairline.
#[derive(Debug, Clone, PartialEq)]
struct Rule {
    from: f32,
    to: f32,
    y: f32,
}

#[derive(Debug, Clone, Default, PartialEq)]
struct Page {
    texts: Vec<Text>,
    rules: Vec<Rule>,
}

/// Pages being filled from the top down.
struct Layout {
    done: Vec<Page>,
    page: Page,
    /// The top of the room left on the page.
    y: f32,
}

impl Layout {
    fn new() -> Layout {
        Layout {
            done: Vec::new(),
            page: Page::default(),
            y: PAGE_HEIGHT - MARGIN,
        }
    }

    /// Starts a new page unless `height` fits on this one (or this one is still empty, so
    /// nothing can loop); true if it started one.
    fn make_room(&mut self, height: f32) -> bool {
        let empty = self.page.texts.is_empty() && self.page.rules.is_empty();
        if self.y - height >= BOTTOM || empty {
            return false;
        }
        self.done.push(std::mem::take(&mut self.page));
        self.y = PAGE_HEIGHT - MARGIN;
        true
    }

    /// `bytes` on the page, left end of the baseline at (`x`, `y`).
    fn text(&mut self, font: Font, size: f32, x: f32, y: f32, bytes: Vec<u8>) {
        self.page.texts.push(Text {
            font,
            size,
            x,
            y,
            bytes,
        });
    }

    /// A line of text at the left margin, below the last, on the next page if it does not
    /// fit on this one.
    fn line(&mut self, font: Font, size: f32, bytes: Vec<u8>) {
        self.make_room(size * LEADING);
        self.text(font, size, MARGIN, self.y - size, bytes);
        self.y -= size * LEADING;
    }

    /// A hairline from `from` to `to`, just below the last line.
    fn rule(&mut self, from: f32, to: f32) {
        self.y -= 2.0;
        self.page.rules.push(Rule {
            from,
            to,
            y: self.y,
        });
        self.y -= 3.0;
    }

    fn pages(mut self) -> Vec<Page> {
        self.done.push(self.page);
        self.done
    }
}

/// Where the records table's columns are.
struct Columns {
    /// Each column's left end.
    x: [f32; 7],
    widths: [f32; 7],
}

impl Columns {
    /// Each column as wide as its widest cell, but the item column, which takes the width
    /// left (at least [`MIN_ITEM_WIDTH`]) and wraps.
    fn of(cells: &[[Vec<u8>; 7]]) -> Columns {
        let mut widths = COLUMNS.map(|heading| width(&encode(heading), TABLE_SIZE));
        for row in cells {
            for (column, cell) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(column) {
                    *w = w.max(width(cell, TABLE_SIZE));
                }
            }
        }
        let others: f32 = widths
            .iter()
            .enumerate()
            .filter(|(column, _)| *column != ITEM_COLUMN)
            .map(|(_, w)| w + COLUMN_GAP)
            .sum();
        widths[ITEM_COLUMN] = (TEXT_WIDTH - others).max(MIN_ITEM_WIDTH);
        let mut x = [MARGIN; 7];
        for column in 1..7 {
            x[column] = x[column - 1] + widths[column - 1] + COLUMN_GAP;
        }
        Columns { x, widths }
    }

    /// The right end of the table.
    fn right(&self) -> f32 {
        self.x[6] + self.widths[6]
    }

    /// One row of cells, each a column of lines; the item cell wraps, the others are one
    /// line each, and fit by construction.
    fn row(&self, layout: &mut Layout, cells: &[Vec<Vec<u8>>; 7]) {
        for (column, lines) in cells.iter().enumerate() {
            for (n, line) in lines.iter().enumerate() {
                let x = if FLUSH_RIGHT[column] {
                    self.x[column] + self.widths[column] - width(line, TABLE_SIZE)
                } else {
                    self.x[column]
                };
                let y = layout.y - TABLE_SIZE - n as f32 * TABLE_LEADING;
                layout.text(Font::Regular, TABLE_SIZE, x, y, line.clone());
            }
        }
        let lines = cells.iter().map(Vec::len).max().unwrap_or(1);
        layout.y -= lines as f32 * TABLE_LEADING;
    }

    /// The headings, underlined.
    fn headings(&self, layout: &mut Layout) {
        self.row(layout, &COLUMNS.map(|heading| vec![encode(heading)]));
        layout.rule(MARGIN, self.right());
    }
}

/// The document laid out on pages.
fn lay_out(document: &BillDocument) -> Vec<Page> {
    let mut layout = Layout::new();
    let title = encode(&document.title);
    for line in wrap(&title, 16.0 * BOLD_WIDER, TEXT_WIDTH, TITLE_LINES) {
        layout.line(Font::Bold, 16.0, line);
    }
    layout.y -= 2.0;
    for line in wrap(&encode(&document.period), 10.0, TEXT_WIDTH, TITLE_LINES) {
        layout.line(Font::Regular, 10.0, line);
    }
    layout.y -= 14.0;
    for field in &document.address {
        for line in wrap(&encode(field), 10.0, TEXT_WIDTH, ADDRESS_LINES) {
            layout.line(Font::Regular, 10.0, line);
        }
    }
    layout.y -= 18.0;

    let cells: Vec<[Vec<u8>; 7]> = document
        .rows
        .iter()
        .map(|row| row.each_ref().map(|cell| encode(cell)))
        .collect();
    let columns = Columns::of(&cells);
    // The headings never end a page alone.
    layout.make_room(4.0 * TABLE_LEADING);
    columns.headings(&mut layout);
    for row in &cells {
        let lines: [Vec<Vec<u8>>; 7] = std::array::from_fn(|column| {
            let cell = row.get(column).cloned().unwrap_or_default();
            if column == ITEM_COLUMN {
                wrap(&cell, TABLE_SIZE, columns.widths[column], ITEM_LINES)
            } else {
                vec![cell]
            }
        });
        let height = lines.iter().map(Vec::len).max().unwrap_or(1) as f32 * TABLE_LEADING;
        if layout.make_room(height) {
            let mut continued = title.clone();
            continued.extend_from_slice(b", continued");
            for line in wrap(&continued, 9.0, TEXT_WIDTH, TITLE_LINES) {
                layout.line(Font::Regular, 9.0, line);
            }
            layout.y -= 6.0;
            columns.headings(&mut layout);
        }
        columns.row(&mut layout, &lines);
    }
    layout.rule(MARGIN, columns.right());

    // Net, VAT and total, the amounts flush with the sums.
    layout.y -= 6.0;
    // Two lines, a rule and the total stay together.
    layout.make_room(2.0 * 10.0 * LEADING + 5.0 + 11.0 * LEADING);
    let right = columns.right();
    let label_x = columns.x[4].min(right - 150.0);
    let vat_label = encode(&document.vat_label);
    for (label, amount) in [(b"Net".to_vec(), &document.net), (vat_label, &document.vat)] {
        let amount = encode(amount);
        let y = layout.y - 10.0;
        layout.text(Font::Regular, 10.0, label_x, y, label);
        layout.text(Font::Regular, 10.0, right - width(&amount, 10.0), y, amount);
        layout.y -= 10.0 * LEADING;
    }
    layout.rule(label_x, right);
    let gross = encode(&document.gross);
    let y = layout.y - 11.0;
    layout.text(Font::Bold, 11.0, label_x, y, b"Total".to_vec());
    // Helvetica-Bold's digits and point are as wide as Helvetica's.
    layout.text(Font::Bold, 11.0, right - width(&gross, 11.0), y, gross);
    layout.y -= 11.0 * LEADING + 12.0;

    for line in wrap(&encode(&document.vat_note), 9.0, TEXT_WIDTH, NOTE_LINES) {
        layout.line(Font::Regular, 9.0, line);
    }

    let mut pages = layout.pages();
    let count = pages.len();
    for (n, page) in pages.iter_mut().enumerate() {
        let number = format!(", page {} of {count}", n + 1).into_bytes();
        let room = TEXT_WIDTH - width(&number, 8.0);
        let mut footer = wrap(&title, 8.0, room, 1).concat();
        footer.extend_from_slice(&number);
        page.texts.push(Text {
            font: Font::Regular,
            size: 8.0,
            x: MARGIN,
            y: FOOTER_BASELINE,
            bytes: footer,
        });
    }
    pages
}

/// The indirect reference numbered `n`, if PDF can number it.
fn reference(n: usize) -> Option<Ref> {
    i32::try_from(n).ok().filter(|n| *n > 0).map(Ref::new)
}

/// The pages as a PDF file titled `title`.
fn write(pages: &[Page], title: &str) -> Vec<u8> {
    let refs: Vec<(Ref, Ref)> = (0..pages.len())
        .map_while(|n| {
            let first = FIRST_PAGE_REF.checked_add(n.checked_mul(2)?)?;
            Some((reference(first)?, reference(first.checked_add(1)?)?))
        })
        .collect();
    let mut pdf = Pdf::new();
    pdf.catalog(CATALOG).pages(PAGE_TREE);
    pdf.pages(PAGE_TREE)
        .kids(refs.iter().map(|(page, _)| *page))
        .count(i32::try_from(refs.len()).unwrap_or(i32::MAX));
    for (id, base_font) in [
        (REGULAR_FONT, Name(b"Helvetica")),
        (BOLD_FONT, Name(b"Helvetica-Bold")),
    ] {
        pdf.type1_font(id)
            .base_font(base_font)
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    pdf.document_info(INFO)
        .title(TextStr(title))
        .creator(TextStr("berth"));
    for (page, (page_ref, content_ref)) in pages.iter().zip(&refs) {
        let mut writer = pdf.page(*page_ref);
        writer
            .media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT))
            .parent(PAGE_TREE)
            .contents(*content_ref);
        writer
            .resources()
            .fonts()
            .pair(Font::Regular.name(), REGULAR_FONT)
            .pair(Font::Bold.name(), BOLD_FONT);
        writer.finish();
        pdf.stream(*content_ref, &content(page));
    }
    pdf.finish()
}

/// A page's content stream.
fn content(page: &Page) -> Buf {
    let mut content = Content::new();
    if !page.rules.is_empty() {
        content.set_line_width(0.5);
        for rule in &page.rules {
            content.move_to(rule.from, rule.y);
            content.line_to(rule.to, rule.y);
        }
        content.stroke();
    }
    content.begin_text();
    let mut font = None;
    for text in &page.texts {
        if font != Some((text.font, text.size)) {
            content.set_font(text.font.name(), text.size);
            font = Some((text.font, text.size));
        }
        content.set_text_matrix([1.0, 0.0, 0.0, 1.0, text.x, text.y]);
        content.show(Str(&text.bytes));
    }
    content.end_text();
    content.finish()
}

/// `text` in WinAnsi, the built-in fonts' encoding: what it lacks loses its accent, or
/// becomes `?`; spaces and control characters become spaces.
fn encode(text: &str) -> Vec<u8> {
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
fn width(bytes: &[u8], size: f32) -> f32 {
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
fn wrap(text: &[u8], size: f32, max_width: f32, max_lines: usize) -> Vec<Vec<u8>> {
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

    fn document(rows: usize) -> BillDocument {
        BillDocument {
            id: 7,
            title: "Bill 7 (preliminary)".into(),
            period: "2020-01-01 00:00:00 UTC to 2020-01-31 23:59:59 UTC".into(),
            address: vec!["Jörg Müller".into(), "8000 Zürich".into()],
            rows: (0..rows)
                .map(|n| {
                    [
                        n.to_string(),
                        "Basic hosting, recurring".into(),
                        "2020-01-01 00:00:00 UTC".into(),
                        "2020-01-31 23:59:59 UTC".into(),
                        "1".into(),
                        "10".into(),
                        "10.00".into(),
                    ]
                })
                .collect(),
            net: "10.00".into(),
            vat_label: "VAT 8.1 %".into(),
            vat: "0.81".into(),
            gross: "10.81".into(),
            vat_note: "VAT of CH".into(),
        }
    }

    fn inside(page: &Page) -> bool {
        page.texts.iter().all(|t| {
            t.x >= MARGIN - 0.01
                && t.x + width(&t.bytes, t.size) <= PAGE_WIDTH - MARGIN + 0.01
                && t.y >= FOOTER_BASELINE
                && t.y <= PAGE_HEIGHT - MARGIN
        })
    }

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

    #[test]
    fn a_long_table_goes_on_over_the_next_pages() {
        assert_eq!(lay_out(&document(3)).len(), 1);
        let pages = lay_out(&document(200));
        assert!(pages.len() >= 3, "{} pages", pages.len());
        for (n, page) in pages.iter().enumerate() {
            assert!(inside(page), "page {n} overflows");
            let headings = page.texts.iter().filter(|t| t.bytes == b"quantity").count();
            assert_eq!(headings, 1, "page {n} repeats the headings");
        }
        let rows: usize = pages
            .iter()
            .map(|p| {
                p.texts
                    .iter()
                    .filter(|t| t.bytes == b"Basic hosting, recurring")
                    .count()
            })
            .sum();
        assert_eq!(rows, 200);
        let last = pages.last().map(|p| p.texts.clone()).unwrap_or_default();
        assert!(last.iter().any(|t| t.bytes == b"10.81"));
        let footer = format!("Bill 7 (preliminary), page {0} of {0}", pages.len());
        assert!(last.iter().any(|t| t.bytes == footer.as_bytes()));
    }

    #[test]
    fn any_text_stays_on_the_page() {
        let mut document = document(2);
        let long = "Wolfeschlegelsteinhausenbergerdorff ".repeat(40);
        document.title = long.clone();
        document.address = vec![long.clone(), "x".repeat(5000)];
        document.rows[0][ITEM_COLUMN] = long.clone();
        document.rows[1][ITEM_COLUMN] = "\u{1F600}".repeat(300);
        document.vat_note = long;
        for page in lay_out(&document) {
            assert!(inside(&page));
        }
        let pdf = render(&document);
        assert!(pdf.starts_with(b"%PDF-"));
    }
}
