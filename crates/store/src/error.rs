//! The errors of the store: what went wrong in words the API can pass on to a client.

use berth_model::capacity::CapacityError;
use berth_model::ValidationError;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The object does not exist (or is not the caller's).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The change clashes with existing data (a unique name, an existing link).
    #[error("{0}")]
    Conflict(String),
    /// The caller may not do this to this object.
    #[error("{0}")]
    Forbidden(String),
    /// A value was refused by the model's rules.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The server cannot hold what was asked for.
    #[error(transparent)]
    Capacity(#[from] CapacityError),
    /// The database failed.
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// A migration could not be applied.
    #[error("migration {version} failed: {source}")]
    Migration {
        /// The migration's version.
        version: i64,
        /// The database error.
        source: sqlx::Error,
    },
    /// Cryptography failed (key generation or password hashing).
    #[error("crypto error: {0}")]
    Crypto(String),
}

/// SQLSTATE codes PostgreSQL gives for text it cannot store (a NUL byte, say): the client's
/// input is at fault, not the database.
const UNSTORABLE_TEXT: [&str; 2] = ["22021", "22P05"];

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &error {
            if db
                .code()
                .is_some_and(|code| UNSTORABLE_TEXT.contains(&code.as_ref()))
            {
                return StoreError::Invalid(ValidationError::new(
                    "input",
                    "text must not contain NUL characters",
                ));
            }
        }
        StoreError::Database(error)
    }
}

/// Results of the store.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Turns a unique-constraint violation into [`StoreError::Conflict`] with `message`, and
/// passes every other error through.
pub(crate) fn conflict_on_unique(
    message: impl Into<String>,
) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |error| match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(message.into())
        }
        _ => StoreError::from(error),
    }
}
