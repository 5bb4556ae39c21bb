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
    parse_amount(field, text, 2, "must be an amount like 10 or 10.50")
}

fn parse_amount(
    field: &str,
    text: &str,
    decimals: u32,
    shape: &str,
) -> Result<Decimal, ValidationError> {
    let bad = || ValidationError::new(field, shape);
    let text = text.trim();
    if text.is_empty() || !text.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(bad());
    }
    let amount: Decimal = text.parse().map_err(|_| bad())?;
    if amount.scale() > decimals {
        const WORDS: [&str; 7] = ["no", "one", "two", "three", "four", "five", "six"];
        let count = WORDS.get(decimals as usize).copied().unwrap_or("six");
        return Err(ValidationError::new(
            field,
            format!("has more than {count} decimals"),
        ));
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

/// Parses a unit price sent by a client, such as a price per MB: a plain decimal string,
/// not negative, at most six decimals, below one billion. What it multiplies is rounded to
/// cents by [`round_money`].
pub fn parse_unit_price(field: &str, text: &str) -> Result<Decimal, ValidationError> {
    parse_amount(field, text, 6, "must be an amount like 0.01 or 0.0025")
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
            parse_money("p", "1.001").expect_err("refused").message,
            "has more than two decimals"
        );
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

    #[test]
    fn unit_prices_take_six_decimals() {
        assert_eq!(
            parse_unit_price("p", "0.0025").expect("valid").to_string(),
            "0.0025"
        );
        for bad in ["", "-0.01", "0.0000001", "x", "1000000000"] {
            assert!(parse_unit_price("p", bad).is_err(), "{bad}");
        }
    }
}
