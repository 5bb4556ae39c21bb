//! Container products: a product that also has prices per MB of memory and of storage, so
//! that a container's order costs what its resources cost.
//!
//! A container's recurring price for a period is the product's own price for that period
//! (a base fee, possibly zero) plus memory MB × the memory price plus storage MB × the
//! storage price, rounded to cents once.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::money::{parse_unit_price, round_money};
use super::period::{ProductPricing, RecurringPeriod, ResourcePrice};
use crate::ValidationError;

/// The resources a container order is priced from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerSize {
    /// Memory limit, MB.
    pub memory: i64,
    /// Storage quota, MB.
    pub storage: i64,
}

/// A resource price as a client sends it: `(period, memory price per MB, storage price per
/// MB)`.
pub type ResourcePriceRow = (String, String, String);

/// A change to a product's pricing, as text a client sent; `None` keeps what is there.
#[derive(Debug, Clone, Copy, Default)]
pub struct PricingEdit<'a> {
    /// A new one-time price.
    pub one_time_price: Option<&'a str>,
    /// New `(period, price)` pairs, replacing all the current ones.
    pub prices: Option<&'a [(String, String)]>,
    /// New `(period, memory per MB, storage per MB)` rows; `Some(None)` removes them, so the
    /// product stops pricing containers.
    pub resource_prices: Option<Option<&'a [ResourcePriceRow]>>,
}

impl ProductPricing {
    /// The pricing after `edit`: what it does not change is kept, and the whole is
    /// validated again (new periods need their resource prices, for one).
    pub fn edited(&self, edit: &PricingEdit<'_>) -> Result<Self, ValidationError> {
        let one_time = edit
            .one_time_price
            .map(str::to_owned)
            .unwrap_or_else(|| self.one_time_price.to_string());
        let prices = match edit.prices {
            Some(given) => given.to_vec(),
            None => self
                .prices
                .iter()
                .map(|p| (p.period.to_string(), p.price.to_string()))
                .collect(),
        };
        let resources = match edit.resource_prices {
            Some(given) => given.map(<[_]>::to_vec).unwrap_or_default(),
            None => self
                .resource_prices
                .iter()
                .map(|r| {
                    (
                        r.period.to_string(),
                        r.memory_mb.to_string(),
                        r.storage_mb.to_string(),
                    )
                })
                .collect(),
        };
        let pricing = ProductPricing::parse(&one_time, &prices)?;
        if resources.is_empty() {
            return Ok(pricing);
        }
        pricing.with_resource_prices(&resources)
    }

    /// Makes the product a container product: `rows` are `(period, memory price per MB,
    /// storage price per MB)`, unit prices with at most six decimals, one row for each of the
    /// product's recurring periods and for no other period.
    pub fn with_resource_prices(
        mut self,
        rows: &[ResourcePriceRow],
    ) -> Result<Self, ValidationError> {
        let mut parsed: Vec<ResourcePrice> = Vec::with_capacity(rows.len());
        for (period, memory_mb, storage_mb) in rows {
            let period: RecurringPeriod = period.parse()?;
            if !self.prices.iter().any(|p| p.period == period) || !period.is_recurring() {
                return Err(ValidationError::new(
                    "resource_prices",
                    format!("period {period} is not one of the product's recurring periods"),
                ));
            }
            if parsed.iter().any(|p| p.period == period) {
                return Err(ValidationError::new(
                    "resource_prices",
                    format!("period {period} is listed twice"),
                ));
            }
            parsed.push(ResourcePrice {
                period,
                memory_mb: parse_unit_price("resource_prices", memory_mb)?,
                storage_mb: parse_unit_price("resource_prices", storage_mb)?,
            });
        }
        if let Some(missing) = self
            .prices
            .iter()
            .find(|p| p.period.is_recurring() && !parsed.iter().any(|r| r.period == p.period))
        {
            return Err(ValidationError::new(
                "resource_prices",
                format!(
                    "period {} needs its memory and storage prices",
                    missing.period
                ),
            ));
        }
        if parsed.is_empty() {
            return Err(ValidationError::new(
                "resource_prices",
                "a container product needs prices for at least one recurring period",
            ));
        }
        self.resource_prices = parsed;
        Ok(self)
    }

    /// Whether the product prices containers by their resources.
    pub fn prices_containers(&self) -> bool {
        !self.resource_prices.is_empty()
    }

    /// The period a container is ordered for when none is asked: the product's first
    /// recurring period.
    pub fn default_container_period(&self) -> Option<RecurringPeriod> {
        self.resource_prices.first().map(|r| r.period)
    }

    /// The recurring price of a container of `size` for `period`: the product's price for
    /// the period plus its resources at the per-MB prices, rounded to cents.
    pub fn container_price(
        &self,
        period: RecurringPeriod,
        size: ContainerSize,
    ) -> Result<Decimal, ValidationError> {
        let base = self.price_for(period)?;
        let unit = self
            .resource_prices
            .iter()
            .find(|r| r.period == period)
            .ok_or_else(|| {
                ValidationError::new("period", format!("containers are not sold for {period}"))
            })?;
        Ok(round_money(
            base + Decimal::from(size.memory) * unit.memory_mb
                + Decimal::from(size.storage) * unit.storage_mb,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container_product() -> ProductPricing {
        ProductPricing::parse(
            "0",
            &[("30d".into(), "2.00".into()), ("365d".into(), "20".into())],
        )
        .expect("valid")
        .with_resource_prices(&[
            ("30d".into(), "0.01".into(), "0.0005".into()),
            ("365d".into(), "0.1".into(), "0.005".into()),
        ])
        .expect("valid")
    }

    #[test]
    fn a_container_costs_its_base_fee_plus_its_resources_rounded_once() {
        let pricing = container_product();
        let size = ContainerSize {
            memory: 512,
            storage: 10_240,
        };
        // 2.00 + 512 × 0.01 + 10 240 × 0.0005 = 2.00 + 5.12 + 5.12
        assert_eq!(
            pricing
                .container_price(RecurringPeriod::Month, size)
                .expect("priced")
                .to_string(),
            "12.24"
        );
        // 0.0005 × 1 = 0.0005 → rounds to 0.00 only at the end: 2.00 + 0.01 + 0.0005
        let tiny = ContainerSize {
            memory: 1,
            storage: 1,
        };
        assert_eq!(
            pricing
                .container_price(RecurringPeriod::Month, tiny)
                .expect("priced")
                .to_string(),
            "2.01"
        );
        assert_eq!(
            pricing.default_container_period(),
            Some(RecurringPeriod::Month)
        );
        assert!(pricing.container_price(RecurringPeriod::Day, size).is_err());
    }

    #[test]
    fn an_edit_keeps_what_it_does_not_change() {
        let pricing = container_product();
        let cheaper = [("30d".to_owned(), "1.00".to_owned())];
        let too_few = pricing
            .edited(&PricingEdit {
                prices: Some(&cheaper),
                ..PricingEdit::default()
            })
            .expect_err("365d still has resource prices but is no longer sold");
        assert_eq!(too_few.field, "resource_prices");
        let one_time = pricing
            .edited(&PricingEdit {
                one_time_price: Some("5"),
                ..PricingEdit::default()
            })
            .expect("valid");
        assert_eq!(one_time.one_time_price, Decimal::new(5, 0));
        assert_eq!(one_time.prices, pricing.prices);
        assert_eq!(one_time.resource_prices, pricing.resource_prices);
        let plain = pricing
            .edited(&PricingEdit {
                resource_prices: Some(None),
                ..PricingEdit::default()
            })
            .expect("valid");
        assert!(!plain.prices_containers());
        assert_eq!(plain.prices, pricing.prices);
    }

    #[test]
    fn resource_prices_must_cover_exactly_the_recurring_periods() {
        let base = ProductPricing::parse(
            "0",
            &[("30d".into(), "2".into()), ("365d".into(), "20".into())],
        )
        .expect("valid");
        assert!(!base.prices_containers());
        let missing = base
            .clone()
            .with_resource_prices(&[("30d".into(), "0.01".into(), "0.001".into())])
            .expect_err("365d is missing");
        assert_eq!(
            missing.message,
            "period 365d needs its memory and storage prices"
        );
        let foreign = base
            .clone()
            .with_resource_prices(&[("day".into(), "0.01".into(), "0.001".into())])
            .expect_err("day is not sold");
        assert_eq!(foreign.field, "resource_prices");
        let negative = base
            .with_resource_prices(&[
                ("30d".into(), "-0.01".into(), "0.001".into()),
                ("365d".into(), "0.1".into(), "0.01".into()),
            ])
            .expect_err("negative");
        assert_eq!(negative.field, "resource_prices");
    }
}
