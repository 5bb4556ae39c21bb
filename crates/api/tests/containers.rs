//! `/api/containers`: list, filters, creation on owned servers, detail, updates, the reboot
//! rule, links, and isolation between customers.

mod support;

use berth_store::containers::Actor;
use reqwest::StatusCode;
use serde_json::json;

const KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKb2x6z0DsbQFQq0bnJkm2Y7E+DkUc9NMuOQYhW0F1yi alice@laptop";

on_both_stores! {
    async fn the_list_has_uwsgi_it_shape(api) {
        let alice = api.customer("alice").await;
        let uid = api.container(&alice, "web site").await;
        let (status, list) = api.get("/api/containers", &alice.login).await;
        assert_eq!(status, StatusCode::OK);
        let item = &list[0];
        assert_eq!(item["uid"], uid);
        assert_eq!(item["name"], "web site");
        assert_eq!(item["hostname"], "web-site");
        assert!(item["ip"].as_str().expect("ip").starts_with("10."));
        assert_eq!(item["memory"], 128);
        assert_eq!(item["storage"], 1024);
        assert_eq!(item["distro"], serde_json::Value::Null);
        assert_eq!(item["server"], "shared1");
        assert_eq!(item["server_address"], "192.0.2.1");
        assert_eq!(item["tags"], json!([]));
        for key in ["uuid", "distro_name", "custom_distro", "custom_distro_name"] {
            assert!(item.get(key).is_some(), "{key} missing");
        }
        assert_eq!(api.get("/api/containers/", &alice.login).await.1, list);
        assert_eq!(api.get("/api/me/containers", &alice.login).await.1, list);
    }

    async fn every_write_shows_in_the_next_list(api) {
        let alice = api.customer("alice").await;
        let bob = api.customer("bob").await;
        let uid = api.container(&alice, "before").await;
        assert_eq!(api.get("/api/containers", &alice.login).await.1[0]["name"], "before");
        api.post(&format!("/api/containers/{uid}"), &alice.login, r#"{"name": "after"}"#).await;
        assert_eq!(api.get("/api/containers", &alice.login).await.1[0]["name"], "after");
        let second = api.container(&alice, "second").await;
        let (_, list) = api.get("/api/containers", &alice.login).await;
        assert_eq!(list.as_array().expect("list").len(), 2);
        api.store.delete_container(second).await.expect("delete");
        assert_eq!(api.get("/api/containers", &alice.login).await.1.as_array().expect("list").len(), 1);
        // A rendered list is never served to another customer.
        assert_eq!(api.get("/api/containers", &bob.login).await.1, json!([]));
    }

    async fn the_tag_filter_matches_any_tag_once(api) {
        let alice = api.customer("alice").await;
        let both = api.container(&alice, "both").await;
        let only_a = api.container(&alice, "only-a").await;
        let _none = api.container(&alice, "none").await;
        for name in ["a", "b"] {
            assert_eq!(api.post("/api/tags", &alice.login, &format!(r#"{{"name": "{name}"}}"#)).await.0, StatusCode::CREATED);
        }
        api.post(&format!("/api/containers/{both}"), &alice.login, r#"{"tags": ["a", "b", "unknown"]}"#).await;
        api.post(&format!("/api/containers/{only_a}"), &alice.login, r#"{"tags": ["a"]}"#).await;
        let (_, list) = api.get("/api/containers?tags=a,b", &alice.login).await;
        let uids: Vec<i64> = list.as_array().expect("list").iter().map(|c| c["uid"].as_i64().expect("uid")).collect();
        assert_eq!(uids, vec![both, only_a]);
        assert_eq!(list[0]["tags"], json!(["a", "b"]));
        let (_, list) = api.get("/api/containers?tags=b", &alice.login).await;
        assert_eq!(list.as_array().expect("list").len(), 1);
        let (_, list) = api.get("/api/containers?tags=", &alice.login).await;
        assert_eq!(list.as_array().expect("list").len(), 3);
    }

    async fn customers_create_containers_only_on_servers_they_own(api) {
        let alice = api.customer("alice").await;
        api.owned_server(&alice, "198.51.100.7", 1024).await;
        let body = r#"{"server": "198.51.100.7", "name": "db", "memory": 512, "storage": 2048}"#;
        let (status, created) = api.post("/api/containers", &alice.login, body).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(created["message"], "Created");
        let uid = created["uid"].as_i64().expect("uid");
        let (status, detail) = api.get(&format!("/api/containers/{uid}"), &alice.login).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(detail["memory"], 512);
        assert_eq!(detail["server_address"], "198.51.100.7");
        // The shared server is not hers.
        let shared = r#"{"server": "192.0.2.1", "name": "db", "memory": 1, "storage": 1}"#;
        assert_eq!(api.post("/api/containers", &alice.login, shared).await.0, StatusCode::FORBIDDEN);
        // Nor is somebody else's dedicated server.
        let bob = api.customer("bob").await;
        let (status, _) = api.post("/api/containers", &bob.login, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }

    async fn a_server_is_never_promised_more_than_it_has(api) {
        let alice = api.customer("alice").await;
        api.owned_server(&alice, "198.51.100.7", 1024).await;
        let make = |memory: i64| format!(r#"{{"server": "198.51.100.7", "name": "c", "memory": {memory}, "storage": 10}}"#);
        assert_eq!(api.post("/api/containers", &alice.login, &make(1000)).await.0, StatusCode::CREATED);
        let (status, error) = api.post("/api/containers", &alice.login, &make(25)).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(error["error"], "Conflict");
        assert!(error["reason"].as_str().expect("reason").contains("not enough memory"));
        let too_much_storage = r#"{"server": "198.51.100.7", "name": "c", "memory": 1, "storage": 10001}"#;
        let (status, error) = api.post("/api/containers", &alice.login, too_much_storage).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert!(error["reason"].as_str().expect("reason").contains("not enough storage"));
        assert_eq!(api.post("/api/containers", &alice.login, &make(24)).await.0, StatusCode::CREATED);
    }

    async fn creation_refuses_missing_and_bad_fields(api) {
        let alice = api.customer("alice").await;
        api.owned_server(&alice, "198.51.100.7", 1024).await;
        for body in [
            r#"{"name": "c", "memory": 1, "storage": 1}"#,
            r#"{"server": "198.51.100.7", "memory": 1, "storage": 1}"#,
            r#"{"server": "198.51.100.7", "name": "c", "storage": 1}"#,
            r#"{"server": "198.51.100.7", "name": "c", "memory": 1}"#,
            r#"{"server": "198.51.100.7", "name": "c", "memory": 0, "storage": 1}"#,
            r#"{"server": "198.51.100.7", "name": "c", "memory": -5, "storage": 1}"#,
            r#"{"server": "198.51.100.7", "name": "c", "memory": "lots", "storage": 1}"#,
            r#"{"server": "198.51.100.7", "name": "", "memory": 1, "storage": 1}"#,
            r#"{"server": 7, "name": "c", "memory": 1, "storage": 1}"#,
        ] {
            let (status, error) = api.post("/api/containers", &alice.login, body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {error}");
        }
        assert_eq!(api.get("/api/me", &alice.login).await.1["containers"], json!([]));
    }

    async fn the_detail_has_every_field(api) {
        let alice = api.customer("alice").await;
        let uid = api.container(&alice, "web").await;
        let (status, detail) = api.get(&format!("/api/containers/{uid}"), &alice.login).await;
        assert_eq!(status, StatusCode::OK);
        for key in [
            "uid", "name", "hostname", "ip", "memory", "storage", "uuid", "distro", "distro_name",
            "server", "server_address", "jid", "jid_destinations", "pushover_user",
            "pushover_token", "pushover_sound", "pushbullet_token", "slack_webhook", "alarm_freq",
            "quota_threshold", "nofollow", "note", "linked_to", "custom_distros_storage",
            "custom_distro", "secret_uuid", "ssh_keys", "tags", "legion_address",
        ] {
            assert!(detail.get(key).is_some(), "{key} missing");
        }
        assert!(detail.get("jid_secret").is_none());
        assert!(detail.get("custom_distro_name").is_none());
        assert_eq!(detail["alarm_freq"], 60);
        assert_eq!(detail["quota_threshold"], 90);
        assert_eq!(detail["legion_address"], json!([]));
        assert_eq!(detail["ssh_keys"], json!([]));
        // A just-created container, as the quickstart shows it: empty text fields are "".
        for key in [
            "note", "jid", "jid_destinations", "pushover_user", "pushover_token",
            "pushover_sound", "pushbullet_token", "slack_webhook",
        ] {
            assert_eq!(detail[key], "", "{key}");
        }
    }

    async fn another_customers_container_is_403_for_every_method(api) {
        let alice = api.customer("alice").await;
        let bob = api.customer("bob").await;
        let uid = api.container(&alice, "secret").await;
        let (status, body) = api.get(&format!("/api/containers/{uid}"), &bob.login).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(body.get("name").is_none());
        assert!(!body.to_string().contains("secret\""));
        let (status, _) = api.post(&format!("/api/containers/{uid}"), &bob.login, r#"{"name": "mine"}"#).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        for missing in ["/api/containers/39999", "/api/containers/1", "/api/containers/abc", "/api/containers/99999999999999999999"] {
            assert_eq!(api.get(missing, &bob.login).await.0, StatusCode::FORBIDDEN, "{missing}");
        }
        let (_, list) = api.get("/api/containers", &bob.login).await;
        assert_eq!(list, json!([]));
        let (_, detail) = api.get(&format!("/api/containers/{uid}"), &alice.login).await;
        assert_eq!(detail["name"], "secret");
    }

    async fn updates_write_every_customer_field(api) {
        let alice = api.customer("alice").await;
        let uid = api.container(&alice, "web").await;
        let distro = api.store.add_distro("bookworm", "/distros/bookworm").await.expect("distro");
        let body = json!({
            "name": "renamed",
            "note": "hello",
            "quota_threshold": 75,
            "alarm_freq": 10,
            "nofollow": true,
            "jid": "alice@jabber.example",
            "jid_secret": "hunter2",
            "jid_destinations": "ops@jabber.example",
            "pushover_user": "u",
            "pushover_token": "t",
            "pushover_sound": "siren",
            "pushbullet_token": "p",
            "slack_webhook": "https://hooks.slack.example/x",
            "custom_distros_storage": true,
            "distro": distro.id,
            "ssh_keys": [KEY],
            "uid": 1,
        });
        let (status, detail) = api.post(&format!("/api/containers/{uid}"), &alice.login, &body.to_string()).await;
        assert_eq!(status, StatusCode::OK, "{detail}");
        assert_eq!(detail["uid"], uid);
        assert_eq!(detail["name"], "renamed");
        assert_eq!(detail["hostname"], "renamed");
        assert_eq!(detail["note"], "hello");
        assert_eq!(detail["quota_threshold"], 75);
        assert_eq!(detail["alarm_freq"], 60, "alarm_freq is raised to 60");
        assert_eq!(detail["nofollow"], true);
        assert_eq!(detail["jid"], "alice@jabber.example");
        assert!(detail.get("jid_secret").is_none());
        assert_eq!(detail["pushover_sound"], "siren");
        assert_eq!(detail["slack_webhook"], "https://hooks.slack.example/x");
        assert_eq!(detail["custom_distros_storage"], true);
        assert_eq!(detail["distro"], distro.id);
        assert_eq!(detail["distro_name"], "bookworm");
        assert_eq!(detail["ssh_keys"], json!([KEY]));
        assert_eq!(api.get(&format!("/api/containers/{uid}"), &alice.login).await.1, detail);
        // Clearing works with null and with "", and an empty text field reads "" (as upstream).
        let (_, detail) = api.post(&format!("/api/containers/{uid}"), &alice.login, r#"{"note": null, "jid": "", "pushover_user": null, "distro": null}"#).await;
        assert_eq!(detail["note"], "");
        assert_eq!(detail["jid"], "");
        assert_eq!(detail["pushover_user"], "");
        assert_eq!(detail["distro"], serde_json::Value::Null);
    }

    async fn bad_updates_are_400_and_change_nothing(api) {
        let alice = api.customer("alice").await;
        let uid = api.container(&alice, "web").await;
        let path = format!("/api/containers/{uid}");
        for body in [
            r#"{}"#,
            r#"{"name": "ok", "ssh_keys": ["not a key"]}"#,
            r#"{"name": "ok", "ssh_keys": "ssh-ed25519 AAAA"}"#,
            r#"{"name": "ok", "distro": 999}"#,
            r#"{"name": "ok", "quota_threshold": 101}"#,
            r#"{"name": "ok", "alarm_freq": 99999999999}"#,
            r#"{"name": "ok", "nofollow": "maybe"}"#,
            r#"{"name": "ok", "slack_webhook": "http://insecure.example"}"#,
            r#"{"name": "line\nbreak"}"#,
            r#"{"name": "ok", "tags": "a"}"#,
            r#"{"name": "ok", "custom_distro": 3}"#,
        ] {
            let (status, error) = api.post(&path, &alice.login, body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {error}");
        }
        let (_, detail) = api.get(&path, &alice.login).await;
        assert_eq!(detail["name"], "web");
    }

    async fn note_tags_and_keys_do_not_reboot_but_other_changes_do(api) {
        let alice = api.customer("alice").await;
        let uid = api.container(&alice, "web").await;
        api.post("/api/tags", &alice.login, r#"{"name": "prod"}"#).await;
        let path = format!("/api/containers/{uid}");
        let last_reboot = || async { api.store.container(Actor::Staff, uid).await.expect("container").last_reboot };
        let keys_mtime = || async { api.store.container(Actor::Staff, uid).await.expect("container").ssh_keys_mtime };
        let before = last_reboot().await;
        let keys_before = keys_mtime().await;
        let body = json!({"note": "n", "tags": ["prod"], "ssh_keys": [KEY]}).to_string();
        assert_eq!(api.post(&path, &alice.login, &body).await.0, StatusCode::OK);
        assert_eq!(last_reboot().await, before);
        assert!(keys_mtime().await > keys_before);
        for body in [r#"{"reboot": 1}"#, r#"{"alarm_freq": 120}"#, r#"{"name": "other"}"#, r#"{"pushover_user": "x"}"#] {
            let earlier = last_reboot().await;
            assert_eq!(api.post(&path, &alice.login, body).await.0, StatusCode::OK);
            assert!(last_reboot().await > earlier, "{body} should reboot");
        }
        // Writing a value that is already there changes nothing.
        let earlier = last_reboot().await;
        api.post(&path, &alice.login, r#"{"name": "other", "alarm_freq": 120}"#).await;
        assert_eq!(last_reboot().await, earlier);
    }

    async fn every_change_bumps_the_revision_of_the_server(api) {
        let alice = api.customer("alice").await;
        let uid = api.container(&alice, "web").await;
        let revision = api.store.revision().await.expect("revision");
        api.post(&format!("/api/containers/{uid}"), &alice.login, r#"{"reboot": true}"#).await;
        let after = api.store.revision().await.expect("revision");
        assert!(after > revision);
        let server = api.store.server(api.server_id).await.expect("server");
        assert_eq!(server.revision, after);
    }

    async fn links_reach_any_customers_container(api) {
        let alice = api.customer("alice").await;
        let bob = api.customer("bob").await;
        let a = api.container(&alice, "a").await;
        let b = api.container(&bob, "b").await;
        let (status, detail) = api.post(&format!("/api/containers/{a}"), &alice.login, &format!(r#"{{"link": {b}}}"#)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(detail["linked_to"], json!([b]));
        // Linking twice, to itself, or to nothing is a conflict.
        for target in [b, a, 39999] {
            let (status, _) = api.post(&format!("/api/containers/{a}"), &alice.login, &format!(r#"{{"link": {target}}}"#)).await;
            assert_eq!(status, StatusCode::CONFLICT, "link {target}");
        }
        // Bob sees his side only.
        let (_, bobs) = api.get(&format!("/api/containers/{b}"), &bob.login).await;
        assert_eq!(bobs["linked_to"], json!([]));
        let (status, detail) = api.post(&format!("/api/containers/{a}"), &alice.login, &format!(r#"{{"unlink": "{b}"}}"#)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(detail["linked_to"], json!([]));
        let (status, _) = api.post(&format!("/api/containers/{a}"), &alice.login, &format!(r#"{{"unlink": {b}}}"#)).await;
        assert_eq!(status, StatusCode::CONFLICT);
    }

    async fn a_failed_link_rolls_back_the_whole_update(api) {
        let alice = api.customer("alice").await;
        let a = api.container(&alice, "a").await;
        let (status, _) = api.post(&format!("/api/containers/{a}"), &alice.login, r#"{"name": "changed", "link": 39999}"#).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(api.get(&format!("/api/containers/{a}"), &alice.login).await.1["name"], "a");
    }

    async fn only_server_owners_resize(api) {
        let alice = api.customer("alice").await;
        let shared = api.container(&alice, "shared").await;
        let (status, _) = api.post(&format!("/api/containers/{shared}"), &alice.login, r#"{"memory": 256}"#).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        api.owned_server(&alice, "198.51.100.7", 1024).await;
        let (_, created) = api.post("/api/containers", &alice.login, r#"{"server": "198.51.100.7", "name": "own", "memory": 512, "storage": 10}"#).await;
        let own = created["uid"].as_i64().expect("uid");
        let (status, detail) = api.post(&format!("/api/containers/{own}"), &alice.login, r#"{"memory": 1024}"#).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(detail["memory"], 1024);
        let (status, _) = api.post(&format!("/api/containers/{own}"), &alice.login, r#"{"memory": 1025}"#).await;
        assert_eq!(status, StatusCode::CONFLICT);
    }
}
