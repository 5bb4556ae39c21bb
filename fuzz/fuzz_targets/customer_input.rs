//! Any text as each field a customer can send that berth-model validates: never panics, and
//! whatever is accepted is accepted again unchanged (validation is idempotent), so a stored
//! value always reads back as valid.
#![no_main]
use berth_model::metrics::{Metric, MetricDay};
use berth_model::{alarm, domain::DomainName, loopbox, news, ssh_keys, tag};
use libfuzzer_sys::fuzz_target;

fn idempotent<E: std::fmt::Debug>(validate: impl Fn(&str) -> Result<String, E>, text: &str) {
    if let Ok(clean) = validate(text) {
        assert_eq!(validate(&clean).expect("a clean value stays valid"), clean);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    match selector % 9 {
        0 => idempotent(|t| DomainName::parse(t).map(|d| d.as_str().to_owned()), &text),
        1 => idempotent(loopbox::filename, &text),
        2 => idempotent(loopbox::mountpoint, &text),
        3 => idempotent(alarm::color, &text),
        4 => {
            if let Ok(window) = alarm::window(&text) {
                assert!(window.offset >= 0 && window.limit >= 0);
            }
        }
        5 => idempotent(tag::name, &text),
        6 => idempotent(news::content, &text),
        7 => {
            let keys: Vec<String> = text.split('\n').map(str::to_owned).collect();
            if let Ok(clean) = ssh_keys::parse_list(&keys) {
                assert_eq!(ssh_keys::parse_list(&clean).expect("clean keys stay valid"), clean);
            }
        }
        _ => {
            if let Ok(metric) = text.parse::<Metric>() {
                assert_eq!(metric.to_string().parse::<Metric>(), Ok(metric));
            }
            let mut parts = text.splitn(3, '&');
            let today = MetricDay::containing(i64::from(selector) * 86_400 * 365);
            if let Ok(day) = MetricDay::from_query(today, parts.next(), parts.next(), parts.next()) {
                assert_eq!(day.end() - day.start(), 86_400);
            }
        }
    }
});
