//! Who makes a request: the extractors handlers name their caller with.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};

use berth_store::logins::Profile;

use super::{Authenticated, Credentials};
use crate::error::ApiError;
use crate::local::LocalStaff;
use crate::ApiState;

/// The address of the client that sent a request, as the connection shows it; 0.0.0.0 when
/// the request did not come over a connection (in-process calls).
pub fn client_address(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ConnectInfo(peer)| {
            peer.ip()
        })
}

/// The address of the client that sent a request ([`client_address`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(client_address(parts)))
    }
}

/// A request made by a customer (rejects anonymous requests with 401, staff-only users with 403).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerCaller {
    /// The customer's database id.
    pub customer_id: i64,
    /// The customer's profile, as read while authenticating.
    pub profile: Profile,
    /// The store's revision read at the start of the request: answers rendered at this
    /// revision are current for it.
    pub revision: i64,
}

/// A request made by platform staff (or by the operator through
/// [`crate::local::StaffClient`], as user id 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StaffCaller {
    /// The staff user's database id (0 for the operator's `berth admin`).
    pub user_id: i64,
}

async fn login_of(parts: &Parts, state: &ApiState) -> Result<Authenticated, ApiError> {
    let credentials =
        Credentials::from_headers(&parts.headers).ok_or_else(ApiError::unauthorized)?;
    state
        .auth
        .authenticate(&credentials, client_address(parts))
        .await
}

impl FromRequestParts<ApiState> for CustomerCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let Authenticated { login, revision } = login_of(parts, state).await?;
        login
            .customer_id
            .zip(login.profile)
            .map(|(customer_id, profile)| CustomerCaller {
                customer_id,
                profile,
                revision,
            })
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::FORBIDDEN,
                    "this account is not a customer account",
                )
            })
    }
}

/// A request that may or may not come from a customer, for pages anyone may read
/// (`/api/news`). Missing, wrong or non-customer credentials all count as anonymous: a
/// logged-out uwsgiit-console sends `None:None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaybeCustomer(pub Option<CustomerCaller>);

impl FromRequestParts<ApiState> for MaybeCustomer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState,
    ) -> Result<Self, std::convert::Infallible> {
        Ok(MaybeCustomer(
            CustomerCaller::from_request_parts(parts, state).await.ok(),
        ))
    }
}

/// Who raises an alarm: a customer by credentials or, only when the request carries no
/// credential headers at all, whoever holds the container's alarm key (`?key=`), as the
/// uWSGI alarm plugins do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlarmRaiser {
    /// Credentials of a customer.
    Customer(CustomerCaller),
    /// An alarm key, not yet checked against the container.
    Key(String),
}

#[derive(serde::Deserialize)]
struct AlarmKeyParam {
    key: Option<String>,
}

impl AlarmRaiser {
    /// The customer on whose behalf an alarm is raised on container `uid`: the caller, or the
    /// container's owner when the key is that container's current alarm key (else 401).
    pub async fn customer_id(&self, state: &ApiState, uid: i64) -> Result<i64, ApiError> {
        match self {
            AlarmRaiser::Customer(caller) => Ok(caller.customer_id),
            AlarmRaiser::Key(key) => {
                state
                    .store
                    .alarm_key_holder(uid, key)
                    .await?
                    .ok_or_else(|| {
                        ApiError::new(
                            StatusCode::UNAUTHORIZED,
                            format!("the key is not the alarm key of container {uid}"),
                        )
                    })
            }
        }
    }
}

impl FromRequestParts<ApiState> for AlarmRaiser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let has_credentials = [
            header::AUTHORIZATION.as_str(),
            "x-uwsgi-it-username",
            "x-uwsgi-it-password",
        ]
        .iter()
        .any(|name| parts.headers.contains_key(*name));
        if has_credentials {
            return CustomerCaller::from_request_parts(parts, state)
                .await
                .map(AlarmRaiser::Customer);
        }
        let Query(AlarmKeyParam { key }) = Query::try_from_uri(&parts.uri)
            .map_err(|_| ApiError::bad_request("malformed query string"))?;
        key.filter(|key| !key.is_empty())
            .map(AlarmRaiser::Key)
            .ok_or_else(ApiError::unauthorized)
    }
}

impl FromRequestParts<ApiState> for StaffCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        if parts.extensions.get::<LocalStaff>().is_some() {
            return Ok(StaffCaller { user_id: 0 });
        }
        let login = login_of(parts, state).await?.login;
        if login.is_staff {
            Ok(StaffCaller {
                user_id: login.user_id,
            })
        } else {
            Err(ApiError::new(StatusCode::FORBIDDEN, "staff only"))
        }
    }
}
