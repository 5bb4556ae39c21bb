//! Alarms: messages a container's apps (or the platform) raise, kept per container in a ring
//! of the newest `max_alarms`, and read back newest first, optionally through a `range` window.

use crate::{text, ValidationError};

/// Level of alarms the platform raises (quota, OOM, …); customers cannot raise it.
pub const LEVEL_SYSTEM: i64 = 0;
/// Level of a plain customer alarm, the default.
pub const LEVEL_USER: i64 = 1;
/// The highest level (`4`: log). uwsgiit-console labels levels 0 to 4 and fails on others.
pub const LEVEL_MAX: i64 = 4;
/// The color of an alarm raised without one.
pub const DEFAULT_COLOR: &str = "#ffffff";
/// The longest `class`, `vassal`, `filename` or `func`.
pub const FIELD_MAX: usize = 255;
/// The longest message, in characters (also the API's body limit).
pub const MESSAGE_MAX: usize = 65_536;
/// The largest ring staff may give a container.
pub const RING_MAX: i64 = 100_000;

/// What an alarm says, as stored and shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmDetails {
    /// 0 system, 1 user, 2 exception, 3 traceback, 4 log.
    pub level: i64,
    /// `#rrggbb`, lower case.
    pub color: String,
    /// Free classification.
    pub class: Option<String>,
    /// The vassal that raised it.
    pub vassal: Option<String>,
    /// Source file.
    pub filename: Option<String>,
    /// Function.
    pub func: Option<String>,
    /// Line number.
    pub line: Option<i64>,
    /// The message, verbatim.
    pub msg: String,
}

/// An alarm ready to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAlarm {
    /// What it says.
    pub details: AlarmDetails,
    /// When it happened (unix seconds); `None` means now, as the store's clock says.
    pub unix: Option<i64>,
}

/// The optional fields of a customer's alarm as a client sent them (query parameters); empty
/// values count as absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RaisedFields<'a> {
    /// `color`, with or without its `#`.
    pub color: Option<&'a str>,
    /// `class`.
    pub class: Option<&'a str>,
    /// `vassal`.
    pub vassal: Option<&'a str>,
    /// `filename`.
    pub filename: Option<&'a str>,
    /// `func`.
    pub func: Option<&'a str>,
    /// `line`, a whole number.
    pub line: Option<&'a str>,
    /// `level`, a whole number from 1 to 4 (1 when absent).
    pub level: Option<&'a str>,
    /// `unix`, seconds since the epoch (now when absent).
    pub unix: Option<&'a str>,
}

/// Why a customer's alarm is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RaiseError {
    /// Level 0 (or below) belongs to the platform.
    #[error("level {0} is reserved for the platform; raise levels {LEVEL_USER} to {LEVEL_MAX}")]
    ReservedLevel(i64),
    /// A field is malformed.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
}

fn given(value: Option<&str>) -> Option<&str> {
    value.filter(|value| !value.is_empty())
}

fn whole_number(field: &str, value: &str) -> Result<i64, ValidationError> {
    value
        .trim()
        .parse::<i64>()
        .map_err(|_| ValidationError::new(field, "must be a whole number"))
}

fn label(field: &str, value: Option<&str>) -> Result<Option<String>, ValidationError> {
    given(value)
        .map(|value| text::line(field, value, FIELD_MAX))
        .transpose()
}

/// Normalises a color: `#` is prepended when missing, and the result must be `#` and six hex
/// digits; it is stored in lower case.
pub fn color(value: &str) -> Result<String, ValidationError> {
    let hex = value.strip_prefix('#').unwrap_or(value);
    if hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(format!("#{}", hex.to_ascii_lowercase()))
    } else {
        Err(ValidationError::new(
            "color",
            "must be six hex digits, as #rrggbb or rrggbb",
        ))
    }
}

/// Checks a message: any text but NUL (which PostgreSQL cannot store), at most
/// [`MESSAGE_MAX`] characters. Quotes, newlines and the like are kept as sent.
pub fn message(value: &str) -> Result<String, ValidationError> {
    if value.contains('\0') {
        return Err(ValidationError::new(
            "msg",
            "must not contain NUL characters",
        ));
    }
    if value.chars().count() > MESSAGE_MAX {
        return Err(ValidationError::new(
            "msg",
            format!("must be at most {MESSAGE_MAX} characters"),
        ));
    }
    Ok(value.to_owned())
}

/// A customer's alarm from the fields they sent and the message: level 1 to 4 (default 1;
/// below 1 is [`RaiseError::ReservedLevel`]), a valid color (default white), a non-negative
/// `unix`.
pub fn customer_alarm(fields: RaisedFields<'_>, msg: &str) -> Result<NewAlarm, RaiseError> {
    let level = given(fields.level)
        .map(|level| whole_number("level", level))
        .transpose()?
        .unwrap_or(LEVEL_USER);
    if level < LEVEL_USER {
        return Err(RaiseError::ReservedLevel(level));
    }
    if level > LEVEL_MAX {
        return Err(ValidationError::new(
            "level",
            format!("must be from {LEVEL_USER} to {LEVEL_MAX}"),
        )
        .into());
    }
    let unix = given(fields.unix)
        .map(|unix| whole_number("unix", unix))
        .transpose()?;
    if unix.is_some_and(|unix| unix < 0) {
        return Err(ValidationError::new("unix", "must not be negative").into());
    }
    Ok(NewAlarm {
        details: AlarmDetails {
            level,
            color: given(fields.color)
                .map(color)
                .transpose()?
                .unwrap_or_else(|| DEFAULT_COLOR.to_owned()),
            class: label("class", fields.class)?,
            vassal: label("vassal", fields.vassal)?,
            filename: label("filename", fields.filename)?,
            func: label("func", fields.func)?,
            line: given(fields.line)
                .map(|line| whole_number("line", line))
                .transpose()?,
            msg: message(msg)?,
        },
        unix,
    })
}

/// A platform alarm (level 0, white) about a container, as the node reports it.
pub fn system_alarm(unix: i64, msg: &str) -> Result<NewAlarm, ValidationError> {
    Ok(NewAlarm {
        details: AlarmDetails {
            level: LEVEL_SYSTEM,
            color: DEFAULT_COLOR.to_owned(),
            class: None,
            vassal: None,
            filename: None,
            func: None,
            line: None,
            msg: message(msg)?,
        },
        unix: Some(unix),
    })
}

/// Checks a ring size staff give a container: 1 to [`RING_MAX`].
pub fn ring_capacity(value: i64) -> Result<i64, ValidationError> {
    if (1..=RING_MAX).contains(&value) {
        Ok(value)
    } else {
        Err(ValidationError::new(
            "max_alarms",
            format!("must be from 1 to {RING_MAX}"),
        ))
    }
}

/// How many of the oldest alarms must go before one more is stored, so that a ring of
/// `capacity` (at least 1) holding `stored` alarms never exceeds it. Usually 0 or 1; more
/// when staff shrank the ring.
pub fn ring_excess(stored: i64, capacity: i64) -> i64 {
    (stored + 1 - capacity).max(0)
}

/// Which alarms a `range` selects, in which order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Oldest first (`A-B` with A > B) instead of newest first.
    pub oldest_first: bool,
    /// How many to skip, in that order.
    pub offset: i64,
    /// How many to return at most.
    pub limit: i64,
}

/// A `range` that is not `N` or `A-B` with whole numbers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("range must be N or A-B with whole numbers, not {0:?}")]
pub struct RangeError(pub String);

/// Parses a `range`: `N` is the newest N; `A-B` with A < B skips the newest A and returns the
/// next B-A, newest first; with A > B it returns oldest first, skipping the oldest B and
/// returning the next A-B (so with 10 alarms `6-3` gives the 4th to 6th oldest). The bounds
/// are compared as numbers (upstream compared them as strings).
pub fn window(range: &str) -> Result<Window, RangeError> {
    let refuse = || RangeError(range.to_owned());
    let bound = |text: &str| -> Result<i64, RangeError> {
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(refuse());
        }
        text.parse::<i64>().map_err(|_| refuse())
    };
    match range.split_once('-') {
        None => Ok(Window {
            oldest_first: false,
            offset: 0,
            limit: bound(range)?,
        }),
        Some((from, to)) => {
            let (from, to) = (bound(from)?, bound(to)?);
            Ok(if from < to {
                Window {
                    oldest_first: false,
                    offset: from,
                    limit: to - from,
                }
            } else {
                Window {
                    oldest_first: true,
                    offset: to,
                    limit: from - to,
                }
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colors_get_their_hash_and_must_be_hex() {
        assert_eq!(color("ff0000").as_deref(), Ok("#ff0000"));
        assert_eq!(color("#00FF00").as_deref(), Ok("#00ff00"));
        for bad in [
            "", "#", "red", "#ff00", "#ff00000", "##ff0000", "gg0000", "ff 000",
        ] {
            assert!(color(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ranges_compare_bounds_as_numbers() {
        let newest = |offset, limit| Window {
            oldest_first: false,
            offset,
            limit,
        };
        let oldest = |offset, limit| Window {
            oldest_first: true,
            offset,
            limit,
        };
        assert_eq!(window("5"), Ok(newest(0, 5)));
        assert_eq!(window("2-5"), Ok(newest(2, 3)));
        assert_eq!(window("2-12"), Ok(newest(2, 10)));
        assert_eq!(window("6-3"), Ok(oldest(3, 3)));
        assert_eq!(window("10-9"), Ok(oldest(9, 1)));
        assert_eq!(window("4-4"), Ok(oldest(4, 0)));
        for bad in [
            "",
            "a",
            "6-",
            "-3",
            "6-a",
            "1-2-3",
            "+3",
            " 3",
            "3.0",
            "99999999999999999999",
        ] {
            assert!(window(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_ring_drops_what_exceeds_it() {
        assert_eq!(ring_excess(0, 100), 0);
        assert_eq!(ring_excess(99, 100), 0);
        assert_eq!(ring_excess(100, 100), 1);
        assert_eq!(ring_excess(100, 3), 98);
        assert!(ring_capacity(0).is_err());
        assert_eq!(ring_capacity(100), Ok(100));
    }

    #[test]
    fn customer_alarms_default_and_check_their_fields() {
        let alarm = customer_alarm(RaisedFields::default(), "\"hello\"").expect("alarm");
        assert_eq!(alarm.details.level, LEVEL_USER);
        assert_eq!(alarm.details.color, DEFAULT_COLOR);
        assert_eq!(alarm.details.msg, "\"hello\"");
        assert_eq!(alarm.unix, None);
        let blank = RaisedFields {
            class: Some(""),
            level: Some(""),
            line: Some(""),
            ..RaisedFields::default()
        };
        assert_eq!(
            customer_alarm(blank, "x").expect("alarm").details.class,
            None
        );
        let level = |level| RaisedFields {
            level: Some(level),
            ..RaisedFields::default()
        };
        assert_eq!(
            customer_alarm(level("0"), "x"),
            Err(RaiseError::ReservedLevel(0))
        );
        assert!(matches!(
            customer_alarm(level("5"), "x"),
            Err(RaiseError::Invalid(_))
        ));
        assert!(matches!(
            customer_alarm(level("high"), "x"),
            Err(RaiseError::Invalid(_))
        ));
        assert!(customer_alarm(RaisedFields::default(), "a\0b").is_err());
        let unix = RaisedFields {
            unix: Some("-1"),
            ..RaisedFields::default()
        };
        assert!(customer_alarm(unix, "x").is_err());
    }
}
