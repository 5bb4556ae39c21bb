//! VAT: billing addresses, the rates file of spec §6.3 and which rate a bill gets.

use rust_decimal::Decimal;
use serde::Serialize;
use time::{Date, Month};

use crate::{text, ValidationError};

/// The member states of the European Union, ISO 3166 codes (Greece also as `EL`, as VAT
/// numbers spell it).
pub const EU_COUNTRIES: [&str; 28] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "EL", "ES", "FI", "FR", "GR", "HR", "HU", "IE",
    "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

/// Where a customer's bills go; its country and VAT number decide the VAT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BillingAddress {
    /// The person or company billed.
    pub name: String,
    /// Street and number.
    pub street: String,
    /// Postal code.
    pub postal_code: String,
    /// City.
    pub city: String,
    /// ISO 3166-1 alpha-2 country code, upper case.
    pub country: String,
    /// A business's VAT number; `None` for a consumer.
    pub vat_number: Option<String>,
}

impl BillingAddress {
    /// Validates an address sent by a client: every field present and printable, the
    /// country two letters (upper-cased), the VAT number letters and digits if present.
    pub fn new(
        name: &str,
        street: &str,
        postal_code: &str,
        city: &str,
        country: &str,
        vat_number: Option<&str>,
    ) -> Result<Self, ValidationError> {
        let country = country.trim().to_ascii_uppercase();
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(ValidationError::new(
                "country",
                "must be a two-letter country code such as CH or DE",
            ));
        }
        let vat_number = match vat_number.map(str::trim).filter(|v| !v.is_empty()) {
            None => None,
            Some(v) => {
                let v: String = v.chars().filter(|c| !c.is_whitespace()).collect();
                if v.len() > 20 || !v.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err(ValidationError::new(
                        "vat_number",
                        "must be letters and digits, at most 20",
                    ));
                }
                Some(v.to_ascii_uppercase())
            }
        };
        Ok(BillingAddress {
            name: text::required_line("name", name, 200)?,
            street: text::required_line("street", street, 200)?,
            postal_code: text::required_line("postal_code", postal_code, 20)?,
            city: text::required_line("city", city, 100)?,
            country,
            vat_number,
        })
    }
}

/// One row of the vat-rates file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VatRateRow {
    /// The first day the rate applies, as unix time of its midnight UTC.
    pub starts_at: i64,
    /// The first day it no longer applies; `None` for the current rate.
    pub stops_at: Option<i64>,
    /// The territories it applies to (a row may list several).
    pub territories: Vec<String>,
    /// The currency code, e.g. CHF (empty in the older 5-column format).
    pub currency: String,
    /// The rate, a fraction: 0.081 is 8.1 %.
    pub rate: Decimal,
    /// The rate's type, e.g. `standard`.
    pub rate_type: String,
    /// Free text.
    pub description: String,
}

/// The standard rate for `territory` valid at `at` (start ≤ at < stop), if any.
pub fn rate_at(rows: &[VatRateRow], territory: &str, at: i64) -> Option<Decimal> {
    rows.iter()
        .filter(|r| r.rate_type == "standard" && r.territories.iter().any(|t| t == territory))
        .filter(|r| r.starts_at <= at && r.stops_at.is_none_or(|stop| at < stop))
        .max_by_key(|r| r.starts_at)
        .map(|r| r.rate)
}

/// The VAT a bill gets, and the note printed on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VatDecision {
    /// The rate applied to the whole bill, a fraction.
    pub rate: Decimal,
    /// Whether the customer accounts for VAT themselves (EU business with a VAT number).
    pub reverse_charge: bool,
    /// Why this rate, in words printed on the bill.
    pub note: String,
}

/// Decides the VAT of a bill dated `at` for `address`, by the provider's country (spec §3.8):
/// the provider's country → its rate; an EU consumer → the consumer's country's rate; an EU
/// business with a VAT number → 0 % with reverse charge; anywhere else → 0 %. A country with
/// no rate in `rows` at `at` gets 0 %.
pub fn decide_vat(
    provider_country: &str,
    address: &BillingAddress,
    rows: &[VatRateRow],
    at: i64,
) -> VatDecision {
    let country = address.country.as_str();
    let rate_of = |territory: &str| rate_at(rows, territory, at).unwrap_or(Decimal::ZERO);
    if country == provider_country {
        return VatDecision {
            rate: rate_of(country),
            reverse_charge: false,
            note: format!("VAT of {country}"),
        };
    }
    if !EU_COUNTRIES.contains(&country) {
        return VatDecision {
            rate: Decimal::ZERO,
            reverse_charge: false,
            note: format!("No VAT: {country} is outside {provider_country} and the EU"),
        };
    }
    match &address.vat_number {
        Some(number) => VatDecision {
            rate: Decimal::ZERO,
            reverse_charge: true,
            note: format!("Reverse charge: VAT to be accounted for by the recipient ({number})"),
        },
        None => VatDecision {
            rate: rate_of(country),
            reverse_charge: false,
            note: format!("VAT of {country} (EU consumer)"),
        },
    }
}

/// Splits CSV text into records of fields (RFC 4180: quoted fields may hold commas,
/// newlines and doubled quotes), each with the line it starts on.
fn csv_records(text: &str) -> Result<Vec<(usize, Vec<String>)>, ValidationError> {
    let mut records = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut line = 1;
    let mut record_line = 1;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
            }
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => fields.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                fields.push(std::mem::take(&mut field));
                records.push((record_line, std::mem::take(&mut fields)));
                line += 1;
                record_line = line;
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err(ValidationError::new(
            format!("line {record_line}"),
            "a quoted field is not closed",
        ));
    }
    if !field.is_empty() || !fields.is_empty() {
        fields.push(field);
        records.push((record_line, fields));
    }
    Ok(records)
}

/// Parses a day `YYYY-MM-DD` (anything after the tenth character, such as a time of day in
/// the older CSV format, is ignored) into the unix time of its midnight UTC.
pub fn parse_day(field: &str, text: &str) -> Result<i64, ValidationError> {
    let bad = || ValidationError::new(field, format!("{text:?} is not a date YYYY-MM-DD"));
    let day = text.get(..10).ok_or_else(bad)?;
    let mut parts = day.split('-').map(|p| p.parse::<i32>().map_err(|_| bad()));
    let (year, month, day) = (
        parts.next().ok_or_else(bad)??,
        parts.next().ok_or_else(bad)??,
        parts.next().ok_or_else(bad)??,
    );
    let month = Month::try_from(u8::try_from(month).map_err(|_| bad())?).map_err(|_| bad())?;
    let date = Date::from_calendar_date(year, month, u8::try_from(day).map_err(|_| bad())?)
        .map_err(|_| bad())?;
    Ok(date.midnight().assume_utc().unix_timestamp())
}

/// Parses the vat-rates CSV (spec §6.3): the 7-column format `start_date, stop_date,
/// territory_codes, currency_code, rate, rate_type, description` or the older 5-column
/// `start_date, stop_date, territory_codes, standard_rate, description`, told apart by the
/// header. Territory lists may span lines inside quotes; an empty stop date is the current
/// rate. Errors name the line.
pub fn parse_vat_csv(text: &str) -> Result<Vec<VatRateRow>, ValidationError> {
    let mut records = csv_records(text)?.into_iter();
    let (_, header) = records
        .next()
        .ok_or_else(|| ValidationError::new("csv", "the file is empty"))?;
    let header: Vec<&str> = header.iter().map(|h| h.trim()).collect();
    let seven = header.len() == 7 && header[3] == "currency_code" && header[4] == "rate";
    let five = header.len() == 5 && header[3] == "standard_rate";
    if !seven && !five {
        return Err(ValidationError::new(
            "csv",
            "the header must be start_date,stop_date,territory_codes,currency_code,rate,\
             rate_type,description (or the older 5-column format)",
        ));
    }
    let mut rows = Vec::new();
    for (line, fields) in records {
        if fields.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let at = format!("line {line}");
        if fields.len() != header.len() {
            return Err(ValidationError::new(
                at,
                format!("has {} columns, not {}", fields.len(), header.len()),
            ));
        }
        let f = |i: usize| fields[i].trim();
        let territories: Vec<String> = f(2)
            .split(['\n', ' '])
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        if territories.is_empty() {
            return Err(ValidationError::new(at, "has no territory code"));
        }
        let rate_text = if seven { f(4) } else { f(3) };
        let rate: Decimal = rate_text
            .parse()
            .ok()
            .filter(|r: &Decimal| !r.is_sign_negative() && *r < Decimal::ONE)
            .ok_or_else(|| {
                ValidationError::new(at.clone(), format!("rate {rate_text:?} is not a fraction"))
            })?;
        let stops_at = match f(1) {
            "" => None,
            stop => Some(parse_day(&at, stop)?),
        };
        rows.push(VatRateRow {
            starts_at: parse_day(&at, f(0))?,
            stops_at,
            territories,
            currency: if seven {
                f(3).to_owned()
            } else {
                String::new()
            },
            rate,
            rate_type: if seven {
                f(5).to_owned()
            } else {
                "standard".to_owned()
            },
            description: f(header.len() - 1).to_owned(),
        });
    }
    Ok(rows)
}

/// The provider's country, which decides VAT (spec §3.8): `CH` unless configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderCountry(pub String);

impl Default for ProviderCountry {
    fn default() -> Self {
        ProviderCountry("CH".to_owned())
    }
}

impl ProviderCountry {
    /// Validates a configured country code: two letters, upper-cased.
    pub fn parse(code: &str) -> Result<Self, ValidationError> {
        let code = code.trim().to_ascii_uppercase();
        if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(ValidationError::new(
                "provider_country",
                "must be two letters such as CH",
            ));
        }
        Ok(ProviderCountry(code))
    }
}
