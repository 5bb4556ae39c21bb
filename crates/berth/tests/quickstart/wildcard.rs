//! The seed's "Wildcard domains": `domain = .mynewdomain.org` serves every name under the
//! domain once `.mynewdomain.org` is on the account, and a vassal subscribed to a specific
//! name under it wins over the wildcard without that name being added.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::machine::{wait_for, Customer};
use crate::sections::Tour;
use crate::visitor::Visitor;
use crate::DOMAIN;

const WILDCARD_APP: &str = r#"def application(environ, start_response):
    start_response('200 OK', [('Content-Type','text/plain')])
    return [b"Hello i am the wildcard"]
"#;
const SPECIFIC_APP: &str = r#"def application(environ, start_response):
    start_response('200 OK', [('Content-Type','text/plain')])
    return [b"Hello i am b"]
"#;
/// The seed's wildcard vassal (`domain = .mynewdomain.org`) with an app in front.
const WILDCARD_VASSAL: &str = "[uwsgi]
plugin = 0:python
wsgi-file = $(HOME)/wildcard.py
domain = .mynewdomain.org
";
/// A vassal for one specific name under the wildcard, which the account does not hold.
const SPECIFIC_VASSAL: &str = "[uwsgi]
plugin = 0:python
wsgi-file = $(HOME)/b.py
domain = b.mynewdomain.org
";

/// The names of the account's domains.
fn domain_names(tour: &Tour) -> Vec<String> {
    tour.get("domains/")
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|domain| domain["name"].as_str().map(str::to_owned))
        .collect()
}

/// "Wildcard domains", sentence by sentence.
pub fn wildcards(tour: &Tour, customer: &Customer, visitor: &Visitor) {
    let other = format!("c.{DOMAIN}");
    let www = format!("www.{DOMAIN}");
    let specific = format!("b.{DOMAIN}");
    // "to support it you need to add the .mynewdomain.org to your account" (the TXT record
    // of mynewdomain.org proves it).
    let wildcard = format!(".{DOMAIN}");
    let added: Value = tour.json(
        Method::POST,
        "domains/",
        Some(json!({"name": wildcard})),
        201,
    );
    assert_eq!(added["name"], wildcard.as_str());
    customer.write("wildcard.py", WILDCARD_APP);
    customer.write("vassals/wildcard.ini", WILDCARD_VASSAL);
    wait_for("the wildcard vassal", Duration::from_secs(30), || {
        (visitor.http(&other)? == "Hello i am the wildcard").then_some(())
    });
    assert_eq!(
        visitor.http(&www).as_deref(),
        Some("Hello i am the wildcard")
    );
    // The exact name keeps its own vassals.
    let apex = visitor.http(DOMAIN).expect("mynewdomain.org answers");
    assert!(apex.starts_with("Hello i am "), "{apex}");
    assert_ne!(apex, "Hello i am the wildcard");

    // "If you subscribe to a specific domain, it will win over the wildcard one (and you do
    // not need to add it to your account)".
    customer.write("b.py", SPECIFIC_APP);
    customer.write("vassals/b.ini", SPECIFIC_VASSAL);
    wait_for("the specific vassal", Duration::from_secs(30), || {
        (visitor.http(&specific)? == "Hello i am b").then_some(())
    });
    for _ in 0..5 {
        assert_eq!(visitor.http(&specific).as_deref(), Some("Hello i am b"));
        assert_eq!(
            visitor.http(&other).as_deref(),
            Some("Hello i am the wildcard")
        );
    }
    assert!(
        !domain_names(tour).contains(&specific),
        "{specific} was not added to the account"
    );
}
