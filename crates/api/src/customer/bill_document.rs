//! A bill as a document: the lines its printable page (`/v1/my/bills/<id>/html`) and its PDF
//! (`/v1/my/bills/<id>/pdf`) both show, worded once here. [`BillDocument::html`] renders the
//! page; [`crate::customer::bill_pdf::render`] the PDF.

use berth_model::billing::{utc_text, BillRecordLine, BillingAddress, Decimal};
use berth_store::bills::Bill;

/// The headings of the records table, one per column of [`BillDocument::rows`].
pub const COLUMNS: [&str; 7] = ["order", "item", "from", "to", "quantity", "price", "sum"];

/// The column of [`COLUMNS`] that holds the item, the one free text of a row.
pub const ITEM_COLUMN: usize = 1;

/// What a bill shows, as text, in the order it shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillDocument {
    /// The bill's id.
    pub id: i64,
    /// `Bill <id>`, followed by ` (preliminary)` while the bill is open.
    pub title: String,
    /// `<first second> to <last second>`, in UTC.
    pub period: String,
    /// The billing address, a line each: name, street, postal code and city, country, and
    /// `VAT number <number>` for a business; empty if the address is unknown.
    pub address: Vec<String>,
    /// The records, one row of [`COLUMNS`] each.
    pub rows: Vec<[String; 7]>,
    /// The net total.
    pub net: String,
    /// `VAT <rate> %`.
    pub vat_label: String,
    /// The VAT amount.
    pub vat: String,
    /// The gross total.
    pub gross: String,
    /// Why this VAT (the reverse charge, a consumer's country, …).
    pub vat_note: String,
}

/// What a record bills: `<product>, recurring` or `<product>, one-time`, or only the kind
/// when the product's name is unknown.
fn item(record: &BillRecordLine, product: Option<&str>) -> String {
    let kind = if record.is_recurring {
        "recurring"
    } else {
        "one-time"
    };
    match product {
        Some(product) => format!("{product}, {kind}"),
        None => kind.to_owned(),
    }
}

impl BillDocument {
    /// The document of `bill`, billed to `address` (`None`: not known, no address shown).
    pub fn new(bill: &Bill, address: Option<&BillingAddress>) -> BillDocument {
        let address = address
            .map(|a| {
                let mut lines = vec![
                    a.name.clone(),
                    a.street.clone(),
                    format!("{} {}", a.postal_code, a.city),
                    a.country.clone(),
                ];
                if let Some(number) = &a.vat_number {
                    lines.push(format!("VAT number {number}"));
                }
                lines
            })
            .unwrap_or_default();
        let rows = bill
            .records
            .iter()
            .map(|r| {
                [
                    r.order_id.to_string(),
                    item(r, bill.products.get(&r.order_id).map(String::as_str)),
                    utc_text(r.starts_at),
                    utc_text(r.ends_at),
                    r.quantity.to_string(),
                    r.price.to_string(),
                    r.sum.to_string(),
                ]
            })
            .collect();
        let percent = (bill.totals.vat_rate * Decimal::ONE_HUNDRED).normalize();
        BillDocument {
            id: bill.id,
            title: format!(
                "Bill {}{}",
                bill.id,
                if bill.is_final { "" } else { " (preliminary)" }
            ),
            period: format!(
                "{} to {}",
                utc_text(bill.window.starts_at),
                utc_text(bill.window.ends_at)
            ),
            address,
            rows,
            net: bill.totals.net.to_string(),
            vat_label: format!("VAT {percent} %"),
            vat: bill.totals.vat.to_string(),
            gross: bill.totals.gross.to_string(),
            vat_note: bill.vat_note.clone(),
        }
    }

    /// The document as a printable HTML page.
    pub fn html(&self) -> String {
        let mut page = format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Bill {}</title></head>\
             <body>\n<h1>{}</h1>\n<p>{}</p>\n",
            self.id,
            escape(&self.title),
            escape(&self.period),
        );
        if !self.address.is_empty() {
            let lines: Vec<String> = self.address.iter().map(|l| escape(l)).collect();
            page.push_str(&format!("<address>{}</address>\n", lines.join("<br>")));
        }
        page.push_str("<table>\n");
        page.push_str(&html_row("th", COLUMNS.iter().copied()));
        for row in &self.rows {
            page.push_str(&html_row("td", row.iter().map(String::as_str)));
        }
        page.push_str(&format!(
            "</table>\n<p>Net {}<br>{}: {}<br><strong>Total {}</strong></p>\n\
             <p>{}</p>\n</body></html>\n",
            escape(&self.net),
            escape(&self.vat_label),
            escape(&self.vat),
            escape(&self.gross),
            escape(&self.vat_note),
        ));
        page
    }
}

/// A table row of `cells`, each in a `<cell>` element.
fn html_row<'a>(cell: &str, cells: impl Iterator<Item = &'a str>) -> String {
    let mut row = String::from("<tr>");
    for text in cells {
        row.push_str(&format!("<{cell}>{}</{cell}>", escape(text)));
    }
    row.push_str("</tr>\n");
    row
}

/// `text` with the characters HTML gives a meaning to escaped.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}
