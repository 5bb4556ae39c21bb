//! Closed bills are final: nothing may change what they billed. An order, a replacement or
//! a cancellation whose effect falls at or before the last second of an address's last
//! closed bill is refused, naming that bill, rather than left unbilled (a start inside the
//! closed window) or billed twice (an end moved into it).

use std::fmt;

use super::bill::utc_text;

/// The last closed (final) bill of a billing address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClosedBill {
    /// The bill's id.
    pub id: i64,
    /// Its first second.
    pub starts_at: i64,
    /// Its last second: everything up to it is billed for good.
    pub ends_at: i64,
}

/// A change that would reach into a closed bill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReachesClosedBill {
    /// The bill it would change.
    pub bill: ClosedBill,
    /// What would change it, in words (`the order's start`).
    pub what: String,
    /// The second it would take effect.
    pub at: i64,
}

impl fmt::Display for ReachesClosedBill {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}) falls in bill {}, closed for {} to {}: it must be after {}",
            self.what,
            utc_text(self.at),
            self.bill.id,
            utc_text(self.bill.starts_at),
            utc_text(self.bill.ends_at),
            utc_text(self.bill.ends_at),
        )
    }
}

impl std::error::Error for ReachesClosedBill {}

/// Checks that a change first taking effect at second `at` (`what`: a start, a new end + 1)
/// leaves the closed bill `closed` as billed.
pub fn check_after_closed(
    what: &str,
    at: i64,
    closed: Option<ClosedBill>,
) -> Result<(), ReachesClosedBill> {
    match closed {
        Some(bill) if at <= bill.ends_at => Err(ReachesClosedBill {
            bill,
            what: what.to_owned(),
            at,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLOSED: ClosedBill = ClosedBill {
        id: 7,
        starts_at: 1_577_836_800,
        ends_at: 1_580_515_199,
    };

    #[test]
    fn a_change_inside_a_closed_bill_is_refused_by_name() {
        let refused = check_after_closed("the order's start", CLOSED.ends_at, Some(CLOSED))
            .expect_err("inside");
        let message = refused.to_string();
        assert!(message.contains("bill 7"), "{message}");
        assert!(message.contains("2020-01-31 23:59:59 UTC"), "{message}");
        assert!(check_after_closed("x", CLOSED.starts_at - 86_400, Some(CLOSED)).is_err());
    }

    #[test]
    fn a_change_after_the_closed_bill_or_without_one_is_fine() {
        assert_eq!(
            check_after_closed("x", CLOSED.ends_at + 1, Some(CLOSED)),
            Ok(())
        );
        assert_eq!(check_after_closed("x", 0, None), Ok(()));
    }
}
