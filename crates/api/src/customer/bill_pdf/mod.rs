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

mod glyphs;

use glyphs::{encode, width, wrap};

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
