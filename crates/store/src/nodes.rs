//! What the node API needs: server credentials (one-time join tokens exchanged for a
//! per-server secret), the desired state of one server, the domain → public key map, and the
//! reports servers send back.
//!
//! Join tokens and credentials are 256-bit random secrets shown once; only their SHA-256 is
//! stored, which is enough for secrets that cannot be guessed (no slow hash needed).

use std::collections::{BTreeSet, HashMap};

use aws_lc_rs::digest;
use berth_model::metrics::Metric;
use berth_model::node::{
    self, ContainerSpec, CustomDistroSpec, DesiredState, DistroSpec, DomainKey, LinkSpec,
    LoopboxSpec, NodeReport, PortMappingSpec, ServerSpec,
};
use berth_model::{container, ssh_keys};
use rand::RngCore;
use sqlx::Row;

use crate::metrics::{ContainerSample, DomainSample};
use crate::servers::Server;
use crate::{time, Result, Store, StoreError};

/// The prefix of join tokens, so that operators can tell them from credentials.
const JOIN_PREFIX: &str = "berth-join-";
/// The prefix of server credentials.
const CREDENTIAL_PREFIX: &str = "berth-node-";

fn random_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", to_hex(&bytes))
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn secret_hash(secret: &str) -> String {
    to_hex(digest::digest(&digest::SHA256, secret.as_bytes()).as_ref())
}

/// What a server's report changed, and what it was refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportOutcome {
    /// Container statuses stored.
    pub statuses: u64,
    /// System alarms raised.
    pub alarms: u64,
    /// Metric samples recorded.
    pub metrics: u64,
    /// uids the report named that are not containers of the reporting server (sorted); their
    /// entries were dropped.
    pub refused: Vec<i64>,
}

/// A container's state as its server last reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportedStatus {
    /// What the server said.
    pub status: node::ContainerStatus,
    /// When it said it, unix seconds.
    pub reported_at: i64,
}

impl Store {
    /// Issues a new one-time join token for server `server_id`, replacing any unused one. The
    /// server's current credential stays valid until the token is used.
    pub async fn issue_join_token(&self, server_id: i64) -> Result<String> {
        let token = random_secret(JOIN_PREFIX);
        self.set_server_secret(server_id, "join_token_hash", &secret_hash(&token))
            .await?;
        Ok(token)
    }

    /// Gives server `server_id` a new credential directly, revoking the previous one (for the
    /// machine `berth up` runs on, which needs no join step).
    pub async fn issue_server_credential(&self, server_id: i64) -> Result<String> {
        let credential = random_secret(CREDENTIAL_PREFIX);
        self.set_server_secret(server_id, "credential_hash", &secret_hash(&credential))
            .await?;
        Ok(credential)
    }

    async fn set_server_secret(&self, server_id: i64, column: &str, hash: &str) -> Result<()> {
        let mut write = self.write().await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM servers WHERE id = $1")
            .bind(server_id)
            .fetch_optional(&mut *write.tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound("server"));
        }
        sqlx::query(&format!(
            "INSERT INTO server_credentials (server_id, {column}, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (server_id) DO UPDATE SET {column} = excluded.{column}, \
             updated_at = excluded.updated_at"
        ))
        .bind(server_id)
        .bind(hash)
        .bind(time::now())
        .execute(&mut *write.tx)
        .await?;
        write.commit().await
    }

    /// Exchanges a join token for the server's credential: the token is spent, any previous
    /// credential revoked. An unknown or spent token is `NotFound("join token")`.
    pub async fn join_server(&self, token: &str) -> Result<(Server, String)> {
        let credential = random_secret(CREDENTIAL_PREFIX);
        let mut write = self.write().await?;
        let server_id: Option<i64> = sqlx::query_scalar(
            "UPDATE server_credentials SET join_token_hash = NULL, credential_hash = $1, \
             updated_at = $2 WHERE join_token_hash = $3 RETURNING server_id",
        )
        .bind(secret_hash(&credential))
        .bind(time::now())
        .bind(secret_hash(token))
        .fetch_optional(&mut *write.tx)
        .await?;
        let server_id = server_id.ok_or(StoreError::NotFound("join token"))?;
        write.commit().await?;
        Ok((self.server(server_id).await?, credential))
    }

    /// The server a credential belongs to, if any.
    pub async fn server_by_credential(&self, credential: &str) -> Result<Option<Server>> {
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT server_id FROM server_credentials WHERE credential_hash = $1",
        )
        .bind(secret_hash(credential))
        .fetch_optional(self.pool())
        .await?;
        match id {
            Some(id) => Ok(Some(self.server(id).await?)),
            None => Ok(None),
        }
    }

    /// The revision of server `server_id`'s desired state: the later of its own last change
    /// and the domain map's.
    pub async fn server_state_revision(&self, server_id: i64) -> Result<i64> {
        let (server, domains): (i64, i64) = sqlx::query_as(
            "SELECT s.revision, r.value FROM servers s, berth_revision r \
             WHERE s.id = $1 AND r.id = 2",
        )
        .bind(server_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound("server"))?;
        Ok(server.max(domains))
    }

    /// The revision of the domain → public key map's last change.
    pub async fn domain_keys_revision(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT value FROM berth_revision WHERE id = 2")
                .fetch_one(self.pool())
                .await?,
        )
    }

    /// Every domain with its owner's public key, by name, and the map's revision. The
    /// revision is read first, so the map is at least as new as it says.
    pub async fn domain_keys(&self) -> Result<(i64, Vec<DomainKey>)> {
        let revision = self.domain_keys_revision().await?;
        let rows = sqlx::query(
            "SELECT d.name, c.rsa_public_key FROM domains d \
             JOIN customers c ON c.id = d.customer_id ORDER BY d.name",
        )
        .fetch_all(self.pool())
        .await?;
        let domains = rows
            .iter()
            .map(|row| {
                Ok(DomainKey {
                    name: row.try_get("name")?,
                    public_key_pem: row.try_get("rsa_public_key")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((revision, domains))
    }

    /// Everything server `server_id` must realise. The revision is read first, so the state
    /// is at least as new as it says; a change racing with the read shows up again at the
    /// next revision.
    pub async fn desired_state(&self, server_id: i64) -> Result<DesiredState> {
        let revision = self.server_state_revision(server_id).await?;
        let server_row = sqlx::query(
            "SELECT name, address, etc_resolv_conf, etc_hosts FROM servers WHERE id = $1",
        )
        .bind(server_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound("server"))?;
        let server = ServerSpec {
            name: server_row.try_get("name")?,
            address: server_row.try_get("address")?,
            etc_resolv_conf: server_row.try_get("etc_resolv_conf")?,
            etc_hosts: server_row.try_get("etc_hosts")?,
        };
        let mut loopboxes: HashMap<i64, Vec<LoopboxSpec>> = HashMap::new();
        for row in sqlx::query(
            "SELECT l.id, l.container_id, l.filename, l.mountpoint, l.ro FROM loopboxes l \
             JOIN containers c ON c.id = l.container_id WHERE c.server_id = $1 ORDER BY l.id",
        )
        .bind(server_id)
        .fetch_all(self.pool())
        .await?
        {
            loopboxes
                .entry(row.try_get("container_id")?)
                .or_default()
                .push(LoopboxSpec {
                    id: row.try_get("id")?,
                    filename: row.try_get("filename")?,
                    mountpoint: row.try_get("mountpoint")?,
                    ro: row.try_get::<i64, _>("ro")? != 0,
                });
        }
        let mut links: HashMap<i64, Vec<LinkSpec>> = HashMap::new();
        for row in sqlx::query(
            "SELECT l.container_id, l.to_container_id FROM container_links l \
             JOIN containers c ON c.id = l.container_id WHERE c.server_id = $1 \
             ORDER BY l.container_id, l.to_container_id",
        )
        .bind(server_id)
        .fetch_all(self.pool())
        .await?
        {
            let peer: i64 = row.try_get("to_container_id")?;
            links
                .entry(row.try_get("container_id")?)
                .or_default()
                .push(LinkSpec {
                    uid: container::uid_of(peer),
                    ip: container::ip_of(peer).to_string(),
                });
        }
        let mut containers = Vec::new();
        for row in sqlx::query(
            "SELECT c.id, c.uuid, c.name, c.memory, c.storage, c.ssh_keys, c.ssh_keys_mtime, \
             c.last_reboot, c.quota_threshold, c.alarm_freq, c.nofollow, c.dmz, \
             c.custom_distros_storage, d.id AS distro_id, d.name AS distro_name, \
             d.path AS distro_path, cd.id AS custom_id, cd.name AS custom_name, \
             cd.path AS custom_path, cd.container_id AS custom_storage, \
             cu.uuid AS customer_uuid, cu.rsa_private_key, cu.rsa_public_key \
             FROM containers c JOIN distros d ON d.id = c.distro_id \
             JOIN customers cu ON cu.id = c.customer_id \
             LEFT JOIN custom_distros cd ON cd.id = c.custom_distro_id \
             WHERE c.server_id = $1 ORDER BY c.id",
        )
        .bind(server_id)
        .fetch_all(self.pool())
        .await?
        {
            let keys = ssh_keys::from_raw(&row.try_get::<String, _>("ssh_keys")?);
            if keys.is_empty() {
                continue;
            }
            let id: i64 = row.try_get("id")?;
            let name: String = row.try_get("name")?;
            let custom_distro = match row.try_get::<Option<i64>, _>("custom_id")? {
                Some(custom_id) => Some(CustomDistroSpec {
                    id: custom_id,
                    name: row.try_get("custom_name")?,
                    storage_uid: container::uid_of(row.try_get("custom_storage")?),
                    path: row.try_get("custom_path")?,
                }),
                None => None,
            };
            containers.push(ContainerSpec {
                uid: container::uid_of(id),
                uuid: row.try_get("uuid")?,
                hostname: container::hostname_of(&name),
                name,
                ip: container::ip_of(id).to_string(),
                memory: row.try_get("memory")?,
                storage: row.try_get("storage")?,
                distro: DistroSpec {
                    id: row.try_get("distro_id")?,
                    name: row.try_get("distro_name")?,
                    path: row.try_get("distro_path")?,
                },
                custom_distro,
                custom_distros_storage: row.try_get::<i64, _>("custom_distros_storage")? != 0,
                ssh_keys: keys,
                ssh_keys_mtime: row.try_get("ssh_keys_mtime")?,
                last_reboot: row.try_get("last_reboot")?,
                customer_uuid: row.try_get("customer_uuid")?,
                customer_private_key_pem: row.try_get("rsa_private_key")?,
                customer_public_key_pem: row.try_get("rsa_public_key")?,
                quota_threshold: row.try_get("quota_threshold")?,
                alarm_freq: row.try_get("alarm_freq")?,
                nofollow: row.try_get::<i64, _>("nofollow")? != 0,
                dmz: row.try_get::<i64, _>("dmz")? != 0,
                loopboxes: loopboxes.remove(&id).unwrap_or_default(),
                links: links.remove(&id).unwrap_or_default(),
            });
        }
        let legion_peers = self.server_legions(server_id, &server.address).await?;
        let (_, domains) = self.domain_keys().await?;
        let port_mappings = self
            .server_port_mappings(server_id)
            .await?
            .into_iter()
            .map(|mapping| PortMappingSpec {
                proto: mapping.proto,
                public_port: mapping.public_port,
                uid: mapping.container,
                ip: mapping.container_ip,
                private_port: mapping.private_port,
            })
            .collect();
        let vpn_interfaces = self.vpn_interfaces(&server.name).await?;
        let local: BTreeSet<i64> = containers.iter().map(|c| c.uid).collect();
        let remote_links = self.remote_links(server_id, &local).await?;
        Ok(DesiredState {
            revision,
            server,
            containers,
            domains,
            legion_peers,
            port_mappings,
            vpn_interfaces,
            remote_links,
        })
    }

    /// Stores what server `server_id` reports. The report must have passed
    /// [`node::check_report`]. Entries about containers that are not this server's are
    /// dropped and their uids returned in [`ReportOutcome::refused`]; the rest is kept.
    pub async fn record_node_report(
        &self,
        server_id: i64,
        report: &NodeReport,
    ) -> Result<ReportOutcome> {
        node::check_report(report)?;
        let own: BTreeSet<i64> =
            sqlx::query_scalar::<_, i64>("SELECT id FROM containers WHERE server_id = $1")
                .bind(server_id)
                .fetch_all(self.pool())
                .await?
                .into_iter()
                .map(container::uid_of)
                .collect();
        let mut refused = BTreeSet::new();
        let mut mine = |uid: i64| {
            let ok = own.contains(&uid);
            if !ok {
                refused.insert(uid);
            }
            ok
        };
        let statuses: Vec<_> = report.containers.iter().filter(|s| mine(s.uid)).collect();
        let alarms: Vec<_> = report.alarms.iter().filter(|a| mine(a.uid)).collect();
        let mut container_samples = Vec::new();
        let mut domain_samples = Vec::new();
        for point in report.metrics.iter().filter(|p| mine(p.uid)) {
            match (node::metric_of(point)?, &point.domain) {
                (Metric::Container(metric), _) => container_samples.push(ContainerSample {
                    uid: point.uid,
                    metric,
                    unix: point.unix,
                    value: point.value,
                }),
                (Metric::Domain(metric), Some(domain)) => domain_samples.push(DomainSample {
                    domain: domain.clone(),
                    uid: point.uid,
                    metric,
                    unix: point.unix,
                    value: point.value,
                }),
                (Metric::Domain(_), None) => {}
            }
        }
        let mut outcome = ReportOutcome {
            statuses: self.store_statuses(&statuses).await?,
            ..ReportOutcome::default()
        };
        for alarm in alarms {
            self.raise_system_alarm(alarm.uid, alarm.unix, &alarm.msg)
                .await?;
            outcome.alarms += 1;
        }
        outcome.metrics = self.record_container_samples(&container_samples).await?
            + self.record_domain_samples(&domain_samples).await?;
        outcome.refused = refused.into_iter().collect();
        Ok(outcome)
    }

    /// Observations, not desired state: stored without bumping any revision.
    async fn store_statuses(&self, statuses: &[&node::ContainerStatus]) -> Result<u64> {
        let mut tx = self.pool().begin().await?;
        let now = time::now();
        let mut stored = 0;
        for status in statuses {
            let Some(id) = container::id_of(status.uid) else {
                continue;
            };
            stored += sqlx::query(
                "INSERT INTO container_status (container_id, state, running_since_reboot, \
                 detail, disk_used, reported_at) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (container_id) DO UPDATE SET state = excluded.state, \
                 running_since_reboot = excluded.running_since_reboot, \
                 detail = excluded.detail, disk_used = excluded.disk_used, \
                 reported_at = excluded.reported_at",
            )
            .bind(id)
            .bind(status.state.as_str())
            .bind(status.running_since_reboot)
            .bind(&status.detail)
            .bind(status.disk_used)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(stored)
    }

    /// The status container `uid`'s server last reported, if any.
    pub async fn container_status(&self, uid: i64) -> Result<Option<ReportedStatus>> {
        let Some(id) = container::id_of(uid) else {
            return Ok(None);
        };
        let row = sqlx::query(
            "SELECT state, running_since_reboot, detail, disk_used, reported_at \
             FROM container_status WHERE container_id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let state: String = row.try_get("state")?;
        Ok(Some(ReportedStatus {
            status: node::ContainerStatus {
                uid,
                state: state.parse()?,
                running_since_reboot: row.try_get("running_since_reboot")?,
                detail: row.try_get("detail")?,
                disk_used: row.try_get("disk_used")?,
            },
            reported_at: row.try_get("reported_at")?,
        }))
    }
}
