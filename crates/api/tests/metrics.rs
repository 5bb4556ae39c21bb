//! `/api/metrics/…`: per-day series of what nodes recorded, and their isolation.

mod support;

use berth_model::metrics::{ContainerMetric, MetricDay};
use berth_store::metrics::ContainerSample;
use reqwest::StatusCode;
use serde_json::json;
use support::now;

/// 2024-02-29 00:00:00 UTC.
const LEAP_DAY: i64 = 1_709_164_800;

fn sample(uid: i64, metric: ContainerMetric, unix: i64, value: i64) -> ContainerSample {
    ContainerSample {
        uid,
        metric,
        unix,
        value,
    }
}

on_both_stores! {
    async fn a_container_metric_reads_back_one_utc_day(api) {
        let alice = api.customer("alice").await;
        let uid = api.container(&alice, "web").await;
        let samples = [
            sample(uid, ContainerMetric::Cpu, LEAP_DAY - 1, 1),
            sample(uid, ContainerMetric::Cpu, LEAP_DAY, 10),
            sample(uid, ContainerMetric::Cpu, LEAP_DAY + 300, 20),
            sample(uid, ContainerMetric::Cpu, LEAP_DAY + 86_399, 30),
            sample(uid, ContainerMetric::Cpu, LEAP_DAY + 86_400, 40),
            sample(uid, ContainerMetric::Mem, LEAP_DAY + 300, 4096),
        ];
        assert_eq!(api.store.record_container_samples(&samples).await.expect("record"), 6);
        let path = format!("/api/metrics/container.cpu/{uid}?year=2024&month=2&day=29");
        let (status, body) = api.get(&path, &alice.login).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, json!([[LEAP_DAY, 10], [LEAP_DAY + 300, 20], [LEAP_DAY + 86_399, 30]]));
        let (_, mem) = api.get(&format!("/api/metrics/container.mem/{uid}?year=2024&month=02&day=29"), &alice.login).await;
        assert_eq!(mem, json!([[LEAP_DAY + 300, 4096]]));
        let (_, next) = api.get(&format!("/api/metrics/container.cpu/{uid}?year=2024&month=3&day=1"), &alice.login).await;
        assert_eq!(next, json!([[LEAP_DAY + 86_400, 40]]));
        let (_, quiet) = api.get(&format!("/api/metrics/container.io.write/{uid}?year=2024&month=2&day=29"), &alice.login).await;
        assert_eq!(quiet, json!([]));
    }

    async fn a_repeated_sample_replaces_the_first(api) {
        let alice = api.customer("alice").await;
        let uid = api.container(&alice, "web").await;
        api.store.record_container_samples(&[sample(uid, ContainerMetric::Quota, LEAP_DAY, 1)]).await.expect("record");
        api.store.record_container_samples(&[sample(uid, ContainerMetric::Quota, LEAP_DAY, 2)]).await.expect("record");
        let (_, body) = api.get(&format!("/api/metrics/container.quota/{uid}?year=2024&month=2&day=29"), &alice.login).await;
        assert_eq!(body, json!([[LEAP_DAY, 2]]));
    }

    async fn the_default_day_is_today_and_is_cached_briefly(api) {
        let alice = api.customer("alice").await;
        let uid = api.container(&alice, "web").await;
        let unix = now();
        api.store.record_container_samples(&[sample(uid, ContainerMetric::MemRss, unix, 77)]).await.expect("record");
        let response = api.http.get(format!("{}/api/metrics/container.mem.rss/{uid}", api.base))
            .basic_auth("alice", Some("alice-password")).send().await.expect("request");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["cache-control"], "private, max-age=300");
        let body: serde_json::Value = response.json().await.expect("json");
        support::openapi::assert_documented(&reqwest::Method::GET, &format!("/api/metrics/container.mem.rss/{uid}"), StatusCode::OK, &body);
        assert_eq!(body, json!([[unix, 77]]));
        let past = api.http.get(format!("{}/api/metrics/container.mem.rss/{uid}?year=2024&month=2&day=29", api.base))
            .basic_auth("alice", Some("alice-password")).send().await.expect("request");
        assert_eq!(past.headers()["cache-control"], "private, max-age=86400");
        let today = MetricDay::containing(unix);
        assert!(today.start() <= unix && unix < today.end());
    }

    async fn another_customers_metrics_are_forbidden(api) {
        let alice = api.customer("alice").await;
        let bob = api.customer("bob").await;
        let uid = api.container(&alice, "web").await;
        api.store.record_container_samples(&[sample(uid, ContainerMetric::Cpu, now(), 5)]).await.expect("record");
        let (status, body) = api.get(&format!("/api/metrics/container.cpu/{uid}"), &bob.login).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["error"], "Forbidden");
        let (status, _) = api.get("/api/metrics/container.cpu/99999", &alice.login).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = api.get(&format!("/api/containers/{uid}/domains"), &bob.login).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }

    async fn bad_metric_requests_are_client_errors(api) {
        let alice = api.customer("alice").await;
        let uid = api.container(&alice, "web").await;
        let (status, body) = api.get(&format!("/api/metrics/container.disk/{uid}"), &alice.login).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(body["reason"].as_str().expect("reason").contains("container.io.read"));
        for query in ["month=13", "day=32", "year=2023&month=2&day=29", "year=abc", "day=-1", "month=99999999999999999999"] {
            let (status, body) = api.get(&format!("/api/metrics/container.cpu/{uid}?{query}"), &alice.login).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        }
        let (status, _) = api.get("/api/metrics/container.cpu/abc", &alice.login).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = api.get("/api/metrics/domain.hits/1", &alice.login).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }

    async fn samples_of_unknown_containers_are_skipped(api) {
        let alice = api.customer("alice").await;
        let uid = api.container(&alice, "web").await;
        let recorded = api.store.record_container_samples(&[
            sample(uid + 1000, ContainerMetric::Cpu, LEAP_DAY, 1),
            sample(5, ContainerMetric::Cpu, LEAP_DAY, 1),
            sample(uid, ContainerMetric::Cpu, LEAP_DAY, 1),
        ]).await.expect("record");
        assert_eq!(recorded, 1);
    }
}

mod domains {
    use super::*;
    use berth_model::domain::DomainName;
    use berth_model::metrics::DomainMetric;
    use berth_store::metrics::DomainSample;

    fn hit(domain: &str, uid: i64, unix: i64, value: i64) -> DomainSample {
        DomainSample {
            domain: domain.into(),
            uid,
            metric: DomainMetric::Hits,
            unix,
            value,
        }
    }

    async fn domain(api: &support::TestApi, name: &str, owner: &str) -> i64 {
        api.store
            .assign_domain(&DomainName::parse(name).expect("name"), owner)
            .await
            .expect("domain")
            .id
    }

    on_both_stores! {
        async fn a_domain_metric_is_one_series_per_container(api) {
            let alice = api.customer("alice").await;
            let bob = api.customer("bob").await;
            let web = api.container(&alice, "web").await;
            let worker = api.container(&alice, "worker").await;
            let bobs = api.container(&bob, "bobs").await;
            let shop = domain(&api, "shop.example.com", "alice").await;
            let recorded = api.store.record_domain_samples(&[
                hit("shop.example.com", worker, LEAP_DAY + 600, 9),
                hit("shop.example.com", web, LEAP_DAY + 300, 1),
                hit("shop.example.com", web, LEAP_DAY + 600, 4),
                hit("shop.example.com", bobs, LEAP_DAY + 600, 666),
                hit("nobody.example.com", web, LEAP_DAY + 600, 5),
                DomainSample { metric: DomainMetric::NetTx, ..hit("shop.example.com", web, LEAP_DAY + 600, 1500) },
            ]).await.expect("record");
            assert_eq!(recorded, 4, "bob's container and unknown domains are skipped");
            let day = "year=2024&month=2&day=29";
            let (status, hits) = api.get(&format!("/api/metrics/domain.hits/{shop}?{day}"), &alice.login).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(hits, json!([
                {"container": web, "metrics": [[LEAP_DAY + 300, 1], [LEAP_DAY + 600, 4]]},
                {"container": worker, "metrics": [[LEAP_DAY + 600, 9]]},
            ]));
            let (_, tx) = api.get(&format!("/api/metrics/domain.net.tx/{shop}?{day}"), &alice.login).await;
            assert_eq!(tx, json!([{"container": web, "metrics": [[LEAP_DAY + 600, 1500]]}]));
            let (_, rx) = api.get(&format!("/api/metrics/domain.net.rx/{shop}?{day}"), &alice.login).await;
            assert_eq!(rx, json!([]));
            let (status, _) = api.get(&format!("/api/metrics/domain.hits/{shop}?{day}"), &bob.login).await;
            assert_eq!(status, StatusCode::FORBIDDEN);
        }

        async fn hits_tell_which_container_served_which_domain(api) {
            let alice = api.customer("alice").await;
            let bob = api.customer("bob").await;
            let web = api.container(&alice, "web").await;
            let idle = api.container(&alice, "idle").await;
            let shop = domain(&api, "shop.example.com", "alice").await;
            let blog = domain(&api, "blog.example.com", "alice").await;
            let now = now();
            api.store.record_domain_samples(&[
                hit("shop.example.com", web, now, 3),
                hit("blog.example.com", web, LEAP_DAY, 3),
            ]).await.expect("record");
            let (status, served) = api.get(&format!("/api/containers/{web}/domains"), &alice.login).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(served.as_array().expect("list").len(), 1);
            assert_eq!(served[0]["id"], shop);
            assert_eq!(served[0]["name"], "shop.example.com");
            let (_, past) = api.get(&format!("/api/containers/{web}/domains?year=2024&month=2&day=29"), &alice.login).await;
            assert_eq!(past[0]["id"], blog);
            assert_eq!(api.get(&format!("/api/containers/{idle}/domains"), &alice.login).await.1, json!([]));
            let (status, serving) = api.get(&format!("/api/domains/{shop}/containers"), &alice.login).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(serving.as_array().expect("list").len(), 1);
            assert_eq!(serving[0]["uid"], web);
            assert_eq!(serving[0]["name"], "web");
            let (status, _) = api.get(&format!("/api/domains/{shop}/containers"), &bob.login).await;
            assert_eq!(status, StatusCode::NOT_FOUND);
            let (status, _) = api.get(&format!("/api/domains/{shop}/containers?month=13"), &alice.login).await;
            assert_eq!(status, StatusCode::BAD_REQUEST);
        }
    }
}
