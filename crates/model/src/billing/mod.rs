//! Billing: recurring periods, products, immutable orders and their replacement, bills made
//! of bill records, and VAT by the billing address.
//!
//! Everything here is pure arithmetic on unix seconds and [`rust_decimal::Decimal`] money,
//! so that the store, the API's previews and the admin tooling bill the same way.
//! docs/billing.md states the rules with worked examples.
//!
//! Intervals of service are *inclusive* of both ends, as in uncloud: an order replaced at
//! second `t` ends at `t - 1`, and a record covering `[from, to]` bills `to - from + 1`
//! seconds, so a whole period bills exactly one unit.

mod bill;
mod closed;
mod money;
mod order;
mod period;
mod resources;
mod vat;

#[cfg(test)]
mod tests;

pub use rust_decimal::Decimal;

pub use bill::{
    bill_records, bill_until, bill_windows, billing_time, month_end, month_start, utc_text,
    BillRecordLine, BillTotals, BillWindow,
};
pub use closed::{check_after_closed, ClosedBill, ReachesClosedBill};
pub use money::{parse_money, parse_payment_amount, parse_unit_price, round_money};
pub use order::{Change, ChangeKind, OrderTerms};
pub use period::{product_name, PeriodPrice, ProductPricing, RecurringPeriod, ResourcePrice};
pub use resources::{ContainerSize, PricingEdit, ResourcePriceRow};
pub use vat::{
    decide_vat, parse_day, parse_vat_csv, rate_at, BillingAddress, ProviderCountry, VatDecision,
    VatRateRow, EU_COUNTRIES,
};
