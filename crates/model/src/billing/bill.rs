//! Bills: calendar-month windows, records per order, totals with VAT.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use time::{Date, OffsetDateTime};

use super::money::round_money;
use super::order::OrderTerms;
use super::vat::VatDecision;
use crate::ValidationError;

/// The last second billing accepts: 9999-12-31 23:59:59 UTC.
const LAST_SECOND: i64 = 253_402_300_799;

/// How far ahead of now bills may be generated: a year and a day.
const MAX_BILLING_AHEAD: i64 = 366 * 86_400;

/// Checks a time sent for billing (an order's start, the moment of a change): unix seconds
/// from 1970 to the end of year 9999.
pub fn billing_time(field: &str, unix: i64) -> Result<i64, ValidationError> {
    if !(0..=LAST_SECOND).contains(&unix) {
        return Err(ValidationError::new(
            field,
            "must be a unix time between 1970 and 9999",
        ));
    }
    Ok(unix)
}

/// Checks how far a bill generation reaches: a billing time at most a year after `now`.
pub fn bill_until(until: i64, now: i64) -> Result<i64, ValidationError> {
    let until = billing_time("until", until)?;
    if until > now.saturating_add(MAX_BILLING_AHEAD) {
        return Err(ValidationError::new(
            "until",
            "must be at most a year from now",
        ));
    }
    Ok(until)
}

/// The seconds one bill covers, both ends inclusive, never crossing a calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BillWindow {
    /// The first second billed.
    pub starts_at: i64,
    /// The last second billed.
    pub ends_at: i64,
}

impl BillWindow {
    /// Whether the window reaches the last second of its month, 23:59:59 UTC on the last day.
    pub fn reaches_month_end(&self) -> bool {
        month_end(self.starts_at) == self.ends_at
    }
}

fn date_of(unix: i64) -> Date {
    OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| t.date())
        .unwrap_or(Date::MIN)
}

fn midnight(date: Date) -> i64 {
    date.midnight().assume_utc().unix_timestamp()
}

/// A unix time as people read it on a bill: `2020-01-31 23:59:59 UTC`.
pub fn utc_text(unix: i64) -> String {
    match OffsetDateTime::from_unix_timestamp(unix) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => format!("{unix} (unix time)"),
    }
}

/// The first second of the calendar month holding `unix`: the 1st at 00:00:00 UTC.
pub fn month_start(unix: i64) -> i64 {
    midnight(date_of(unix).replace_day(1).unwrap_or(Date::MIN))
}

/// The last second of the calendar month holding `unix`: the last day at 23:59:59 UTC.
pub fn month_end(unix: i64) -> i64 {
    let date = date_of(unix);
    let (year, month) = match date.month().next() {
        time::Month::January => (date.year() + 1, time::Month::January),
        next => (date.year(), next),
    };
    Date::from_calendar_date(year, month, 1)
        .map(midnight)
        .unwrap_or(i64::MAX)
        - 1
}

/// The windows of the bills that cover `from` to `until`, both inclusive: one per calendar
/// month, the first starting at `from`, the last ending at `until`. Empty when `until < from`.
/// `from` is the second after the last final bill, or the start of the month of the
/// earliest order for a first bill.
pub fn bill_windows(from: i64, until: i64) -> Vec<BillWindow> {
    let mut windows = Vec::new();
    let mut starts_at = from;
    while starts_at <= until {
        let ends_at = month_end(starts_at).min(until);
        windows.push(BillWindow { starts_at, ends_at });
        starts_at = ends_at + 1;
    }
    windows
}

/// One line of a bill: the one-time price of an order, or the seconds of its recurring
/// service that fall in the bill's window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BillRecordLine {
    /// The order billed.
    pub order_id: i64,
    /// Whether this is the recurring part (or the one-time price).
    pub is_recurring: bool,
    /// The first second billed (the order's start for a one-time record).
    pub starts_at: i64,
    /// The last second billed, inclusive (the order's start for a one-time record).
    pub ends_at: i64,
    /// The seconds billed; 0 for a one-time record.
    pub seconds: i64,
    /// Units billed: billed seconds over the period's seconds, shown to 6 decimals; 1 for a
    /// one-time record.
    pub quantity: Decimal,
    /// The price of one unit.
    pub price: Decimal,
    /// price × seconds ÷ period seconds, rounded to cents once.
    pub sum: Decimal,
}

/// The records of the orders `(id, terms)` that fall in `window`, in the order given.
pub fn bill_records(orders: &[(i64, OrderTerms)], window: BillWindow) -> Vec<BillRecordLine> {
    let mut records = Vec::new();
    for (order_id, order) in orders {
        let runs = order.ends_at.is_none_or(|end| end >= order.starts_at);
        let holds_start = window.starts_at <= order.starts_at && order.starts_at <= window.ends_at;
        let one_time = !order.one_time_price.is_zero() || !order.period.is_recurring();
        if runs && holds_start && one_time {
            records.push(BillRecordLine {
                order_id: *order_id,
                is_recurring: false,
                starts_at: order.starts_at,
                ends_at: order.starts_at,
                seconds: 0,
                quantity: Decimal::ONE,
                price: order.one_time_price,
                sum: round_money(order.one_time_price),
            });
        }
        let period = order.period.seconds();
        if period == 0 {
            continue;
        }
        let starts_at = order.starts_at.max(window.starts_at);
        let ends_at = order.ends_at.unwrap_or(i64::MAX).min(window.ends_at);
        if ends_at < starts_at {
            continue;
        }
        let seconds = ends_at - starts_at + 1;
        let period = Decimal::from(period);
        let quantity = (Decimal::from(seconds) / period)
            .round_dp_with_strategy(6, RoundingStrategy::MidpointAwayFromZero)
            .normalize();
        records.push(BillRecordLine {
            order_id: *order_id,
            is_recurring: true,
            starts_at,
            ends_at,
            seconds,
            quantity,
            price: order.recurring_price,
            sum: round_money(order.recurring_price * Decimal::from(seconds) / period),
        });
    }
    records
}

/// What a bill adds up to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BillTotals {
    /// Σ record sums.
    pub net: Decimal,
    /// The VAT rate applied to the whole bill, a fraction (0.081 = 8.1 %).
    pub vat_rate: Decimal,
    /// net × rate, rounded to cents once.
    pub vat: Decimal,
    /// net + vat: what the customer owes.
    pub gross: Decimal,
}

impl BillTotals {
    /// Adds up `records` and applies `vat`.
    pub fn of(records: &[BillRecordLine], vat: &VatDecision) -> Self {
        let net = round_money(records.iter().map(|r| r.sum).sum());
        let amount = round_money(net * vat.rate);
        BillTotals {
            net,
            vat_rate: vat.rate,
            vat: amount,
            gross: net + amount,
        }
    }
}
