//! The seed's "HTTPS/SNI" and "Client-certificates HTTPS/SNI authentication" sections, in
//! the container over ssh with the distro's own openssl, and checked by visitors of the
//! router.
//!
//! The seed's names are kept but for the domain: its HTTPS vassals name `mynewdomain.org`,
//! which the three plain `domain` vassals already serve here, and the seed itself says not to
//! mix `domain` and `ssl-domain` for one name; they name `shop.mynewdomain.org` instead. The
//! seed's vassals hold only the subscription lines; the app lines in front are what makes
//! them answer. The seed's openssl questions are answered with `-subj`, the CA's passphrase
//! with `-passout`/`-passin`.
//!
//! The seed calls the client's files `foobar.csr` and `foobar.crt`, the names of the site's
//! own: done as written, in the home, the seed's signing command makes the quickstart's own
//! `foobar.csr` into a `foobar.crt` signed by the customer's CA (X.509 v1 on Debian 12's
//! OpenSSL), which the `ssl-ca-domain` vassal then serves and the visitor presents with
//! `foobar.key`.

use std::path::Path;
use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::machine::{wait_for, Customer};
use crate::sections::Tour;
use crate::visitor::Visitor;
use crate::{DOMAIN, SSL_DOMAIN};

/// The seed's three commands for a self-signed certificate.
const MAKE_CERTIFICATE: &str = "openssl genrsa -out foobar.key 2048 2>/dev/null && \
    openssl req -new -key foobar.key -out foobar.csr -subj /C=IT/O=kratos/CN=shop.mynewdomain.org && \
    openssl x509 -req -days 365 -in foobar.csr -signkey foobar.key -out foobar.crt 2>/dev/null";
/// The subject of that certificate as the router passes it in `HTTPS_DN`.
const FOOBAR_DN: &str = "/C=IT/O=kratos/CN=shop.mynewdomain.org";
/// "now you can instruct the http router to load it using ssl-domain instead of domain".
const SSL_VASSAL: &str = "[uwsgi]
plugin = 0:python
wsgi-file = $(HOME)/myapp.py
ssl-domain = shop.mynewdomain.org $(HOME)/foobar.key $(HOME)/foobar.crt
";
/// "You can use it to force HTTPS for a domain".
const REDIRECT_VASSAL: &str = "[uwsgi]
plugin = 0:python
wsgi-file = $(HOME)/myapp.py
ssl-domain = shop.mynewdomain.org $(HOME)/foobar.key $(HOME)/foobar.crt
plugin = router_redirect
route-if-not = equal:${HTTPS};on redirect-permanent:https://${HTTP_HOST}${REQUEST_URI}
";
/// "wildcard/dotsplit SNI subscriptions are supported too": the wildcard section's vassal
/// with `ssl-domain`.
const WILDCARD_SSL_VASSAL: &str = "[uwsgi]
plugin = 0:python
wsgi-file = $(HOME)/wildcard.py
ssl-domain = .mynewdomain.org $(HOME)/foobar.key $(HOME)/foobar.crt
";
/// The seed's CA: `openssl genrsa -des3 -out ca.key 4096` and `openssl req -new -x509 -days
/// 365 -key ca.key -out ca.crt`.
const MAKE_CA: &str =
    "openssl genrsa -des3 -passout pass:deimos17 -out ca.key 4096 2>/dev/null && \
    openssl req -new -x509 -days 365 -key ca.key -passin pass:deimos17 -out ca.crt \
    -subj /O=kratos/CN=kratos-ca";
/// "Now you can sign your clients csr's with".
const SIGN_CLIENT: &str = "openssl x509 -req -days 365 -in foobar.csr -CA ca.crt -CAkey ca.key \
    -passin pass:deimos17 -set_serial 01 -out foobar.crt 2>/dev/null";
/// An app printing what the seed says it may read: "The ${HTTPS_DN} request var contains
/// the certificate DN (if any)".
const DN_APP: &str = r#"def application(environ, start_response):
    start_response('200 OK', [('Content-Type','text/plain')])
    return [("Hello i am python, HTTPS_DN=%s" % environ.get('HTTPS_DN', '')).encode()]
"#;
/// "Now to enable client certificate authentication for a domain".
const CA_VASSAL: &str = "[uwsgi]
plugin = 0:python
wsgi-file = $(HOME)/myapp_dn.py
ssl-ca-domain = shop.mynewdomain.org $(HOME)/foobar.key $(HOME)/foobar.crt !$(HOME)/ca.crt
";
/// "If you want to support even client not supplying a certificate you can remove the '!'
/// prefix."
const OPTIONAL_CA_VASSAL: &str = "[uwsgi]
plugin = 0:python
wsgi-file = $(HOME)/myapp_dn.py
ssl-ca-domain = shop.mynewdomain.org $(HOME)/foobar.key $(HOME)/foobar.crt $(HOME)/ca.crt
";

/// The first certificate of the PEM file `path` of the home, as DER.
fn certificate(path: &Path) -> Vec<u8> {
    let pem = std::fs::read(path).expect("the customer's certificate");
    let first = rustls_pemfile::certs(&mut pem.as_slice())
        .next()
        .expect("a certificate")
        .expect("PEM");
    first.as_ref().to_vec()
}

/// Waits until `https://name/` answers `body` with the certificate of `crt`.
fn wait_for_certificate(visitor: &Visitor, name: &str, body: &str, crt: &Path, log: &Path) {
    let expected = certificate(crt);
    let mut last = None;
    let found = wait_for_or_none(Duration::from_secs(30), || {
        let (seen, served) = visitor.https(name)?;
        let ok = seen == body && served == expected;
        last = Some(seen);
        ok.then_some(())
    });
    assert!(
        found.is_some(),
        "https://{name}/ with the certificate of {}: last answer {last:?}; berth up's log:\n{}",
        crt.display(),
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

/// `wait_for` that gives up with `None` instead of panicking, for a better message.
fn wait_for_or_none<T>(limit: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let started = std::time::Instant::now();
    loop {
        if let Some(value) = probe() {
            return Some(value);
        }
        if started.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// "HTTPS/SNI": the seed's three openssl commands in the container, the `ssl-domain`
/// vassal serving the customer's certificate by SNI (and plain HTTP), the vassal forcing
/// HTTPS by `${HTTPS}`, and a dotsplit (wildcard) `ssl-domain`. `log` is `berth up`'s log.
pub fn https(tour: &Tour, customer: &Customer, visitor: &Visitor, home: &Path, log: &Path) {
    customer.run(MAKE_CERTIFICATE);
    let (status, body) = tour.call(Method::POST, "domains/", Some(json!({"name": SSL_DOMAIN})));
    assert!(
        (200..300).contains(&status),
        "adding {SSL_DOMAIN}: {status} {body}"
    );
    customer.write("vassals/sslapp.ini", SSL_VASSAL);
    let crt = home.join("foobar.crt");
    wait_for_certificate(visitor, SSL_DOMAIN, "Hello i am python", &crt, log);
    // "ssl-domain automatically register non-ssl record too".
    assert_eq!(
        visitor.http(SSL_DOMAIN).as_deref(),
        Some("Hello i am python")
    );

    // "The HTTPS request var is set to 'on' if a specific requests is over SSL. You can use
    // it to force HTTPS for a domain".
    customer.rewrite("vassals/sslapp.ini", REDIRECT_VASSAL);
    let target = format!("https://{SSL_DOMAIN}:{}/", visitor.http.port());
    let mut last = None;
    let redirected = wait_for_or_none(Duration::from_secs(30), || {
        let seen = visitor.http_page(SSL_DOMAIN)?;
        let redirected = seen.status == 301 && seen.location.as_deref() == Some(target.as_str());
        last = Some((seen.status, seen.location, seen.body));
        redirected.then_some(())
    });
    assert!(
        redirected.is_some(),
        "http://{SSL_DOMAIN}/ redirects to {target}: last answer {last:?}; the Emperor's log:\n{}",
        std::fs::read_to_string(home.join("logs/emperor.log")).unwrap_or_default()
    );
    assert_eq!(
        visitor.https(SSL_DOMAIN).map(|(body, _)| body).as_deref(),
        Some("Hello i am python"),
        "over HTTPS the app answers"
    );

    // "wildcard/dotsplit SNI subscriptions are supported too".
    customer.rewrite("vassals/wildcard.ini", WILDCARD_SSL_VASSAL);
    let wildcard = format!("c.{DOMAIN}");
    wait_for_certificate(visitor, &wildcard, "Hello i am the wildcard", &crt, log);
    assert_eq!(
        visitor.http(&wildcard).as_deref(),
        Some("Hello i am the wildcard")
    );
}

/// "Client-certificates HTTPS/SNI authentication": the seed's CA, its signing command (an
/// X.509 v1 certificate, which the running `ssl-domain` vassals pick up as a renewal), the
/// running vassal switched to `ssl-ca-domain` with `!`: curl with the certificate reaches the
/// app, which sees `HTTPS_DN`; without one it is refused. Without the `!` a client without a
/// certificate gets in.
pub fn client_certificates(customer: &Customer, visitor: &Visitor, home: &Path, log: &Path) {
    customer.run(MAKE_CA);
    customer.run(SIGN_CLIENT);
    let text = customer.run("openssl x509 -noout -text -in foobar.crt");
    assert!(
        text.contains("Version: 1 (0x0)"),
        "the seed's command makes an X.509 v1 certificate on Debian 12: {text}"
    );
    // The certificate changed under the running ssl-domain vassals: the router serves the
    // renewed one.
    let crt = home.join("foobar.crt");
    let key = home.join("foobar.key");
    wait_for_certificate(visitor, SSL_DOMAIN, "Hello i am python", &crt, log);

    // The same running setup, switched from ssl-domain to ssl-ca-domain.
    customer.write("myapp_dn.py", DN_APP);
    customer.rewrite("vassals/sslapp.ini", CA_VASSAL);
    let with_dn = format!("Hello i am python, HTTPS_DN={FOOBAR_DN}");
    let mut last = None;
    let reached = wait_for_or_none(Duration::from_secs(30), || {
        last = visitor.curl(SSL_DOMAIN, Some((&crt, &key)));
        (last.as_deref() == Some(with_dn.as_str())).then_some(())
    });
    assert!(
        reached.is_some(),
        "the client certificate reaches the app: last answer {last:?}; berth up's log:\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
    // "the '!' prefix tell the server to disallow access to non-certificate-authenticated
    // clients".
    assert_eq!(
        visitor.curl(SSL_DOMAIN, None),
        None,
        "no certificate, no access"
    );
    assert!(
        visitor.https(SSL_DOMAIN).is_none(),
        "no certificate, no access"
    );

    // Without the '!'.
    customer.rewrite("vassals/sslapp.ini", OPTIONAL_CA_VASSAL);
    wait_for(
        "a client without a certificate to get in",
        Duration::from_secs(30),
        || (visitor.curl(SSL_DOMAIN, None)? == "Hello i am python, HTTPS_DN=").then_some(()),
    );
    assert_eq!(
        visitor.curl(SSL_DOMAIN, Some((&crt, &key))),
        Some(with_dn),
        "a client with a certificate is still known by its DN"
    );
}
