//! The paths of the document: every route of the customer API with its operations.

use serde_json::{json, Map, Value};

use super::operation::Operation;
use super::reference as schema;
use super::schemas::list_of;

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
pub(super) fn paths() -> Value {
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
            ("post", Operation::new("Create a container on a server you own", "201", schema("ContainerCreated"))
                .body(schema("ContainerCreate")).errors(&["400", "401", "403", "409"])),
        ]),
        ("/me/containers", &[], vec![
            ("get", Operation::new("Your containers (alias of /containers)", "200", list_of("ContainerSummary"))
                .query("tags", "comma-separated tag names")),
            ("post", Operation::new("Create a container (alias of /containers)", "201", schema("ContainerCreated"))
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
                "201", schema("CustomDistroCreated"))
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
                .body(schema("TagCreate")).errors(&["400", "401", "409"])),
        ]),
        ("/tags/{id}", &["id"], vec![
            ("get", Operation::new("One tag", "200", schema("Tag")).errors(&["401", "404"])),
            ("post", Operation::new("Rename a tag or change its note", "200", schema("Tag"))
                .body(schema("TagUpdate")).errors(&["400", "401", "404", "409"])),
            ("delete", Operation::new("Delete a tag", "200", ok()).errors(&["401", "404"])),
        ]),
        ("/domains", &[], vec![
            ("get", Operation::new("Your domains", "200", list_of("DomainSummary"))
                .query("tags", "comma-separated tag names")),
            ("post", Operation::new(
                "Add a domain, proved by a TXT record uwsgi:<your uuid> on it or a parent name", "201", schema("DomainCreated"))
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
            ("post", Operation::new("Attach a loopbox image to a container", "201", schema("Created"))
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
                .body(schema("PortMappingId")).errors(&["400", "401", "403"])),
        ]),
        ("/regenerate_secret_uuid/{uid}", &["uid"], vec![
            ("get", secret_uuid()),
            ("post", secret_uuid()),
            ("delete", secret_uuid()),
        ]),
        ("/openapi.json", &[], vec![
            ("get", Operation::new("This document", "200", schema("Document")).public()),
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
        schema("SecretUuid"),
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
    Operation::new(summary, "201", schema("Created"))
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
        .errors(&["400", "401", "403", "405"])
        .security(json!([
            {"basic": []}, {"hexUsername": [], "hexPassword": []}, {"alarmKey": []},
        ]))
}
