//! The component schemas: what the customer API answers and what it reads.
//!
//! Answers are strict: an answer object lists every field a handler sends, `required` holds
//! those it always sends, and no other field is allowed, so a field gained or lost by a
//! handler fails the API tests (which validate every answer against the document). Request
//! bodies are lenient, as the handlers are: unknown keys are ignored.

use serde_json::{json, Map, Value};

use super::reference;

/// An array of `name` objects.
pub(super) fn list_of(name: &str) -> Value {
    json!({"type": "array", "items": reference(name)})
}

fn kind(kind: &str) -> Value {
    json!({"type": kind})
}

/// `kind` or `null`.
fn nullable(kind: &str) -> Value {
    json!({"type": [kind, "null"]})
}

fn strings() -> Value {
    json!({"type": "array", "items": {"type": "string"}})
}

fn integers() -> Value {
    json!({"type": "array", "items": {"type": "integer"}})
}

fn properties(fields: &[(&str, Value)]) -> Map<String, Value> {
    fields
        .iter()
        .map(|(name, value)| ((*name).to_owned(), value.clone()))
        .collect()
}

/// An answer object that always has every field of `fields`, and nothing else.
fn record(fields: &[(&str, Value)]) -> Value {
    record_with(fields, &[])
}

/// An answer object that always has `required`, may have `optional`, and nothing else.
fn record_with(required: &[(&str, Value)], optional: &[(&str, Value)]) -> Value {
    let names: Vec<&str> = required.iter().map(|(name, _)| *name).collect();
    let mut all = properties(required);
    all.extend(properties(optional));
    json!({
        "type": "object",
        "properties": all,
        "required": names,
        "additionalProperties": false,
    })
}

/// A request body: an object whose `required` fields must be there; other keys are ignored.
fn input(fields: &[(&str, Value)], required: &[&str]) -> Value {
    let mut schema = json!({"type": "object", "properties": properties(fields)});
    if !required.is_empty() {
        schema["required"] = json!(required);
    }
    schema
}

/// The `message` of an answer that only says it worked.
fn ok() -> Value {
    json!({"const": "Ok"})
}

/// `fields` and `{"message": "Created"}`: what creations answer.
fn created(fields: &[(&str, Value)]) -> Value {
    let mut fields = fields.to_vec();
    fields.push(("message", json!({"const": "Created"})));
    record(&fields)
}

/// The list shape of a container.
fn container_summary() -> Vec<(&'static str, Value)> {
    vec![
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
    ]
}

/// The detail shape of a container: the list shape, `custom_distro_name` only when a custom
/// distro is set (as upstream), and every readable setting (`jid_secret` is never shown).
fn container() -> Value {
    let mut always: Vec<(&str, Value)> = container_summary()
        .into_iter()
        .filter(|(name, _)| *name != "custom_distro_name")
        .collect();
    always.extend([
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
    record_with(&always, &[("custom_distro_name", kind("string"))])
}

fn container_update() -> Value {
    input(
        &[
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
        ],
        &[],
    )
}

fn custom_distro() -> Vec<(&'static str, Value)> {
    vec![
        ("id", kind("integer")),
        ("container", kind("integer")),
        ("name", kind("string")),
        ("path", kind("string")),
        ("note", kind("string")),
        ("uuid", kind("string")),
    ]
}

fn domain() -> Vec<(&'static str, Value)> {
    vec![
        ("id", kind("integer")),
        ("name", kind("string")),
        ("uuid", kind("string")),
        ("tags", strings()),
        ("note", nullable("string")),
    ]
}

fn alarm() -> Value {
    record(&[
        ("id", kind("integer")),
        ("container", kind("integer")),
        (
            "level",
            json!({"type": "integer", "minimum": 0, "maximum": 4}),
        ),
        (
            "color",
            json!({"type": "string", "pattern": "^#[0-9a-f]{6}$"}),
        ),
        ("class", nullable("string")),
        ("vassal", nullable("string")),
        ("line", nullable("integer")),
        ("filename", nullable("string")),
        ("func", nullable("string")),
        ("unix", kind("integer")),
        ("msg", kind("string")),
    ])
}

/// Every component schema.
pub(super) fn schemas() -> Value {
    let proto = json!({"enum": ["tcp", "udp"]});
    let points = json!({"type": "array", "items": {
        "type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2,
        "description": "[unix time, value]"}});
    let domain_summary: Vec<_> = domain()
        .into_iter()
        .filter(|(name, _)| *name != "note")
        .collect();
    json!({
        "Error": record_with(&[("error", kind("string"))], &[("reason", kind("string"))]),
        "Message": record(&[("message", ok())]),
        "Document": {"type": "object", "required": ["openapi", "info", "paths"]},
        "Me": record(&[
            ("email", kind("string")),
            ("vat", nullable("string")),
            ("company", nullable("string")),
            ("uuid", kind("string")),
            ("containers", integers()),
            ("servers", strings()),
        ]),
        "MeUpdate": input(&[
            ("email", kind("string")),
            ("vat", nullable("string")),
            ("company", nullable("string")),
            ("password", kind("string")),
        ], &[]),
        "ContainerSummary": record(&container_summary()),
        "Container": container(),
        "ContainerCreate": input(&[
            ("server", kind("string")),
            ("name", kind("string")),
            ("memory", kind("integer")),
            ("storage", kind("integer")),
        ], &["server", "name", "memory", "storage"]),
        "ContainerCreated": created(&[("uid", kind("integer"))]),
        "ContainerUpdate": container_update(),
        "SecretUuid": record(&[("message", ok()), ("secret_uuid", kind("string"))]),
        "Distro": record(&[("id", kind("integer")), ("name", kind("string"))]),
        "CustomDistroSummary": record(&[
            ("id", kind("integer")), ("name", kind("string")), ("container", kind("integer")),
        ]),
        "CustomDistro": record(&custom_distro()),
        "CustomDistroCreated": created(&custom_distro()),
        "CustomDistroCreate": input(&[
            ("name", kind("string")), ("path", kind("string")), ("note", nullable("string")),
        ], &["name", "path"]),
        "CustomDistroUpdate": input(&[("name", kind("string")), ("note", nullable("string"))], &[]),
        "TagSummary": record(&[("id", kind("integer")), ("name", kind("string"))]),
        "Tag": record(&[("id", kind("integer")), ("name", kind("string")), ("note", nullable("string"))]),
        "TagCreate": input(&[("name", kind("string")), ("note", nullable("string"))], &["name"]),
        "TagUpdate": input(&[("name", kind("string")), ("note", nullable("string"))], &[]),
        "DomainSummary": record(&domain_summary),
        "Domain": record(&domain()),
        "DomainCreated": created(&domain()),
        "DomainName": input(&[("name", kind("string"))], &["name"]),
        "DomainUpdate": input(&[("note", nullable("string")), ("tags", strings())], &[]),
        "Loopbox": record(&[
            ("id", kind("integer")), ("container", kind("integer")), ("filename", kind("string")),
            ("mountpoint", kind("string")), ("ro", kind("boolean")), ("tags", strings()),
        ]),
        "LoopboxCreate": input(&[
            ("container", kind("integer")), ("filename", kind("string")),
            ("mountpoint", kind("string")), ("ro", nullable("boolean")),
        ], &["container", "filename", "mountpoint"]),
        "Created": created(&[("id", kind("integer"))]),
        "TagsUpdate": input(&[("tags", strings())], &["tags"]),
        "Alarm": alarm(),
        "AlarmPage": record(&[("total", kind("integer")), ("alarms", list_of("Alarm"))]),
        "AlarmKey": record(&[("message", ok()), ("alarm_key", kind("string"))]),
        "PortMapping": record(&[
            ("id", kind("integer")), ("proto", proto.clone()), ("public_port", kind("integer")),
            ("container", kind("integer")), ("container_ip", kind("string")),
            ("private_port", kind("integer")),
        ]),
        "PortMappingCreate": input(&[
            ("container", kind("integer")), ("proto", proto),
            ("public_port", kind("integer")), ("private_port", kind("integer")),
        ], &["container", "proto", "public_port", "private_port"]),
        "PortMappingId": input(&[("id", kind("integer"))], &["id"]),
        "News": record(&[("content", kind("string")), ("date", kind("integer"))]),
        "Points": points,
        "DomainSeries": {"type": "array", "items": record(&[
            ("container", kind("integer")), ("metrics", reference("Points")),
        ])},
        "ServedDomain": record(&[("id", kind("integer")), ("uuid", kind("string")), ("name", kind("string"))]),
        "ServingContainer": record(&[
            ("id", kind("integer")), ("uuid", kind("string")), ("name", kind("string")),
            ("uid", kind("integer")),
        ]),
    })
}
