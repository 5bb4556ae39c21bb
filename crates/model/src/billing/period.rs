//! Recurring periods and product pricing: a price per period and, for a product that prices
//! containers, a price per MB of memory and of storage per period (set in `resources`).

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::money::parse_money;
use crate::{text, ValidationError};

/// How often an order's recurring price is charged: a fixed number of seconds (spec §3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecurringPeriod {
    /// Charged once, never again.
    OneTime,
    /// 365 days.
    Year,
    /// 30 days.
    Month,
    /// 7 days.
    Week,
    /// 24 hours.
    Day,
    /// 3600 seconds.
    Hour,
    /// One second.
    Second,
}

impl RecurringPeriod {
    /// Every period, longest first, one-time last.
    pub const ALL: [RecurringPeriod; 7] = [
        RecurringPeriod::Year,
        RecurringPeriod::Month,
        RecurringPeriod::Week,
        RecurringPeriod::Day,
        RecurringPeriod::Hour,
        RecurringPeriod::Second,
        RecurringPeriod::OneTime,
    ];

    /// The period's length in seconds; 0 for one-time.
    pub fn seconds(self) -> i64 {
        match self {
            RecurringPeriod::OneTime => 0,
            RecurringPeriod::Year => 365 * 86_400,
            RecurringPeriod::Month => 30 * 86_400,
            RecurringPeriod::Week => 7 * 86_400,
            RecurringPeriod::Day => 86_400,
            RecurringPeriod::Hour => 3_600,
            RecurringPeriod::Second => 1,
        }
    }

    /// Whether the period recurs (anything but one-time).
    pub fn is_recurring(self) -> bool {
        self != RecurringPeriod::OneTime
    }

    /// The name clients send and receive: `one-time`, `365d`, `30d`, `week`, `day`, `hour`,
    /// `second`.
    pub fn as_str(self) -> &'static str {
        match self {
            RecurringPeriod::OneTime => "one-time",
            RecurringPeriod::Year => "365d",
            RecurringPeriod::Month => "30d",
            RecurringPeriod::Week => "week",
            RecurringPeriod::Day => "day",
            RecurringPeriod::Hour => "hour",
            RecurringPeriod::Second => "second",
        }
    }
}

impl fmt::Display for RecurringPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RecurringPeriod {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RecurringPeriod::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                ValidationError::new(
                    "period",
                    "must be one of one-time, 365d, 30d, week, day, hour, second",
                )
            })
    }
}

impl Serialize for RecurringPeriod {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RecurringPeriod {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Checks a product's name: one line, 1 to 100 characters.
pub fn product_name(name: &str) -> Result<String, ValidationError> {
    text::required_line("name", name, 100)
}

/// The recurring price a product charges for one of its allowed periods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodPrice {
    /// The period.
    pub period: RecurringPeriod,
    /// The price per period; zero for a one-time period.
    pub price: Decimal,
}

/// What one MB of a container's memory and of its storage cost per period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourcePrice {
    /// The period these prices are for; one of the product's recurring periods.
    pub period: RecurringPeriod,
    /// Price of one MB of memory per period.
    pub memory_mb: Decimal,
    /// Price of one MB of storage per period.
    pub storage_mb: Decimal,
}

/// What a product costs: a one-time price and a recurring price for each allowed period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductPricing {
    /// Charged once, on the bill of the month the order starts.
    pub one_time_price: Decimal,
    /// The allowed periods with their recurring price, at least one, each period once.
    pub prices: Vec<PeriodPrice>,
    /// Prices per MB of memory and storage, one for each recurring period; empty unless the
    /// product prices containers ([`ProductPricing::with_resource_prices`]).
    #[serde(default)]
    pub resource_prices: Vec<ResourcePrice>,
}

impl ProductPricing {
    /// Validates a pricing sent as text: money as decimal strings with at most two
    /// decimals, at least one period, no period twice, no price for a one-time period.
    pub fn parse(
        one_time_price: &str,
        prices: &[(String, String)],
    ) -> Result<Self, ValidationError> {
        let one_time_price = parse_money("one_time_price", one_time_price)?;
        if prices.is_empty() {
            return Err(ValidationError::new(
                "prices",
                "a product needs at least one period",
            ));
        }
        let mut parsed: Vec<PeriodPrice> = Vec::with_capacity(prices.len());
        for (period, price) in prices {
            let period: RecurringPeriod = period.parse()?;
            let price = parse_money("prices", price)?;
            if parsed.iter().any(|p| p.period == period) {
                return Err(ValidationError::new(
                    "prices",
                    format!("period {period} is listed twice"),
                ));
            }
            if !period.is_recurring() && !price.is_zero() {
                return Err(ValidationError::new(
                    "prices",
                    "a one-time period has no recurring price; use one_time_price",
                ));
            }
            parsed.push(PeriodPrice { period, price });
        }
        Ok(ProductPricing {
            one_time_price,
            prices: parsed,
            resource_prices: Vec::new(),
        })
    }

    /// The first recurring period the product is sold for, the one an order placed on the
    /// customer's behalf (a VPN network's) runs for.
    pub fn first_recurring_period(&self) -> Option<RecurringPeriod> {
        self.prices
            .iter()
            .map(|p| p.period)
            .find(|p| p.is_recurring())
    }

    /// The recurring price for `period`, or an error naming the allowed periods.
    pub fn price_for(&self, period: RecurringPeriod) -> Result<Decimal, ValidationError> {
        self.prices
            .iter()
            .find(|p| p.period == period)
            .map(|p| p.price)
            .ok_or_else(|| {
                let allowed: Vec<&str> = self.prices.iter().map(|p| p.period.as_str()).collect();
                ValidationError::new(
                    "period",
                    format!("this product is sold for {}", allowed.join(", ")),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_round_trip_and_have_the_spec_lengths() {
        for period in RecurringPeriod::ALL {
            assert_eq!(period.as_str().parse::<RecurringPeriod>(), Ok(period));
        }
        assert_eq!(RecurringPeriod::Month.seconds(), 2_592_000);
        assert_eq!(RecurringPeriod::Year.seconds(), 31_536_000);
        assert_eq!(RecurringPeriod::OneTime.seconds(), 0);
        assert!("month".parse::<RecurringPeriod>().is_err());
    }

    #[test]
    fn pricing_rejects_duplicates_and_unknown_periods() {
        let ok = ProductPricing::parse("35", &[("30d".into(), "10.00".into())]).expect("valid");
        assert_eq!(
            ok.price_for(RecurringPeriod::Month).expect("valid"),
            Decimal::new(10, 0)
        );
        assert_eq!(
            ok.price_for(RecurringPeriod::Day)
                .expect_err("refused")
                .message,
            "this product is sold for 30d"
        );
        let twice = [("30d".into(), "1".into()), ("30d".into(), "2".into())];
        assert!(ProductPricing::parse("0", &twice).is_err());
        assert!(ProductPricing::parse("0", &[]).is_err());
        assert!(ProductPricing::parse("0", &[("one-time".into(), "3".into())]).is_err());
        let once = [
            ("one-time".into(), "0".into()),
            ("365d".into(), "120".into()),
        ];
        let pricing = ProductPricing::parse("0", &once).expect("valid");
        assert_eq!(
            pricing.first_recurring_period(),
            Some(RecurringPeriod::Year)
        );
    }
}
