//! Metrics: what a node samples every five minutes for each container and each domain it
//! routes, and the calendar day a customer asks to read.

use std::fmt;
use std::str::FromStr;

use time::{Date, Month, OffsetDateTime};

use crate::ValidationError;

/// How often a node samples each metric, in seconds: a day holds about 288 points.
pub const SAMPLE_INTERVAL: i64 = 300;

/// A per-container metric, read from the container's cgroup, quota or network stats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContainerMetric {
    /// Bytes read from block devices, cumulative.
    IoRead,
    /// Bytes written to block devices, cumulative.
    IoWrite,
    /// Bytes received on the container's network interface, cumulative.
    NetRx,
    /// Bytes sent on the container's network interface, cumulative.
    NetTx,
    /// CPU time in nanoseconds, cumulative.
    Cpu,
    /// Memory in use, bytes.
    Mem,
    /// Resident memory, bytes.
    MemRss,
    /// Page cache, bytes.
    MemCache,
    /// Disk space in use, bytes.
    Quota,
}

impl ContainerMetric {
    /// Every container metric.
    pub const ALL: [ContainerMetric; 9] = [
        ContainerMetric::IoRead,
        ContainerMetric::IoWrite,
        ContainerMetric::NetRx,
        ContainerMetric::NetTx,
        ContainerMetric::Cpu,
        ContainerMetric::Mem,
        ContainerMetric::MemRss,
        ContainerMetric::MemCache,
        ContainerMetric::Quota,
    ];

    /// The metric's name after `container.` in the API path, e.g. `io.read`.
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerMetric::IoRead => "io.read",
            ContainerMetric::IoWrite => "io.write",
            ContainerMetric::NetRx => "net.rx",
            ContainerMetric::NetTx => "net.tx",
            ContainerMetric::Cpu => "cpu",
            ContainerMetric::Mem => "mem",
            ContainerMetric::MemRss => "mem.rss",
            ContainerMetric::MemCache => "mem.cache",
            ContainerMetric::Quota => "quota",
        }
    }
}

/// A per-domain metric, read from the router's per-node counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DomainMetric {
    /// Bytes received from clients for the domain, cumulative.
    NetRx,
    /// Bytes sent to clients for the domain, cumulative.
    NetTx,
    /// Requests served, cumulative.
    Hits,
}

impl DomainMetric {
    /// Every domain metric.
    pub const ALL: [DomainMetric; 3] =
        [DomainMetric::NetRx, DomainMetric::NetTx, DomainMetric::Hits];

    /// The metric's name after `domain.` in the API path, e.g. `hits`.
    pub fn as_str(self) -> &'static str {
        match self {
            DomainMetric::NetRx => "net.rx",
            DomainMetric::NetTx => "net.tx",
            DomainMetric::Hits => "hits",
        }
    }
}

/// A metric as the API names it: `container.<m>` or `domain.<m>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// A per-container metric.
    Container(ContainerMetric),
    /// A per-domain metric.
    Domain(DomainMetric),
}

impl FromStr for Metric {
    type Err = ValidationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let unknown = || {
            ValidationError::new(
                "metric",
                format!(
                    "unknown metric {text:?}; known: {}",
                    Metric::all()
                        .map(|metric| metric.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        };
        if let Some(name) = text.strip_prefix("container.") {
            ContainerMetric::ALL
                .into_iter()
                .find(|metric| metric.as_str() == name)
                .map(Metric::Container)
                .ok_or_else(unknown)
        } else if let Some(name) = text.strip_prefix("domain.") {
            DomainMetric::ALL
                .into_iter()
                .find(|metric| metric.as_str() == name)
                .map(Metric::Domain)
                .ok_or_else(unknown)
        } else {
            Err(unknown())
        }
    }
}

impl Metric {
    /// Every metric, containers' first.
    pub fn all() -> impl Iterator<Item = Metric> {
        ContainerMetric::ALL
            .into_iter()
            .map(Metric::Container)
            .chain(DomainMetric::ALL.into_iter().map(Metric::Domain))
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Metric::Container(metric) => write!(f, "container.{}", metric.as_str()),
            Metric::Domain(metric) => write!(f, "domain.{}", metric.as_str()),
        }
    }
}

/// A UTC calendar day of metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct MetricDay(Date);

const SECONDS_PER_DAY: i64 = 86_400;

impl MetricDay {
    /// The day that contains the instant `unix` (seconds since the epoch, UTC).
    pub fn containing(unix: i64) -> MetricDay {
        let date = OffsetDateTime::from_unix_timestamp(unix)
            .map(OffsetDateTime::date)
            .unwrap_or(if unix < 0 { Date::MIN } else { Date::MAX });
        MetricDay(date)
    }

    /// The day a reader asks for with `year`, `month` and `day` query values, each defaulting
    /// to that part of `today` when absent or empty.
    pub fn from_query(
        today: MetricDay,
        year: Option<&str>,
        month: Option<&str>,
        day: Option<&str>,
    ) -> Result<MetricDay, ValidationError> {
        fn part(field: &str, text: Option<&str>, default: i64) -> Result<i64, ValidationError> {
            match text.map(str::trim).filter(|text| !text.is_empty()) {
                None => Ok(default),
                Some(text) => text.parse().map_err(|_| {
                    ValidationError::new(field, format!("{text:?} is not a whole number"))
                }),
            }
        }
        let year = part("year", year, today.0.year().into())?;
        let month = part("month", month, u8::from(today.0.month()).into())?;
        let day = part("day", day, today.0.day().into())?;
        if !(1970..=9999).contains(&year) {
            return Err(ValidationError::new(
                "year",
                "must be between 1970 and 9999",
            ));
        }
        let month = u8::try_from(month)
            .ok()
            .and_then(|month| Month::try_from(month).ok())
            .ok_or_else(|| ValidationError::new("month", "must be between 1 and 12"))?;
        let date = u8::try_from(day)
            .ok()
            .and_then(|day| Date::from_calendar_date(year as i32, month, day).ok())
            .ok_or_else(|| {
                ValidationError::new(
                    "day",
                    format!("{year}-{:02} has no day {day}", u8::from(month)),
                )
            })?;
        Ok(MetricDay(date))
    }

    /// The first second of the day, unix time.
    pub fn start(self) -> i64 {
        self.0.midnight().assume_utc().unix_timestamp()
    }

    /// The first second after the day, unix time.
    pub fn end(self) -> i64 {
        self.start() + SECONDS_PER_DAY
    }
}

impl fmt::Display for MetricDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}",
            self.0.year(),
            u8::from(self.0.month()),
            self.0.day()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_name_round_trips() {
        for metric in Metric::all() {
            assert_eq!(metric.to_string().parse::<Metric>(), Ok(metric));
        }
        assert_eq!(Metric::all().count(), 12);
        assert_eq!(
            "container.mem.rss".parse::<Metric>(),
            Ok(Metric::Container(ContainerMetric::MemRss))
        );
    }

    #[test]
    fn unknown_metrics_are_refused_with_the_known_list() {
        for text in [
            "",
            "cpu",
            "container.",
            "container.disk",
            "domain.cpu",
            "Container.cpu",
        ] {
            let error = text.parse::<Metric>().expect_err(text);
            assert!(error.message.contains("container.io.read"), "{error}");
        }
    }

    #[test]
    fn a_day_covers_86400_utc_seconds() {
        let day = MetricDay::containing(1_700_000_000);
        assert_eq!(day.to_string(), "2023-11-14");
        assert_eq!(day.start(), 1_699_920_000);
        assert_eq!(day.end(), 1_700_006_400);
        assert_eq!(MetricDay::containing(day.end() - 1), day);
        assert_ne!(MetricDay::containing(day.end()), day);
    }

    #[test]
    fn query_parts_default_to_today() {
        let today = MetricDay::containing(1_700_000_000);
        assert_eq!(MetricDay::from_query(today, None, None, None), Ok(today));
        assert_eq!(
            MetricDay::from_query(today, Some(""), Some(" "), None),
            Ok(today)
        );
        let day =
            MetricDay::from_query(today, None, Some("2"), Some("29")).expect_err("2023-02-29");
        assert_eq!(day.field, "day");
        let leap =
            MetricDay::from_query(today, Some("2024"), Some("2"), Some("29")).expect("leap day");
        assert_eq!(leap.to_string(), "2024-02-29");
    }

    #[test]
    fn bad_query_parts_name_their_field() {
        let today = MetricDay::containing(0);
        for (year, month, day, field) in [
            (Some("x"), None, None, "year"),
            (Some("99999999999999999999"), None, None, "year"),
            (Some("1969"), None, None, "year"),
            (None, Some("13"), None, "month"),
            (None, Some("0"), None, "month"),
            (None, Some("-1"), None, "month"),
            (None, None, Some("32"), "day"),
            (None, None, Some("0"), "day"),
            (None, None, Some("1.5"), "day"),
        ] {
            let error = MetricDay::from_query(today, year, month, day).expect_err(field);
            assert_eq!(error.field, field);
        }
    }

    #[test]
    fn far_instants_do_not_panic() {
        assert!(MetricDay::containing(i64::MAX) > MetricDay::containing(0));
        assert!(MetricDay::containing(i64::MIN) < MetricDay::containing(0));
    }
}
