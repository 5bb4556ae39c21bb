//! `GET /api/openapi.json`: an OpenAPI 3.1 description of the whole customer API, for client
//! generators and API explorers. A test calls every operation it lists, so the description
//! cannot drift from the routes.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{json, Map, Value};

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
            "schemas": schemas(),
        },
        "paths": paths(),
    })
}

fn schema(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn list_of(name: &str) -> Value {
    json!({"type": "array", "items": schema(name)})
}

fn object(properties: &[(&str, Value)]) -> Value {
    let properties: Map<String, Value> = properties
        .iter()
        .map(|(name, value)| ((*name).to_owned(), value.clone()))
        .collect();
    json!({"type": "object", "properties": properties})
}

fn nullable(kind: &str) -> Value {
    json!({"type": [kind, "null"]})
}

fn kind(kind: &str) -> Value {
    json!({"type": kind})
}

fn strings() -> Value {
    json!({"type": "array", "items": {"type": "string"}})
}

fn integers() -> Value {
    json!({"type": "array", "items": {"type": "integer"}})
}

fn schemas() -> Value {
    let points = json!({"type": "array", "items": {
        "type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2,
        "description": "[unix time, value]"}});
    let container_summary = [
        ("uid", kind("integer")),
        ("name", kind("string")),
        ("hostname", kind("string")),
        ("ip", kind("string")),
        ("memory", kind("integer")),
        ("storage", kind("integer")),
        ("uuid", kind("string")),
        ("distro", nullable("integer")),
        ("distro_name", nullable("string")),
        ("custom_distro", nullable("integer")),
        ("custom_distro_name", nullable("string")),
        ("server", kind("string")),
        ("server_address", kind("string")),
        ("tags", strings()),
    ];
    let mut container = container_summary.to_vec();
    container.extend([
        ("jid", kind("string")),
        ("jid_destinations", kind("string")),
        ("pushover_user", kind("string")),
        ("pushover_token", kind("string")),
        ("pushover_sound", kind("string")),
        ("pushbullet_token", kind("string")),
        ("slack_webhook", kind("string")),
        ("alarm_freq", kind("integer")),
        ("quota_threshold", kind("integer")),
        ("nofollow", kind("boolean")),
        ("note", kind("string")),
        ("linked_to", integers()),
        ("custom_distros_storage", kind("boolean")),
        ("secret_uuid", nullable("string")),
        ("ssh_keys", strings()),
        ("legion_address", strings()),
    ]);
    let container_update = object(&[
        ("name", kind("string")),
        ("note", nullable("string")),
        ("distro", nullable("integer")),
        ("ssh_keys", strings()),
        ("tags", strings()),
        ("memory", kind("integer")),
        ("storage", kind("integer")),
        ("quota_threshold", kind("integer")),
        ("alarm_freq", kind("integer")),
        ("nofollow", kind("boolean")),
        ("custom_distros_storage", kind("boolean")),
        ("custom_distro", nullable("integer")),
        ("jid", nullable("string")),
        ("jid_secret", nullable("string")),
        ("jid_destinations", nullable("string")),
        ("pushover_user", nullable("string")),
        ("pushover_token", nullable("string")),
        ("pushover_sound", nullable("string")),
        ("pushbullet_token", nullable("string")),
        ("slack_webhook", nullable("string")),
        ("link", kind("integer")),
        ("unlink", kind("integer")),
        (
            "reboot",
            json!({"description": "any value: restart the container"}),
        ),
    ]);
    json!({
        "Error": object(&[("error", kind("string")), ("reason", kind("string"))]),
        "Message": object(&[("message", kind("string"))]),
        "Me": object(&[
            ("email", kind("string")),
            ("vat", nullable("string")),
            ("company", nullable("string")),
            ("uuid", kind("string")),
            ("containers", integers()),
            ("servers", strings()),
        ]),
        "MeUpdate": object(&[
            ("email", kind("string")),
            ("vat", nullable("string")),
            ("company", nullable("string")),
            ("password", kind("string")),
        ]),
        "ContainerSummary": object(&container_summary),
        "Container": object(&container),
        "ContainerCreate": object(&[
            ("server", kind("string")),
            ("name", kind("string")),
            ("memory", kind("integer")),
            ("storage", kind("integer")),
        ]),
        "ContainerUpdate": container_update,
        "Distro": object(&[("id", kind("integer")), ("name", kind("string"))]),
        "CustomDistroSummary": object(&[
            ("id", kind("integer")), ("name", kind("string")), ("container", kind("integer")),
        ]),
        "CustomDistro": object(&[
            ("id", kind("integer")), ("container", kind("integer")), ("name", kind("string")),
            ("path", kind("string")), ("note", kind("string")), ("uuid", kind("string")),
        ]),
        "CustomDistroCreate": object(&[
            ("name", kind("string")), ("path", kind("string")), ("note", nullable("string")),
        ]),
        "CustomDistroUpdate": object(&[("name", kind("string")), ("note", nullable("string"))]),
        "TagSummary": object(&[("id", kind("integer")), ("name", kind("string"))]),
        "Tag": object(&[("id", kind("integer")), ("name", kind("string")), ("note", nullable("string"))]),
        "TagWrite": object(&[("name", kind("string")), ("note", nullable("string"))]),
        "DomainSummary": object(&[
            ("id", kind("integer")), ("name", kind("string")), ("uuid", kind("string")), ("tags", strings()),
        ]),
        "Domain": object(&[
            ("id", kind("integer")), ("name", kind("string")), ("uuid", kind("string")),
            ("tags", strings()), ("note", nullable("string")),
        ]),
        "DomainName": object(&[("name", kind("string"))]),
        "DomainUpdate": object(&[("note", nullable("string")), ("tags", strings())]),
        "Loopbox": object(&[
            ("id", kind("integer")), ("container", kind("integer")), ("filename", kind("string")),
            ("mountpoint", kind("string")), ("ro", kind("boolean")), ("tags", strings()),
        ]),
        "LoopboxCreate": object(&[
            ("container", kind("integer")), ("filename", kind("string")),
            ("mountpoint", kind("string")), ("ro", kind("boolean")),
        ]),
        "TagsUpdate": object(&[("tags", strings())]),
        "Alarm": object(&[
            ("id", kind("integer")), ("container", kind("integer")), ("level", kind("integer")),
            ("color", kind("string")), ("class", nullable("string")), ("vassal", nullable("string")),
            ("line", nullable("integer")), ("filename", nullable("string")),
            ("func", nullable("string")), ("unix", kind("integer")), ("msg", kind("string")),
        ]),
        "AlarmPage": object(&[("total", kind("integer")), ("alarms", list_of("Alarm"))]),
        "AlarmKey": object(&[("message", kind("string")), ("alarm_key", kind("string"))]),
        "PortMapping": object(&[
            ("id", kind("integer")), ("proto", kind("string")), ("public_port", kind("integer")),
            ("container", kind("integer")), ("container_ip", kind("string")), ("private_port", kind("integer")),
        ]),
        "PortMappingCreate": object(&[
            ("container", kind("integer")), ("proto", json!({"enum": ["tcp", "udp"]})),
            ("public_port", kind("integer")), ("private_port", kind("integer")),
        ]),
        "News": object(&[("content", kind("string")), ("date", kind("integer"))]),
        "Points": points,
        "DomainSeries": {"type": "array", "items": object(&[
            ("container", kind("integer")), ("metrics", schema("Points")),
        ])},
        "ServedDomain": object(&[("id", kind("integer")), ("uuid", kind("string")), ("name", kind("string"))]),
        "ServingContainer": object(&[
            ("id", kind("integer")), ("uuid", kind("string")), ("name", kind("string")), ("uid", kind("integer")),
        ]),
    })
}

/// One operation: what it does, its parameters, request body schema and success answer.
struct Operation {
    summary: &'static str,
    parameters: Vec<Value>,
    body: Option<Value>,
    status: &'static str,
    answer: Value,
    errors: &'static [&'static str],
    /// Overrides the document's security requirements (`[]`: no credentials needed).
    security: Option<Value>,
}

impl Operation {
    fn new(summary: &'static str, status: &'static str, answer: Value) -> Operation {
        Operation {
            summary,
            parameters: Vec::new(),
            body: None,
            status,
            answer,
            errors: &["401"],
            security: None,
        }
    }

    fn query(mut self, name: &str, description: &str) -> Operation {
        self.parameters.push(json!({
            "name": name, "in": "query", "required": false,
            "schema": {"type": "string"}, "description": description,
        }));
        self
    }

    fn body(mut self, schema: Value) -> Operation {
        self.body = Some(schema);
        self
    }

    fn errors(mut self, errors: &'static [&'static str]) -> Operation {
        self.errors = errors;
        self
    }

    fn public(mut self) -> Operation {
        self.security = Some(json!([]));
        self
    }

    /// Every error status the operation can answer: its own, and those that come with
    /// credentials (401, 403 for a staff-only account, 429 for too many failed logins), a
    /// body (400, 408, 413), a query (400), a path with ids (404) and the store (500).
    fn statuses(&self, path_parameters: &[&str]) -> BTreeSet<&'static str> {
        let mut statuses: BTreeSet<&'static str> = self.errors.iter().copied().collect();
        let public = self
            .security
            .as_ref()
            .is_some_and(|security| security.as_array().is_some_and(Vec::is_empty));
        if !public {
            statuses.extend(["401", "403", "429"]);
        }
        if self.body.is_some() {
            statuses.extend(["400", "408", "413"]);
        }
        if !self.parameters.is_empty() {
            statuses.insert("400");
        }
        if !path_parameters.is_empty() {
            statuses.insert("404");
        }
        statuses.insert("500");
        statuses
    }

    fn render(self, path_parameters: &[&str]) -> Value {
        let statuses = self.statuses(path_parameters);
        let mut parameters: Vec<Value> = path_parameters
            .iter()
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        parameters.extend(self.parameters);
        let mut responses = Map::new();
        responses.insert(
            self.status.to_owned(),
            json!({"description": "success", "content": {"application/json": {"schema": self.answer}}}),
        );
        for status in statuses {
            let mut response = json!({
                "description": error_description(status),
                "content": {"application/json": {"schema": schema("Error")}},
            });
            if status == "429" {
                response["headers"] = json!({"Retry-After": {
                    "description": "seconds to wait before trying again",
                    "schema": {"type": "integer"},
                }});
            }
            responses.insert(status.to_owned(), response);
        }
        let mut operation = json!({
            "summary": self.summary,
            "parameters": parameters,
            "responses": responses,
        });
        if let Some(body) = self.body {
            operation["requestBody"] = json!({"content": {"application/json": {"schema": body}}});
        }
        if let Some(security) = self.security {
            operation["security"] = security;
        }
        operation
    }
}

/// What an error status means, in the document.
fn error_description(status: &str) -> &'static str {
    match status {
        "400" => "a malformed body, field or query parameter",
        "401" => "missing or wrong credentials",
        "403" => "not yours, not allowed, or not a customer account",
        "404" => "no such object (or not yours)",
        "405" => "method not allowed",
        "408" => "the request body did not arrive in time",
        "409" => "conflicts with the current state",
        "413" => "the request body is larger than 64 KiB",
        "416" => "the range is not satisfiable",
        "429" => "too many failed logins from this address or for this username; see Retry-After",
        "500" => "the store failed",
        _ => "error",
    }
}

fn day_query(operation: Operation) -> Operation {
    operation
        .query("year", "UTC year (default: today's)")
        .query("month", "month 1-12 (default: today's)")
        .query("day", "day of the month (default: today's)")
}

/// A path template, its path parameters, and its operations by method.
type PathItem = (
    &'static str,
    &'static [&'static str],
    Vec<(&'static str, Operation)>,
);

/// Every path of the customer API with its operations.
fn paths() -> Value {
    let ok = || schema("Message");
    let table: Vec<PathItem> = vec![
        ("/me", &[], vec![
            ("get", Operation::new("Your account, containers and dedicated servers", "200", schema("Me"))),
            ("post", Operation::new("Change email, company, VAT number or password", "200", schema("Me"))
                .body(schema("MeUpdate")).errors(&["400", "401"])),
        ]),
        ("/containers", &[], vec![
            ("get", Operation::new("Your containers", "200", list_of("ContainerSummary"))
                .query("tags", "comma-separated tag names; containers with any of them")),
            ("post", Operation::new("Create a container on a server you own", "201", ok())
                .body(schema("ContainerCreate")).errors(&["400", "401", "403", "409"])),
        ]),
        ("/me/containers", &[], vec![
            ("get", Operation::new("Your containers (alias of /containers)", "200", list_of("ContainerSummary"))
                .query("tags", "comma-separated tag names")),
            ("post", Operation::new("Create a container (alias of /containers)", "201", ok())
                .body(schema("ContainerCreate")).errors(&["400", "401", "403", "409"])),
        ]),
        ("/containers/{uid}", &["uid"], vec![
            ("get", Operation::new("One container", "200", schema("Container")).errors(&["401", "403"])),
            ("post", Operation::new("Change a container; most changes restart it", "200", schema("Container"))
                .body(schema("ContainerUpdate")).errors(&["400", "401", "403", "409"])),
        ]),
        ("/containers/{uid}/domains", &["uid"], vec![
            ("get", day_query(Operation::new("Your domains this container served on a day", "200", list_of("ServedDomain")))
                .errors(&["400", "401", "403"])),
        ]),
        ("/distros", &[], vec![
            ("get", Operation::new("The distros containers can boot", "200", list_of("Distro"))),
        ]),
        ("/custom_distros", &[], vec![
            ("get", Operation::new("Your custom distros, with the container keeping each", "200",
                list_of("CustomDistroSummary"))),
        ]),
        ("/custom_distros/{uid}", &["uid"], vec![
            ("get", Operation::new(
                "The custom distros this container may boot (yours, kept by another container on its server)",
                "200", list_of("Distro")).errors(&["401", "403"])),
            ("post", Operation::new(
                "Register the custom distro in distros/<path> of this container (custom_distros_storage)",
                "201", schema("CustomDistro"))
                .body(schema("CustomDistroCreate")).errors(&["400", "401", "403", "409"])),
        ]),
        ("/custom_distro/{id}", &["id"], vec![
            ("get", Operation::new("One custom distro", "200", schema("CustomDistro")).errors(&["401", "404"])),
            ("post", Operation::new("Rename a custom distro or change its note", "200", schema("CustomDistro"))
                .body(schema("CustomDistroUpdate")).errors(&["400", "401", "404", "409"])),
            ("delete", Operation::new(
                "Forget a custom distro; the containers booting it restart on their distro", "200", ok())
                .errors(&["401", "404"])),
        ]),
        ("/tags", &[], vec![
            ("get", Operation::new("Your tags", "200", list_of("TagSummary"))),
            ("post", Operation::new("Create a tag", "201", schema("Tag"))
                .body(schema("TagWrite")).errors(&["400", "401", "409"])),
        ]),
        ("/tags/{id}", &["id"], vec![
            ("get", Operation::new("One tag", "200", schema("Tag")).errors(&["401", "404"])),
            ("post", Operation::new("Rename a tag or change its note", "200", schema("Tag"))
                .body(schema("TagWrite")).errors(&["400", "401", "404", "409"])),
            ("delete", Operation::new("Delete a tag", "200", ok()).errors(&["401", "404"])),
        ]),
        ("/domains", &[], vec![
            ("get", Operation::new("Your domains", "200", list_of("DomainSummary"))
                .query("tags", "comma-separated tag names")),
            ("post", Operation::new(
                "Add a domain, proved by a TXT record uwsgi:<your uuid> on it or a parent name", "201", schema("Domain"))
                .body(schema("DomainName")).errors(&["400", "401", "403", "409"])),
            ("delete", Operation::new("Remove a domain by name", "200", ok())
                .body(schema("DomainName")).errors(&["400", "401", "404"])),
        ]),
        ("/domains/{id}", &["id"], vec![
            ("get", Operation::new("One domain", "200", schema("Domain")).errors(&["401", "404"])),
            ("post", Operation::new("Change a domain's note or tags", "200", schema("Domain"))
                .body(schema("DomainUpdate")).errors(&["400", "401", "403", "404"])),
            ("delete", Operation::new("Remove a domain", "200", ok()).errors(&["401", "404"])),
        ]),
        ("/domains/{id}/containers", &["id"], vec![
            ("get", day_query(Operation::new("Your containers that served this domain on a day", "200", list_of("ServingContainer")))
                .errors(&["400", "401", "404"])),
        ]),
        ("/loopboxes", &[], vec![
            ("get", Operation::new("Your loopboxes", "200", list_of("Loopbox"))
                .query("container", "only this container's (uid)")
                .query("tags", "comma-separated tag names").errors(&["401", "403"])),
            ("post", Operation::new("Attach a loopbox image to a container", "201", ok())
                .body(schema("LoopboxCreate")).errors(&["400", "401", "403", "409"])),
        ]),
        ("/loopboxes/{id}", &["id"], vec![
            ("get", Operation::new("One loopbox", "200", schema("Loopbox")).errors(&["401", "403"])),
            ("post", Operation::new("Change a loopbox's tags", "200", schema("Loopbox"))
                .body(schema("TagsUpdate")).errors(&["400", "401", "403"])),
            ("delete", Operation::new("Detach a loopbox (the image file stays)", "200", ok()).errors(&["401", "403"])),
        ]),
        ("/alarms", &[], vec![
            ("get", Operation::new("Your containers' alarms, newest first", "200",
                json!({"oneOf": [list_of("Alarm"), schema("AlarmPage")]}))
                .query("container", "uid").query("vassal", "exact match").query("class", "exact match")
                .query("color", "exact match, #rrggbb").query("level", "0 system, 1 user, 2 exception, 3 traceback, 4 log")
                .query("line", "exact match").query("filename", "exact match").query("func", "exact match")
                .query("range", "N (newest N), A-B (newest first, from A to B) or A-B with A > B (oldest first)")
                .query("with_total", "present: answer {total, alarms}")
                .errors(&["400", "401", "403", "416"])),
        ]),
        ("/alarms/{id}", &["id"], vec![
            ("get", Operation::new("One alarm", "200", schema("Alarm")).errors(&["401", "403"])),
            ("delete", Operation::new("Delete an alarm", "200", ok()).errors(&["401", "403"])),
        ]),
        ("/alarms/raise/{uid}", &["uid"], vec![
            ("post", raise_alarm("Raise an alarm; the raw body is the message")),
        ]),
        ("/alarms/trigger/{uid}", &["uid"], vec![
            ("post", raise_alarm("Raise an alarm (alias of /alarms/raise/{uid})")),
        ]),
        ("/alarm_key/{uid}", &["uid"], vec![
            ("get", alarm_key()),
            ("post", alarm_key()),
            ("delete", alarm_key()),
        ]),
        ("/news", &[], vec![
            ("get", Operation::new("The ten newest news items; public ones only without valid credentials", "200", list_of("News"))
                .public()),
        ]),
        ("/metrics/container.{metric}/{uid}", &["metric", "uid"], vec![
            ("get", day_query(Operation::new(
                "A container's samples for a day: metric is io.read, io.write, net.rx, net.tx, cpu, mem, mem.rss, mem.cache or quota",
                "200", schema("Points"))).errors(&["400", "401", "403", "404"])),
        ]),
        ("/metrics/domain.{metric}/{id}", &["metric", "id"], vec![
            ("get", day_query(Operation::new(
                "A domain's samples for a day, per container: metric is net.rx, net.tx or hits",
                "200", schema("DomainSeries"))).errors(&["400", "401", "403", "404"])),
        ]),
        ("/portmappings/{server}", &["server"], vec![
            ("get", Operation::new("The port mappings of a dedicated server you own (by address or name)", "200",
                list_of("PortMapping")).errors(&["401", "403"])),
            ("post", Operation::new("Forward a public port of your server to a container on it", "201",
                schema("PortMapping")).body(schema("PortMappingCreate")).errors(&["400", "401", "403", "409"])),
            ("delete", Operation::new("Remove a port mapping", "200", ok())
                .body(object(&[("id", kind("integer"))])).errors(&["400", "401", "403"])),
        ]),
        ("/regenerate_secret_uuid/{uid}", &["uid"], vec![
            ("get", secret_uuid()),
            ("post", secret_uuid()),
            ("delete", secret_uuid()),
        ]),
        ("/openapi.json", &[], vec![
            ("get", Operation::new("This document", "200", json!({"type": "object"})).public()),
        ]),
    ];
    let mut paths = Map::new();
    for (path, parameters, operations) in table {
        let mut item = Map::new();
        for (method, operation) in operations {
            item.insert(method.to_owned(), operation.render(parameters));
        }
        paths.insert(path.to_owned(), Value::Object(item));
    }
    Value::Object(paths)
}

/// `/regenerate_secret_uuid/{uid}` answers any method, as upstream.
fn secret_uuid() -> Operation {
    Operation::new(
        "Give a container a new secret_uuid (the old one stops working)",
        "200",
        object(&[("message", kind("string")), ("secret_uuid", kind("string"))]),
    )
    .errors(&["401", "403"])
}

/// `/alarm_key/{uid}` answers any method, as upstream (its client sends GET).
fn alarm_key() -> Operation {
    Operation::new(
        "Make a new alarm key for a container (the old one stops working)",
        "200",
        schema("AlarmKey"),
    )
    .errors(&["401", "403"])
}

fn raise_alarm(summary: &'static str) -> Operation {
    let mut operation = Operation::new(summary, "201", schema("Message"))
        .query("color", "#rrggbb (the # may be left out)")
        .query("class", "free text")
        .query("vassal", "free text")
        .query("line", "integer")
        .query("func", "free text")
        .query("filename", "free text")
        .query("level", "1 (default) to 4; 0 is the system's")
        .query("unix", "time of the alarm (default: now)")
        .query("key", "the container's alarm key, instead of credentials")
        .body(json!({"type": "string", "description": "the message, as raw text"}))
        .errors(&["400", "401", "403", "405"]);
    operation.security = Some(json!([
        {"basic": []}, {"hexUsername": [], "hexPassword": []}, {"alarmKey": []},
    ]));
    operation
}
