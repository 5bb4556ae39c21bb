//! The staff API under `/v1/admin`: the same operations as `berth admin`, over HTTP.

pub mod containers;
pub mod customers;
pub mod domains;
pub mod infrastructure;
pub mod news;
pub mod views;

use axum::routing::{get, post};
use axum::Router;

use crate::ApiState;

/// The staff API's routes.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/customers", get(customers::list).post(customers::create))
        .route("/customers/{username}/password", post(customers::password))
        .route("/staff", post(customers::create_staff))
        .route(
            "/servers",
            get(infrastructure::servers).post(infrastructure::add_server),
        )
        .route(
            "/servers/{name}/join-token",
            post(infrastructure::join_token),
        )
        .route(
            "/distros",
            get(infrastructure::distros).post(infrastructure::add_distro),
        )
        .route(
            "/containers",
            get(containers::list).post(containers::create),
        )
        .route("/news", get(news::list).post(news::create))
        .route(
            "/domains",
            get(domains::list)
                .post(domains::assign)
                .delete(domains::delete),
        )
        .route(
            "/containers/{uid}",
            get(containers::show)
                .post(containers::resize)
                .delete(containers::delete),
        )
}
