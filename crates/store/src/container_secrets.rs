//! A container's random secrets that its owner can replace: the alarm key and the secret uuid.

use crate::container_access::{container_ref, Actor};
use crate::{Result, Store};

/// A random secret of a container that its owner can replace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerSecret {
    /// The key apps use to raise alarms without credentials (`?key=`).
    AlarmKey,
    /// The uuid trusted external services identify the container by.
    SecretUuid,
}

impl ContainerSecret {
    fn column(self) -> &'static str {
        match self {
            ContainerSecret::AlarmKey => "alarm_key",
            ContainerSecret::SecretUuid => "secret_uuid",
        }
    }
}

impl Store {
    /// Gives the customer's container `uid` a new random `secret` (a uuid4) and returns it;
    /// the old value stops working at once.
    pub async fn regenerate_secret(
        &self,
        customer_id: i64,
        uid: i64,
        secret: ContainerSecret,
    ) -> Result<String> {
        let value = uuid::Uuid::new_v4().to_string();
        let mut write = self.write().await?;
        let owner = container_ref(&mut write.tx, Actor::Customer(customer_id), uid).await?;
        sqlx::query(&format!(
            "UPDATE containers SET {} = $1 WHERE id = $2",
            secret.column()
        ))
        .bind(&value)
        .bind(owner.id)
        .execute(&mut *write.tx)
        .await?;
        write.commit().await?;
        Ok(value)
    }
}
