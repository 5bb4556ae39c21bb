//! `/api/domains`: domains proved by a DNS TXT record `uwsgi:<customer uuid>` against a real
//! DNS server on loopback, unique across customers, tagged, and isolated per customer.

mod support;

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use berth_api::dns_proof::{DnsMode, DnsProofConfig};
use berth_store::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use support::dns::{self, TestDns};
use support::{Login, TestApi, TestCustomer};

fn record(customer: &TestCustomer) -> String {
    format!("uwsgi:{}", customer.uuid)
}

async fn add(api: &TestApi, login: &Login, name: &str) -> (StatusCode, Value) {
    api.post("/api/domains", login, &json!({"name": name}).to_string())
        .await
}

async fn delete_named(api: &TestApi, login: &Login, body: &str) -> (StatusCode, Value) {
    api.send(
        Method::DELETE,
        "/api/domains",
        Some(login),
        Some(body.as_bytes().to_vec()),
    )
    .await
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|domain| domain["name"].as_str().expect("name"))
        .collect()
}

on_both_stores! {
    async fn a_proved_domain_is_created_shown_and_listed(api) {
        let alice = api.customer("alice").await;
        api.dns.txt("example.com", "v=spf1 -all").await;
        api.dns.txt("example.com", &record(&alice)).await;
        let (status, created) = add(&api, &alice.login, "Example.COM").await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        assert_eq!(created["message"], "Created");
        assert_eq!(created["name"], "example.com");
        assert_eq!(created["tags"], json!([]));
        assert_eq!(created["note"], Value::Null);
        assert!(created["uuid"].as_str().is_some_and(|uuid| uuid.len() == 36));
        let id = created["id"].as_i64().expect("id");
        let (status, list) = api.get("/api/domains", &alice.login).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(list, json!([{"id": id, "name": "example.com", "uuid": created["uuid"], "tags": []}]));
        assert_eq!(api.get("/api/domains/", &alice.login).await.1, list);
        let (status, detail) = api.get(&format!("/api/domains/{id}"), &alice.login).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(detail, json!({"id": id, "name": "example.com", "uuid": created["uuid"], "tags": [], "note": null}));
    }

    async fn a_missing_record_is_403_saying_what_was_looked_for_where(api) {
        let alice = api.customer("alice").await;
        let (status, error) = add(&api, &alice.login, "www.example.org").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(error["error"], "Forbidden");
        let reason = error["reason"].as_str().expect("reason");
        assert!(reason.contains(&format!("no TXT record \"uwsgi:{}\"", alice.uuid)), "{reason}");
        assert!(reason.contains("www.example.org or its parent names down to example.org"), "{reason}");
        assert!(reason.contains(&format!("asked {}", api.dns.addr)), "{reason}");
        assert_eq!(api.get("/api/domains", &alice.login).await.1, json!([]));
        // Once the record is there, the same request succeeds: nothing stale is remembered.
        api.dns.txt("www.example.org", &record(&alice)).await;
        assert_eq!(add(&api, &alice.login, "www.example.org").await.0, StatusCode::CREATED);
    }

    async fn another_customers_record_proves_nothing(api) {
        let alice = api.customer("alice").await;
        let bob = api.customer("bob").await;
        api.dns.txt("example.net", &record(&bob)).await;
        let (status, error) = add(&api, &alice.login, "example.net").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let reason = error["reason"].as_str().expect("reason");
        assert!(reason.contains(&format!("found \"uwsgi:{}\" on example.net instead", bob.uuid)), "{reason}");
        // A record that merely starts like the uuid is not the uuid.
        api.dns.txt("example.org", &record(&alice)[..20]).await;
        assert_eq!(add(&api, &alice.login, "example.org").await.0, StatusCode::FORBIDDEN);
        assert_eq!(add(&api, &bob.login, "example.net").await.0, StatusCode::CREATED);
    }

    async fn a_record_on_a_parent_proves_subdomains_and_the_wildcard(api) {
        let alice = api.customer("alice").await;
        api.dns.txt("example.com", &record(&alice)).await;
        for name in ["www.example.com", ".example.com", "a.b.example.com", ".www.example.com"] {
            let (status, created) = add(&api, &alice.login, name).await;
            assert_eq!(status, StatusCode::CREATED, "{name}: {created}");
            assert_eq!(created["name"], name);
        }
        let (_, list) = api.get("/api/domains", &alice.login).await;
        assert_eq!(names(&list), vec![".example.com", ".www.example.com", "a.b.example.com", "www.example.com"]);
        // The record proves its own name and what lies below it, never a sibling.
        assert_eq!(add(&api, &alice.login, "example.org").await.0, StatusCode::FORBIDDEN);
    }

    async fn names_are_unique_across_customers(api) {
        let alice = api.customer("alice").await;
        let bob = api.customer("bob").await;
        api.dns.txt("example.com", &record(&alice)).await;
        api.dns.txt("example.com", &record(&bob)).await;
        assert_eq!(add(&api, &alice.login, "example.com").await.0, StatusCode::CREATED);
        let (status, error) = add(&api, &alice.login, "example.com").await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(error["reason"], "you already have the domain example.com");
        for name in ["example.com", "EXAMPLE.com."] {
            let (status, error) = add(&api, &bob.login, name).await;
            assert_eq!(status, StatusCode::CONFLICT, "{name}");
            assert_eq!(error["reason"], "the domain example.com belongs to another customer");
        }
        // The wildcard is a name of its own.
        assert_eq!(add(&api, &bob.login, ".example.com").await.0, StatusCode::CREATED);
        assert_eq!(names(&api.get("/api/domains", &bob.login).await.1), vec![".example.com"]);
    }

    async fn domains_are_tagged_filtered_noted_and_deleted(api) {
        let alice = api.customer("alice").await;
        api.dns.txt("example.com", &record(&alice)).await;
        for tag in ["a", "b"] {
            api.post("/api/tags", &alice.login, &json!({"name": tag}).to_string()).await;
        }
        let mut ids = Vec::new();
        for name in ["both.example.com", "only-a.example.com", "none.example.com"] {
            ids.push(add(&api, &alice.login, name).await.1["id"].as_i64().expect("id"));
        }
        let (status, both) = api.post(&format!("/api/domains/{}", ids[0]), &alice.login, r#"{"tags": ["b", "a", "unknown"], "note": "shop"}"#).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(both, json!({"id": ids[0], "name": "both.example.com", "uuid": both["uuid"], "tags": ["a", "b"], "note": "shop"}));
        api.post(&format!("/api/domains/{}", ids[1]), &alice.login, r#"{"tags": ["a"]}"#).await;
        assert_eq!(names(&api.get("/api/domains?tags=a,b", &alice.login).await.1), vec!["both.example.com", "only-a.example.com"]);
        assert_eq!(names(&api.get("/api/domains?tags=b", &alice.login).await.1), vec!["both.example.com"]);
        assert_eq!(api.get("/api/domains?tags=", &alice.login).await.1.as_array().expect("list").len(), 3);
        assert_eq!(api.get("/api/domains?tags=nothing", &alice.login).await.1, json!([]));
        // An update that names nothing changes nothing (as upstream); null clears the note.
        assert_eq!(api.post(&format!("/api/domains/{}", ids[0]), &alice.login, "{}").await.1, both);
        let (_, cleared) = api.post(&format!("/api/domains/{}", ids[0]), &alice.login, r#"{"note": null, "tags": []}"#).await;
        assert_eq!((cleared["note"].clone(), cleared["tags"].clone()), (Value::Null, json!([])));
        // Deleting a tag takes it off the domain.
        let (_, tags) = api.get("/api/tags", &alice.login).await;
        api.delete(&format!("/api/tags/{}", tags[0]["id"]), &alice.login).await;
        assert_eq!(api.get(&format!("/api/domains/{}", ids[1]), &alice.login).await.1["tags"], json!([]));
        // Delete by id, then by name (the uwsgiit-py way: DELETE /domains with a JSON body).
        assert_eq!(api.delete(&format!("/api/domains/{}", ids[0]), &alice.login).await, (StatusCode::OK, json!({"message": "Ok"})));
        assert_eq!(api.get(&format!("/api/domains/{}", ids[0]), &alice.login).await.0, StatusCode::NOT_FOUND);
        assert_eq!(api.delete(&format!("/api/domains/{}", ids[0]), &alice.login).await.0, StatusCode::NOT_FOUND);
        assert_eq!(delete_named(&api, &alice.login, r#"{"name": "Only-A.example.com"}"#).await, (StatusCode::OK, json!({"message": "Ok"})));
        assert_eq!(delete_named(&api, &alice.login, r#"{"name": "only-a.example.com"}"#).await.0, StatusCode::NOT_FOUND);
        assert_eq!(names(&api.get("/api/domains", &alice.login).await.1), vec!["none.example.com"]);
        // A deleted name is free again.
        assert_eq!(add(&api, &alice.login, "both.example.com").await.0, StatusCode::CREATED);
    }

    async fn another_customers_domain_is_404(api) {
        let alice = api.customer("alice").await;
        let bob = api.customer("bob").await;
        api.dns.txt("example.com", &record(&alice)).await;
        let (_, created) = add(&api, &alice.login, "example.com").await;
        let path = format!("/api/domains/{}", created["id"]);
        assert_eq!(api.get(&path, &bob.login).await.0, StatusCode::NOT_FOUND);
        assert_eq!(api.post(&path, &bob.login, r#"{"note": "mine now"}"#).await.0, StatusCode::NOT_FOUND);
        assert_eq!(api.delete(&path, &bob.login).await.0, StatusCode::NOT_FOUND);
        assert_eq!(delete_named(&api, &bob.login, r#"{"name": "example.com"}"#).await.0, StatusCode::NOT_FOUND);
        assert_eq!(api.get("/api/domains", &bob.login).await.1, json!([]));
        let (_, detail) = api.get(&path, &alice.login).await;
        assert_eq!((detail["name"].clone(), detail["note"].clone()), (json!("example.com"), Value::Null));
        for missing in ["/api/domains/999999", "/api/domains/x", "/api/domains/-1"] {
            assert_eq!(api.get(missing, &alice.login).await.0, StatusCode::NOT_FOUND, "{missing}");
        }
        assert_eq!(api.send(Method::GET, "/api/domains", None, None).await.0, StatusCode::UNAUTHORIZED);
    }

    async fn bad_input_is_a_4xx_and_changes_nothing(api) {
        let alice = api.customer("alice").await;
        api.dns.txt("example.com", &record(&alice)).await;
        let (_, created) = add(&api, &alice.login, "example.com").await;
        let path = format!("/api/domains/{}", created["id"]);
        let long = format!("{}.com", "a".repeat(300));
        let bodies: Vec<String> = vec![
            "".into(), "{}".into(), "[]".into(), "\"example.com\"".into(), "null".into(), "{not json".into(),
            r#"{"name": 5}"#.into(), r#"{"name": ["example.com"]}"#.into(), r#"{"name": null}"#.into(),
            json!({"name": long}).to_string(),
        ];
        let mut hostile: Vec<String> = [
            "", "com", "*.example.com", "exa_mple.com", "bücher.example.com", "example.com/x", "a..example.com",
            "127.0.0.1", "-a.example.com", "a\u{0}b.example.com", "x.example.com\nHost: evil", "'; DROP TABLE domains; --",
        ].iter().map(|name| json!({"name": name}).to_string()).collect();
        hostile.extend(bodies);
        for body in &hostile {
            let (status, error) = api.post("/api/domains", &alice.login, body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "POST {body:?}: {error}");
            assert!(error["reason"].is_string(), "{body:?}");
            let (status, _) = delete_named(&api, &alice.login, body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "DELETE {body:?}");
        }
        let big = json!({"name": "example.org", "note": "x".repeat(70 * 1024)}).to_string();
        assert_eq!(api.post("/api/domains", &alice.login, &big).await.0, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(api.post(&path, &alice.login, &big).await.0, StatusCode::PAYLOAD_TOO_LARGE);
        for body in [r#"{"tags": "a"}"#, r#"{"tags": [1]}"#, r#"{"note": 5}"#, r#"{"note": "a\u0000b"}"#, r#"{"note": "\u001b[2J"}"#, "[1]"] {
            let (status, _) = api.post(&path, &alice.login, body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        }
        for query in ["?tags=%00", "?tags=,,,", "?tags=%ff", "?tags=a&tags=b"] {
            let (status, _) = api.get(&format!("/api/domains{query}"), &alice.login).await;
            assert!(status == StatusCode::OK || status == StatusCode::BAD_REQUEST, "{query}: {status}");
        }
        assert_eq!(api.send(Method::PUT, "/api/domains", Some(&alice.login), None).await.0, StatusCode::METHOD_NOT_ALLOWED);
        let (_, detail) = api.get(&path, &alice.login).await;
        assert_eq!((detail["name"].clone(), detail["note"].clone()), (json!("example.com"), Value::Null));
        assert_eq!(names(&api.get("/api/domains", &alice.login).await.1), vec!["example.com"]);
    }

    async fn staff_assign_and_remove_domains_without_proof(api) {
        let alice = api.customer("alice").await;
        let bob = api.customer("bob").await;
        let (status, assigned) = api.post("/v1/admin/domains", &api.staff, r#"{"name": "Example.com", "customer": "alice"}"#).await;
        assert_eq!(status, StatusCode::CREATED, "{assigned}");
        assert_eq!((assigned["name"].clone(), assigned["customer"].clone()), (json!("example.com"), json!("alice")));
        assert_eq!(names(&api.get("/api/domains", &alice.login).await.1), vec!["example.com"]);
        let (status, error) = api.post("/v1/admin/domains", &api.staff, r#"{"name": "example.com", "customer": "bob"}"#).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(error["reason"], "the domain example.com belongs to alice");
        api.dns.txt("example.com", &record(&bob)).await;
        assert_eq!(add(&api, &bob.login, "example.com").await.0, StatusCode::CONFLICT);
        assert_eq!(api.post("/v1/admin/domains", &api.staff, r#"{"name": "example.org", "customer": "ghost"}"#).await.0, StatusCode::NOT_FOUND);
        assert_eq!(api.post("/v1/admin/domains", &api.staff, r#"{"name": "*.example.org", "customer": "bob"}"#).await.0, StatusCode::BAD_REQUEST);
        // Staff names are checked like customers' (one rule in berth-model): not valid IDNA.
        for name in ["xn--zz.com", "www.xn--zz.example.org", ".xn--zz.com"] {
            let body = json!({"name": name, "customer": "bob"}).to_string();
            let (status, error) = api.post("/v1/admin/domains", &api.staff, &body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {error}");
            let (status, error) = add(&api, &bob.login, name).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {error}");
        }
        assert_eq!(api.post("/v1/admin/domains", &alice.login, r#"{"name": "example.org", "customer": "alice"}"#).await.0, StatusCode::FORBIDDEN);
        let (_, all) = api.get("/v1/admin/domains", &api.staff).await;
        assert_eq!(all[0]["customer"], "alice");
        let (status, _) = api.send(Method::DELETE, "/v1/admin/domains", Some(&api.staff), Some(br#"{"name": "example.com"}"#.to_vec())).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(api.get("/api/domains", &alice.login).await.1, json!([]));
        assert_eq!(add(&api, &bob.login, "example.com").await.0, StatusCode::CREATED);
    }
}

/// A DNS server that never answers: the proof gives up after its 3-second timeout with a 403
/// that says so, not a hang or a 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_is_a_403_that_says_it_timed_out() {
    let (silent, _task) = dns::silent().await;
    let api = TestApi::start_with(Backend::Sqlite, Some(DnsProofConfig::server(silent))).await;
    let alice = api.customer("alice").await;
    let started = Instant::now();
    let (status, error) = add(&api, &alice.login, "www.example.com").await;
    let took = started.elapsed();
    assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
    let reason = error["reason"].as_str().expect("reason");
    assert!(reason.contains("timed out"), "{reason}");
    assert!(reason.contains(&silent.to_string()), "{reason}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert_eq!(api.get("/api/domains", &alice.login).await.1, json!([]));
    api.finish().await;
}

/// The default mode, as uwsgi.it: the resolver only says who the name servers of the zone
/// are; the TXT record is read from them (here 127.x.y.z port 53, a second loopback server),
/// so a record the resolver does not have yet still proves the domain. A zone without name
/// servers is asked through the resolver.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_the_domains_own_name_servers_are_asked() {
    let bytes = uuid::Uuid::new_v4().into_bytes();
    let authoritative_ip = Ipv4Addr::new(127, bytes[0].max(1), bytes[1], bytes[2].max(2));
    let authoritative = TestDns::start(IpAddr::V4(authoritative_ip), 53, &["example.com"]).await;
    let resolver = TestDns::start(
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        0,
        &["example.com", "example.org"],
    )
    .await;
    resolver.ns("example.com", "ns1.example.com").await;
    resolver.a("ns1.example.com", authoritative_ip).await;
    let config = DnsProofConfig {
        mode: DnsMode::Authoritative {
            resolver: Some(resolver.addr),
        },
        ..DnsProofConfig::default()
    };
    let api = TestApi::start_with(Backend::Sqlite, Some(config)).await;
    let alice = api.customer("alice").await;
    let (status, error) = add(&api, &alice.login, "www.example.com").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let reason = error["reason"].as_str().expect("reason");
    assert!(
        reason.contains(&format!("asked the name servers {authoritative_ip}")),
        "{reason}"
    );
    authoritative.txt("example.com", &record(&alice)).await;
    assert_eq!(
        add(&api, &alice.login, "www.example.com").await.0,
        StatusCode::CREATED
    );
    // example.org has no NS records: the resolver answers itself.
    resolver.txt("example.org", &record(&alice)).await;
    assert_eq!(
        add(&api, &alice.login, "example.org").await.0,
        StatusCode::CREATED
    );
    api.finish().await;
}
