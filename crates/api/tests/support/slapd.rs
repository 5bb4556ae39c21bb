//! A real OpenLDAP server for the LDAP login tests: `slapd` on loopback, on a free port, with
//! a temporary mdb database seeded by `slapadd`, killed when dropped.
//!
//! Anonymous clients may only bind (not search), so logins must use the service account;
//! `allow bind_anon_dn` makes the server accept a DN with an empty password (an
//! unauthenticated bind), so that berth, not the server, must refuse empty passwords.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The directory's suffix.
pub const BASE_DN: &str = "dc=example,dc=org";
/// Where the customers are.
pub const PEOPLE_DN: &str = "ou=people,dc=example,dc=org";
/// The service account logins search as.
pub const READER_DN: &str = "cn=reader,dc=example,dc=org";
/// Its password.
pub const READER_PASSWORD: &str = "reader-secret";

/// A person in the directory.
pub struct Person {
    pub uid: &'static str,
    pub password: &'static str,
    pub mail: Option<&'static str>,
}

/// A running slapd.
pub struct Slapd {
    /// `ldap://127.0.0.1:<port>`.
    pub url: String,
    child: std::sync::Mutex<Option<Child>>,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Slapd {
    /// Starts slapd with `people` under [`PEOPLE_DN`].
    pub async fn start(people: &[Person]) -> Slapd {
        let dir = tempfile::tempdir().expect("slapd directory");
        let db = dir.path().join("db");
        std::fs::create_dir(&db).expect("db directory");
        let conf = dir.path().join("slapd.conf");
        std::fs::write(
            &conf,
            format!(
                "allow bind_anon_dn\n\
                 include /etc/ldap/schema/core.schema\n\
                 include /etc/ldap/schema/cosine.schema\n\
                 include /etc/ldap/schema/inetorgperson.schema\n\
                 include /etc/ldap/schema/nis.schema\n\
                 modulepath /usr/lib/ldap\n\
                 moduleload back_mdb\n\
                 pidfile {pid}\n\
                 database mdb\n\
                 maxsize 10485760\n\
                 suffix \"{BASE_DN}\"\n\
                 rootdn \"cn=admin,{BASE_DN}\"\n\
                 rootpw admin-secret\n\
                 directory {db}\n\
                 access to attrs=userPassword by anonymous auth by * none\n\
                 access to * by users read by anonymous auth\n",
                pid = dir.path().join("slapd.pid").display(),
                db = db.display(),
            ),
        )
        .expect("slapd.conf");
        let mut ldif = format!(
            "dn: {BASE_DN}\nobjectClass: dcObject\nobjectClass: organization\no: Example\n\
             dc: example\n\n\
             dn: {PEOPLE_DN}\nobjectClass: organizationalUnit\nou: people\n\n\
             dn: {READER_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n\
             cn: reader\nuserPassword: {}\n\n",
            hashed(READER_PASSWORD)
        );
        for person in people {
            ldif.push_str(&format!(
                "dn: uid={uid},{PEOPLE_DN}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid}\n\
                 sn: Customer\nuserPassword: {}\n",
                hashed(person.password),
                uid = person.uid,
            ));
            if let Some(mail) = person.mail {
                ldif.push_str(&format!("mail: {mail}\n"));
            }
            ldif.push('\n');
        }
        let seed = dir.path().join("seed.ldif");
        std::fs::File::create(&seed)
            .and_then(|mut file| file.write_all(ldif.as_bytes()))
            .expect("seed.ldif");
        let added = Command::new("slapadd")
            .arg("-f")
            .arg(&conf)
            .arg("-l")
            .arg(&seed)
            .output()
            .expect("slapadd (apt-get install slapd)");
        assert!(
            added.status.success(),
            "slapadd failed: {}",
            String::from_utf8_lossy(&added.stderr)
        );
        let log = dir.path().join("slapd.log");
        // A free port can be taken between choosing and binding it: try a few.
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|listener| listener.local_addr())
                .expect("free port")
                .port();
            let url = format!("ldap://127.0.0.1:{port}");
            let mut child = Command::new("slapd")
                .arg("-f")
                .arg(&conf)
                .arg("-h")
                .arg(format!("{url}/"))
                // Stay in the foreground and log every operation (stats) to stderr.
                .args(["-d", "256"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).expect("slapd.log"))
                .spawn()
                .expect("slapd (apt-get install slapd)");
            if ready(&mut child, port).await {
                return Slapd {
                    url,
                    child: std::sync::Mutex::new(Some(child)),
                    log,
                    _dir: dir,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!(
            "slapd did not start: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// Kills slapd and waits for it: the directory is down from here on.
    pub fn stop(&self) {
        let child = self
            .child
            .lock()
            .map(|mut child| child.take())
            .ok()
            .flatten();
        if let Some(mut child) = child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sets the password of `dn` in the directory (as the directory's admin).
    pub fn set_password(&self, dn: &str, password: &str) {
        let output = Command::new("ldappasswd")
            .args(["-x", "-H", &self.url, "-D", &format!("cn=admin,{BASE_DN}")])
            .args(["-w", "admin-secret", "-s", password, dn])
            .output()
            .expect("ldappasswd (apt-get install ldap-utils)");
        assert!(
            output.status.success(),
            "ldappasswd failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// How many binds slapd has received as `dn`, successful or not (from its stats log,
    /// which shows each bind request once with its method and a successful one again with
    /// its mechanism).
    pub fn binds_as(&self, dn: &str) -> usize {
        let needle = format!("BIND dn=\"{dn}\" method=");
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|line| line.contains(&needle))
            .count()
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Waits until slapd accepts connections on `port` (false if it exited or took too long).
async fn ready(child: &mut Child, port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if child.try_wait().ok().flatten().is_some() {
            return false;
        }
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// A `{SSHA}` hash of `password`, from slappasswd.
fn hashed(password: &str) -> String {
    let output = Command::new("slappasswd")
        .args(["-s", password])
        .output()
        .expect("slappasswd (apt-get install slapd)");
    assert!(output.status.success(), "slappasswd failed");
    String::from_utf8(output.stdout)
        .expect("hash")
        .trim()
        .to_owned()
}
