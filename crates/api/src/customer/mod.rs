//! The uwsgi.it-compatible customer API, mounted at `/api`.

pub mod alarms;
pub mod bill_document;
pub mod bill_pdf;
pub mod billing;
pub mod containers;
pub mod custom_distros;
pub mod distros;
pub mod domains;
pub mod loopboxes;
pub mod me;
pub mod metrics;
pub mod news;
pub mod port_mappings;
pub mod tags;
pub mod vpn;

use axum::routing::{any, get, post};
use axum::Router;

use crate::ApiState;

/// The customer API's routes. Collections answer with and without a trailing slash, and
/// never redirect (a redirected POST would silently turn into a GET).
pub fn routes() -> Router<ApiState> {
    let mut router = Router::new();
    for (path, route) in [
        ("/me", get(me::show).post(me::update)),
        (
            "/containers",
            get(containers::list).post(containers::create),
        ),
        (
            "/me/containers",
            get(containers::list).post(containers::create),
        ),
        ("/distros", get(distros::list)),
        ("/custom_distros", get(custom_distros::list)),
        ("/openapi.json", get(crate::openapi::serve)),
        ("/tags", get(tags::list).post(tags::create)),
        (
            "/domains",
            get(domains::list)
                .post(domains::create)
                .delete(domains::delete_named),
        ),
        ("/loopboxes", get(loopboxes::list).post(loopboxes::create)),
        ("/alarms", get(alarms::list)),
        ("/news", get(news::list)),
    ] {
        router = router
            .route(path, route.clone())
            .route(&format!("{path}/"), route);
    }
    router
        .route(
            "/containers/{uid}",
            get(containers::show).post(containers::update),
        )
        .route(
            "/custom_distros/{uid}",
            get(custom_distros::usable).post(custom_distros::create),
        )
        .route(
            "/custom_distro/{id}",
            get(custom_distros::show)
                .post(custom_distros::update)
                .delete(custom_distros::delete),
        )
        .route(
            "/containers/{uid}/domains",
            get(metrics::domains_of_container),
        )
        .route(
            "/domains/{id}/containers",
            get(metrics::containers_of_domain),
        )
        .route("/metrics/{metric}/{id}", get(metrics::series))
        .route(
            "/domains/{id}",
            get(domains::show)
                .post(domains::update)
                .delete(domains::delete),
        )
        .route(
            "/portmappings/{server}",
            get(port_mappings::list)
                .post(port_mappings::create)
                .delete(port_mappings::delete),
        )
        .route(
            "/regenerate_secret_uuid/{uid}",
            any(containers::new_secret_uuid),
        )
        .route(
            "/tags/{id}",
            get(tags::show).post(tags::update).delete(tags::delete),
        )
        .route(
            "/loopboxes/{id}",
            get(loopboxes::show)
                .post(loopboxes::update)
                .delete(loopboxes::delete),
        )
        .route("/alarms/{id}", get(alarms::show).delete(alarms::delete))
        .route("/alarms/raise/{uid}", post(alarms::raise))
        .route("/alarms/trigger/{uid}", post(alarms::raise))
        .route("/alarm_key/{uid}", any(alarms::new_key))
}
