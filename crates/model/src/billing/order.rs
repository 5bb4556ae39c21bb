//! Orders: immutable terms, cancellation at the end of the committed period, and replacement
//! by upgrade (at once) or downgrade (at the end of the committed period).

use rust_decimal::Decimal;
use serde::Serialize;

use super::period::RecurringPeriod;
use crate::ValidationError;

/// The terms of an order that billing needs. Orders are immutable except for their end,
/// which is set once, by a cancellation or a replacement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderTerms {
    /// The first second of service, unix time.
    pub starts_at: i64,
    /// The last second of service, inclusive; `None` while the order runs on.
    pub ends_at: Option<i64>,
    /// How often the recurring price is charged.
    pub period: RecurringPeriod,
    /// Charged once, on the bill whose window holds `starts_at`.
    pub one_time_price: Decimal,
    /// Charged per period, pro rata by the second.
    pub recurring_price: Decimal,
}

/// Whether a replacement is an upgrade or a downgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// The new order costs more per second: it starts at once and the old one stops.
    Upgrade,
    /// The new order costs the same or less per second: it starts when the old order's
    /// committed period ends.
    Downgrade,
}

/// The outcome of replacing an order: when the old one ends and the new one starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Upgrade or downgrade.
    pub kind: ChangeKind,
    /// The old order's last second.
    pub old_ends_at: i64,
    /// The new order's first second, always `old_ends_at + 1`.
    pub new_starts_at: i64,
}

impl OrderTerms {
    /// Whether the order was given an end already, by a cancellation or a replacement.
    pub fn has_end(&self) -> bool {
        self.ends_at.is_some()
    }

    /// The last second of the committed period running at `now`: the smallest
    /// `starts_at + k·period − 1` with k ≥ 1 that is ≥ `now − 1` (spec §3.3). An order that
    /// has not started yet is committed to its first period.
    pub fn committed_until(&self, now: i64) -> i64 {
        let period = self.period.seconds().max(1);
        let elapsed = now.saturating_sub(self.starts_at);
        let periods = if elapsed <= 0 {
            1
        } else {
            ((elapsed + period - 1) / period).max(1)
        };
        self.starts_at
            .saturating_add(periods.saturating_mul(period))
            .saturating_sub(1)
    }

    fn check_open(&self, what: &str) -> Result<(), ValidationError> {
        if !self.period.is_recurring() {
            return Err(ValidationError::new(
                "order",
                format!("a one-time order cannot be {what}"),
            ));
        }
        if self.has_end() {
            return Err(ValidationError::new(
                "order",
                format!("the order already ends; it cannot be {what}"),
            ));
        }
        Ok(())
    }

    /// The end a cancellation at `now` gives the order: the end of its committed period.
    /// An order that has not started yet ends before it starts and bills nothing.
    pub fn cancel(&self, now: i64) -> Result<i64, ValidationError> {
        self.check_open("cancelled")?;
        if now < self.starts_at {
            return Ok(self.starts_at - 1);
        }
        Ok(self.committed_until(now))
    }

    /// The recurring price per second, the measure that tells upgrades from downgrades.
    fn rate(&self) -> Decimal {
        match self.period.seconds() {
            0 => Decimal::ZERO,
            seconds => self.recurring_price / Decimal::from(seconds),
        }
    }

    /// How replacing this order at `now` with `new` works out (spec §3.4). An upgrade
    /// stops the old order at once, a downgrade at the end of its committed period; an
    /// order that has not started yet is replaced whole, at its start.
    pub fn replace(&self, new: &OrderTerms, now: i64) -> Result<Change, ValidationError> {
        self.check_open("replaced")?;
        let kind = if new.rate() > self.rate() {
            ChangeKind::Upgrade
        } else {
            ChangeKind::Downgrade
        };
        let new_starts_at = if now <= self.starts_at {
            self.starts_at
        } else {
            match kind {
                ChangeKind::Upgrade => now,
                ChangeKind::Downgrade => self.committed_until(now) + 1,
            }
        };
        Ok(Change {
            kind,
            old_ends_at: new_starts_at - 1,
            new_starts_at,
        })
    }

    /// How replacing this order at `now` with `new` works out when this order has not
    /// started yet because it replaces `running` by a downgrade that takes effect later. If
    /// `new` costs more per second than `running`, it is an upgrade over what runs now:
    /// `running` stops at once (the second value, its new and earlier end), this order never
    /// starts, and `new` starts now, so a downgrade followed by an upgrade never buys the
    /// upgrade at the old price. Otherwise it is [`OrderTerms::replace`].
    pub fn replace_pending(
        &self,
        running: &OrderTerms,
        new: &OrderTerms,
        now: i64,
    ) -> Result<(Change, Option<i64>), ValidationError> {
        let follows_running = running.ends_at == Some(self.starts_at - 1)
            && running.starts_at < now
            && now < self.starts_at;
        if follows_running && new.rate() > running.rate() {
            self.check_open("replaced")?;
            let change = Change {
                kind: ChangeKind::Upgrade,
                old_ends_at: now - 1,
                new_starts_at: now,
            };
            return Ok((change, Some(now - 1)));
        }
        Ok((self.replace(new, now)?, None))
    }
}
