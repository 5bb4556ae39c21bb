//! Metrics: samples that nodes record every five minutes, one row each, and the per-day
//! series customers read back.
//!
//! Recording is an observation, not a change of desired state, so it does not bump the
//! revision that servers watch.

use berth_model::container;
use berth_model::metrics::{ContainerMetric, DomainMetric, MetricDay};
use sqlx::Row;

use crate::container_access::{container_ref, Actor};
use crate::{Result, Store, StoreError};

/// One point of a series: unix time and value, as the API prints it (`[unix, value]`).
pub type Point = [i64; 2];

/// A sample of a container metric, as a node reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContainerSample {
    /// The container's uid.
    pub uid: i64,
    /// What was measured.
    pub metric: ContainerMetric,
    /// When, unix seconds.
    pub unix: i64,
    /// The raw value (a cumulative counter or a gauge).
    pub value: i64,
}

/// A sample of a domain metric: what one container served for one domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainSample {
    /// The domain name the router routed (its subscription key).
    pub domain: String,
    /// The uid of the container that served it.
    pub uid: i64,
    /// What was measured.
    pub metric: DomainMetric,
    /// When, unix seconds.
    pub unix: i64,
    /// The raw cumulative value.
    pub value: i64,
}

/// One container's series for a domain and a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSeries {
    /// The container's uid.
    pub uid: i64,
    /// Its points, oldest first.
    pub points: Vec<Point>,
}

/// A domain named in a container's traffic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedDomain {
    /// Database id.
    pub id: i64,
    /// The domain's uuid.
    pub uuid: String,
    /// The domain name.
    pub name: String,
}

/// A container that served a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServingContainer {
    /// The container's uid.
    pub uid: i64,
    /// Its uuid.
    pub uuid: String,
    /// Its name.
    pub name: String,
}

impl Store {
    /// Records container samples; a second sample for the same container, metric and second
    /// replaces the first. Samples of containers that no longer exist are skipped. Returns
    /// how many were recorded.
    pub async fn record_container_samples(&self, samples: &[ContainerSample]) -> Result<u64> {
        let mut tx = self.pool().begin().await?;
        let mut recorded = 0;
        for sample in samples {
            let Some(id) = container::id_of(sample.uid) else {
                continue;
            };
            recorded += sqlx::query(
                "INSERT INTO container_metrics (container_id, metric, unix, value) \
                 SELECT id, $2, $3, $4 FROM containers WHERE id = $1 \
                 ON CONFLICT (container_id, metric, unix) DO UPDATE SET value = excluded.value",
            )
            .bind(id)
            .bind(sample.metric.as_str())
            .bind(sample.unix)
            .bind(sample.value)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(recorded)
    }

    /// Records domain samples; samples of unknown domains or containers, or of a container
    /// that is not the domain owner's, are skipped. Returns how many were recorded.
    pub async fn record_domain_samples(&self, samples: &[DomainSample]) -> Result<u64> {
        let mut tx = self.pool().begin().await?;
        let mut recorded = 0;
        for sample in samples {
            let Some(id) = container::id_of(sample.uid) else {
                continue;
            };
            recorded += sqlx::query(
                "INSERT INTO domain_metrics (domain_id, container_id, metric, unix, value) \
                 SELECT d.id, c.id, $3, $4, $5 FROM domains d \
                 JOIN containers c ON c.customer_id = d.customer_id \
                 WHERE d.name = $1 AND c.id = $2 \
                 ON CONFLICT (domain_id, metric, unix, container_id) \
                 DO UPDATE SET value = excluded.value",
            )
            .bind(&sample.domain)
            .bind(id)
            .bind(sample.metric.as_str())
            .bind(sample.unix)
            .bind(sample.value)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(recorded)
    }

    /// A customer's container's series of `metric` for `day`, oldest first.
    pub async fn container_metric_day(
        &self,
        customer_id: i64,
        uid: i64,
        metric: ContainerMetric,
        day: MetricDay,
    ) -> Result<Vec<Point>> {
        let id = self.customer_container_id(customer_id, uid).await?;
        let rows = sqlx::query(
            "SELECT unix, value FROM container_metrics \
             WHERE container_id = $1 AND metric = $2 AND unix >= $3 AND unix < $4 ORDER BY unix",
        )
        .bind(id)
        .bind(metric.as_str())
        .bind(day.start())
        .bind(day.end())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| Ok([row.try_get("unix")?, row.try_get("value")?]))
            .collect()
    }

    /// A customer's domain's series of `metric` for `day`, one per container that served it,
    /// by uid.
    pub async fn domain_metric_day(
        &self,
        customer_id: i64,
        domain_id: i64,
        metric: DomainMetric,
        day: MetricDay,
    ) -> Result<Vec<ContainerSeries>> {
        self.customer_domain(customer_id, domain_id)
            .await
            .map_err(|_| {
                StoreError::Forbidden(format!("domain {domain_id} is not one of yours"))
            })?;
        let rows = sqlx::query(
            "SELECT container_id, unix, value FROM domain_metrics \
             WHERE domain_id = $1 AND metric = $2 AND unix >= $3 AND unix < $4 \
             ORDER BY container_id, unix",
        )
        .bind(domain_id)
        .bind(metric.as_str())
        .bind(day.start())
        .bind(day.end())
        .fetch_all(self.pool())
        .await?;
        let mut series: Vec<ContainerSeries> = Vec::new();
        for row in &rows {
            let uid = container::uid_of(row.try_get("container_id")?);
            let point = [row.try_get("unix")?, row.try_get("value")?];
            match series.last_mut() {
                Some(last) if last.uid == uid => last.points.push(point),
                _ => series.push(ContainerSeries {
                    uid,
                    points: vec![point],
                }),
            }
        }
        Ok(series)
    }

    /// The domains a customer's container served requests for on `day`, by name.
    pub async fn domains_served_by(
        &self,
        customer_id: i64,
        uid: i64,
        day: MetricDay,
    ) -> Result<Vec<ServedDomain>> {
        let id = self.customer_container_id(customer_id, uid).await?;
        let rows = sqlx::query(
            "SELECT d.id, d.uuid, d.name FROM domains d WHERE d.customer_id = $1 AND EXISTS (\
             SELECT 1 FROM domain_metrics m WHERE m.domain_id = d.id AND m.container_id = $2 \
             AND m.metric = $3 AND m.unix >= $4 AND m.unix < $5) ORDER BY d.name",
        )
        .bind(customer_id)
        .bind(id)
        .bind(DomainMetric::Hits.as_str())
        .bind(day.start())
        .bind(day.end())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ServedDomain {
                    id: row.try_get("id")?,
                    uuid: row.try_get("uuid")?,
                    name: row.try_get("name")?,
                })
            })
            .collect()
    }

    /// The containers that served requests for a customer's domain on `day`, by uid.
    pub async fn containers_serving(
        &self,
        customer_id: i64,
        domain_id: i64,
        day: MetricDay,
    ) -> Result<Vec<ServingContainer>> {
        self.customer_domain(customer_id, domain_id).await?;
        let rows = sqlx::query(
            "SELECT c.id, c.uuid, c.name FROM containers c WHERE c.customer_id = $1 AND EXISTS (\
             SELECT 1 FROM domain_metrics m WHERE m.container_id = c.id AND m.domain_id = $2 \
             AND m.metric = $3 AND m.unix >= $4 AND m.unix < $5) ORDER BY c.id",
        )
        .bind(customer_id)
        .bind(domain_id)
        .bind(DomainMetric::Hits.as_str())
        .bind(day.start())
        .bind(day.end())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ServingContainer {
                    uid: container::uid_of(row.try_get("id")?),
                    uuid: row.try_get("uuid")?,
                    name: row.try_get("name")?,
                })
            })
            .collect()
    }

    /// The database id of a customer's container; anyone else's (or none) is forbidden.
    async fn customer_container_id(&self, customer_id: i64, uid: i64) -> Result<i64> {
        let mut conn = self.pool().acquire().await?;
        Ok(container_ref(&mut conn, Actor::Customer(customer_id), uid)
            .await?
            .id)
    }

    /// Checks that `domain_id` is one of the customer's domains (not found otherwise).
    async fn customer_domain(&self, customer_id: i64, domain_id: i64) -> Result<()> {
        sqlx::query_scalar::<_, i64>("SELECT id FROM domains WHERE id = $1 AND customer_id = $2")
            .bind(domain_id)
            .bind(customer_id)
            .fetch_optional(self.pool())
            .await?
            .map(|_| ())
            .ok_or(StoreError::NotFound("domain"))
    }
}
