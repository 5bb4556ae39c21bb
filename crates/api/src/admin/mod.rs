//! The staff API under `/v1/admin`: every staff operation, over HTTP and, for `berth admin`,
//! in-process (see [`crate::local`]).

pub mod billing;
pub mod containers;
pub mod customers;
pub mod domains;
pub mod infrastructure;
pub mod ledger;
pub mod legions;
pub mod news;
pub mod views;
pub mod vpn;

use axum::routing::{get, post};
use axum::Router;

use crate::ApiState;

/// The staff API's routes.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/customers", get(customers::list).post(customers::create))
        .route("/customers/{username}/password", post(customers::password))
        .route(
            "/customers/{username}/billing-address",
            post(customers::billing_address),
        )
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
            "/products",
            get(billing::products).post(billing::create_product),
        )
        .route("/products/{id}", post(billing::update_product))
        .route("/orders", get(ledger::orders).post(billing::place_order))
        .route("/bills", get(ledger::bills))
        .route("/balance", get(ledger::balance))
        .route("/orders/{id}/replace", post(billing::replace_order))
        .route("/orders/{id}/cancel", post(billing::cancel_order))
        .route("/bills/generate", post(billing::generate_bills))
        .route("/bills/{id}/close", post(billing::close_bill))
        .route(
            "/payments",
            get(billing::payments).post(billing::book_payment),
        )
        .route(
            "/vat-rates",
            get(billing::vat_rates).post(billing::import_vat_rates),
        )
        .route(
            "/containers/{uid}",
            get(containers::show)
                .post(containers::resize)
                .delete(containers::delete),
        )
        .route("/containers/{uid}/order", post(containers::order))
        .route("/containers/{uid}/max-alarms", post(containers::max_alarms))
        .route("/legions", get(legions::list).post(legions::create))
        .route(
            "/legions/{name}",
            get(legions::show).delete(legions::delete),
        )
        .route("/legions/{name}/servers", post(legions::add_server))
        .route(
            "/legions/{name}/servers/{server}",
            axum::routing::delete(legions::remove_server),
        )
        .route("/vpnpool", get(vpn::list).post(vpn::create))
        .route("/vpn-networks", get(vpn::networks))
        .route("/vpnpool/", get(vpn::list).post(vpn::create))
        .route("/vpnpool/{id}", get(vpn::show).delete(vpn::delete))
}
