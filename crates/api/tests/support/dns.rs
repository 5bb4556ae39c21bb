//! A real DNS server on loopback for the domain tests: hickory-server with in-memory zones,
//! answering over UDP and TCP on the same port. Records can be added while it runs.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use hickory_server::proto::rr::rdata::{A, NS, SOA, TXT};
use hickory_server::proto::rr::{LowerName, Name, RData, Record};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneHandler, ZoneType};
use hickory_server::Server;

const TTL: u32 = 60;

fn name(text: &str) -> Name {
    Name::from_str(&format!("{}.", text.trim_end_matches('.'))).expect("a DNS name")
}

/// A running DNS server, authoritative for a few zones.
pub struct TestDns {
    /// Where it answers (UDP and TCP).
    pub addr: SocketAddr,
    zones: Vec<(Name, Arc<InMemoryZoneHandler>)>,
    _server: Server<Catalog>,
}

impl TestDns {
    /// Starts a server on `ip` (port `port`, or a free one for 0) for `zones`.
    pub async fn start(ip: IpAddr, port: u16, zones: &[&str]) -> TestDns {
        let (udp, tcp) = bind(ip, port).await;
        let addr = udp.local_addr().expect("address");
        let mut catalog = Catalog::new();
        let mut handlers = Vec::new();
        for zone in zones {
            let origin = name(zone);
            let handler = Arc::new(InMemoryZoneHandler::empty(
                origin.clone(),
                ZoneType::Primary,
                AxfrPolicy::Deny,
            ));
            let soa = SOA::new(
                name(&format!("ns.{zone}")),
                name(&format!("hostmaster.{zone}")),
                1,
                3600,
                600,
                86400,
                TTL,
            );
            handler
                .upsert(Record::from_rdata(origin.clone(), TTL, RData::SOA(soa)), 1)
                .await;
            catalog.upsert(
                LowerName::new(&origin),
                vec![handler.clone() as Arc<dyn ZoneHandler>],
            );
            handlers.push((origin, handler));
        }
        let mut server = Server::new(catalog);
        server.register_socket(udp);
        server.register_listener(tcp, std::time::Duration::from_secs(5), 16);
        TestDns {
            addr,
            zones: handlers,
            _server: server,
        }
    }

    /// Starts a server on 127.0.0.1 (a free port) for `com`, `org` and `net`.
    pub async fn loopback() -> TestDns {
        TestDns::start(Ipv4Addr::LOCALHOST.into(), 0, &["com", "org", "net"]).await
    }

    async fn add(&self, owner: &str, data: RData) {
        let owner = name(owner);
        let (_, zone) = self
            .zones
            .iter()
            .filter(|(origin, _)| origin.zone_of(&owner))
            .max_by_key(|(origin, _)| origin.num_labels())
            .expect("the name is in one of the server's zones");
        assert!(
            zone.upsert(Record::from_rdata(owner, TTL, data), 2).await,
            "record added"
        );
    }

    /// Adds a TXT record.
    pub async fn txt(&self, owner: &str, text: &str) {
        self.add(owner, RData::TXT(TXT::new(vec![text.to_owned()])))
            .await;
    }

    /// Adds an NS record.
    pub async fn ns(&self, owner: &str, host: &str) {
        self.add(owner, RData::NS(NS(name(host)))).await;
    }

    /// Adds an A record.
    pub async fn a(&self, owner: &str, ip: Ipv4Addr) {
        self.add(owner, RData::A(A(ip))).await;
    }
}

/// A UDP socket and a TCP listener on the same address.
async fn bind(ip: IpAddr, port: u16) -> (tokio::net::UdpSocket, tokio::net::TcpListener) {
    for _ in 0..50 {
        let udp = tokio::net::UdpSocket::bind(SocketAddr::new(ip, port))
            .await
            .expect("bind UDP");
        let addr = udp.local_addr().expect("address");
        if let Ok(tcp) = tokio::net::TcpListener::bind(addr).await {
            return (udp, tcp);
        }
    }
    panic!("no port free for both UDP and TCP on {ip}");
}

/// A DNS server that never answers: it reads every query and drops it.
pub async fn silent() -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("bind UDP");
    let addr = socket.local_addr().expect("address");
    let task = tokio::spawn(async move {
        let mut buffer = [0u8; 4096];
        while socket.recv_from(&mut buffer).await.is_ok() {}
    });
    (addr, task)
}
