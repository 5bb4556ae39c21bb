//! Money: decimal strings in, two-decimal amounts out.

use rust_decimal::{Decimal, RoundingStrategy};

use crate::ValidationError;

/// The largest price berth accepts, so that no sum can overflow a decimal.
const MAX_PRICE: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0);

/// Rounds an amount to cents, halves away from zero (commercial rounding): 0.125 → 0.13,
/// and always shows two decimals: 10 → 10.00.
pub fn round_money(amount: Decimal) -> Decimal {
    let mut rounded = amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    rounded.rescale(2);
    rounded
}

/// Parses a price sent by a client: a plain decimal string, not negative, at most two
/// decimals, below one billion.
pub fn parse_money(field: &str, text: &str) -> Result<Decimal, ValidationError> {
    let bad = || ValidationError::new(field, "must be an amount like 10 or 10.50");
    let text = text.trim();
    if text.is_empty() || !text.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(bad());
    }
    let amount: Decimal = text.parse().map_err(|_| bad())?;
    if amount.scale() > 2 {
        return Err(ValidationError::new(field, "has more than two decimals"));
    }
    if amount >= MAX_PRICE {
        return Err(ValidationError::new(field, "must be below 1000000000"));
    }
    Ok(amount)
}

/// Parses the amount of a payment booked by staff: a price as [`parse_money`] reads it, and
/// above zero.
pub fn parse_payment_amount(field: &str, text: &str) -> Result<Decimal, ValidationError> {
    let amount = parse_money(field, text)?;
    if amount.is_zero() {
        return Err(ValidationError::new(field, "must be above 0"));
    }
    Ok(amount)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_rounded_half_away_from_zero() {
        assert_eq!(
            round_money("0.125".parse().expect("valid")).to_string(),
            "0.13"
        );
        assert_eq!(
            round_money("0.3333".parse().expect("valid")).to_string(),
            "0.33"
        );
    }

    #[test]
    fn money_input_is_validated() {
        assert_eq!(parse_money("p", "10.5").expect("valid").to_string(), "10.5");
        for bad in ["", "-1", "1e3", "1.001", "abc", "1.2.3", "1000000000"] {
            assert!(parse_money("p", bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_payment_amount("amount", "0.00")
                .expect_err("refused")
                .to_string(),
            "amount: must be above 0"
        );
        assert!(parse_payment_amount("amount", "1.001").is_err());
        assert_eq!(
            parse_payment_amount("amount", "0.01")
                .expect("valid")
                .to_string(),
            "0.01"
        );
    }
}
