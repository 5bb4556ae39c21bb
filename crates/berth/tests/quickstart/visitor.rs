//! The visitors of the customer's sites: requests to `berth up`'s router for the
//! quickstart's names, whatever DNS says, over HTTP, over HTTPS (SNI), and with curl when a
//! client certificate is presented.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// A visitor's browser pointed at the router's HTTP and HTTPS addresses.
pub struct Visitor {
    /// The router's plain HTTP address.
    pub http: SocketAddr,
    /// The router's HTTPS address.
    pub https: SocketAddr,
}

/// What a visitor sees: the status, the `Location` header, the body.
pub struct Seen {
    /// The HTTP status.
    pub status: u16,
    /// The redirect target, if any.
    pub location: Option<String>,
    /// The body.
    pub body: String,
    /// The certificate the router presented (HTTPS only).
    pub certificate: Option<Vec<u8>>,
}

impl Visitor {
    /// A new client (so a new TLS handshake, the certificate chosen afresh by SNI) sending
    /// `name` to the router's loopback address, trusting any certificate, following no
    /// redirect.
    fn client(&self, name: &str) -> reqwest::blocking::Client {
        // The port of an override is ignored: the URL carries it.
        reqwest::blocking::Client::builder()
            .resolve(name, self.http)
            .danger_accept_invalid_certs(true)
            .tls_info(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(5))
            .build()
            .expect("client")
    }

    /// `GET <scheme>://name/` through the router, or `None` when nothing answered.
    fn visit(&self, scheme: &str, name: &str) -> Option<Seen> {
        let port = if scheme == "https" {
            self.https.port()
        } else {
            self.http.port()
        };
        let response = self
            .client(name)
            .get(format!("{scheme}://{name}:{port}/"))
            .send()
            .ok()?;
        let certificate = response
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(|info| info.peer_certificate())
            .map(<[u8]>::to_vec);
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        Some(Seen {
            status,
            location,
            body: response.text().ok()?,
            certificate,
        })
    }

    /// `GET http://name/`: everything the visitor sees.
    pub fn http_page(&self, name: &str) -> Option<Seen> {
        self.visit("http", name)
    }

    /// `GET https://name/`: everything the visitor sees.
    pub fn https_page(&self, name: &str) -> Option<Seen> {
        self.visit("https", name)
    }

    /// The body of `http://name/` when it answers 2xx.
    pub fn http(&self, name: &str) -> Option<String> {
        self.http_page(name)
            .filter(|seen| (200..300).contains(&seen.status))
            .map(|seen| seen.body)
    }

    /// The body of `https://name/` when it answers 2xx, and the certificate presented.
    pub fn https(&self, name: &str) -> Option<(String, Vec<u8>)> {
        let seen = self
            .https_page(name)
            .filter(|seen| (200..300).contains(&seen.status))?;
        Some((seen.body, seen.certificate?))
    }

    /// `curl https://name/` through the router, presenting the client certificate
    /// `certificate` (`crt`, `key`) if any: the body, or `None` when refused. curl, because
    /// rustls clients refuse to send the X.509 v1 certificates the quickstart's commands
    /// make.
    pub fn curl(&self, name: &str, certificate: Option<(&Path, &Path)>) -> Option<String> {
        let port = self.https.port();
        let mut command = Command::new("curl");
        command
            .args(["--silent", "--fail", "--insecure", "--max-time", "5"])
            .args(["--resolve", &format!("{name}:{port}:127.0.0.1")]);
        if let Some((crt, key)) = certificate {
            command.arg("--cert").arg(crt).arg("--key").arg(key);
        }
        let output = command
            .arg(format!("https://{name}:{port}/"))
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .expect("curl runs (scripts/debian-packages.txt)");
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    }
}
