//! `GET /api/openapi.json`: an OpenAPI 3.1 description of the whole customer API, for client
//! generators and API explorers. The API tests call every operation it lists and validate
//! every answer they get from `/api` against it (path, method, status and body), so the
//! description cannot drift from the handlers.

mod operation;
mod paths;
mod schemas;

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{json, Value};

/// `GET /openapi.json`: the document, rendered once.
pub async fn serve() -> impl IntoResponse {
    static RENDERED: OnceLock<String> = OnceLock::new();
    let body = RENDERED.get_or_init(|| document().to_string());
    ([(header::CONTENT_TYPE, "application/json")], body.as_str())
}

/// The OpenAPI document of the customer API (mounted at `/api`).
pub fn document() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "berth customer API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The uwsgi.it-compatible customer API of berth. Bodies are JSON \
                whatever the Content-Type says; collections answer with and without a \
                trailing slash; every error is a JSON object with an `error` key (the reason \
                phrase) and usually a `reason`.",
        },
        "servers": [{"url": "/api"}],
        "security": [{"basic": []}, {"hexUsername": [], "hexPassword": []}],
        "components": {
            "securitySchemes": {
                "basic": {"type": "http", "scheme": "basic"},
                "hexUsername": {"type": "apiKey", "in": "header", "name": "X-uwsgi-it-username",
                    "description": "The username, hex-encoded (for browser clients)."},
                "hexPassword": {"type": "apiKey", "in": "header", "name": "X-uwsgi-it-password",
                    "description": "The password, hex-encoded."},
                "alarmKey": {"type": "apiKey", "in": "query", "name": "key",
                    "description": "A container's alarm key (see /alarm_key/{uid})."},
            },
            "schemas": schemas::schemas(),
        },
        "paths": paths::paths(),
    })
}

/// A reference to the component schema `name`.
fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}
