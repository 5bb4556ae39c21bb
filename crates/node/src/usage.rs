//! Resource usage of the containers, read from their cgroups, as metric points for the node
//! report (the API's `/api/metrics/container.<metric>/<uid>`): memory (in use, resident,
//! page cache), CPU time, block I/O and disk space, and the network traffic the caller
//! counted. cgroup v1 and v2 are both read.

use berth_model::metrics::ContainerMetric;
use berth_model::node::{ContainerState, ContainerStatus, MetricPoint};

use crate::cgroup::{field, read_first};

/// Bytes read and written by the cgroup: v1 `blkio.throttle.io_service_bytes`
/// (`MAJ:MIN Read N` lines), v2 `io.stat` (`MAJ:MIN rbytes=N wbytes=N …`).
fn io_bytes(relative: &str) -> Option<(i64, i64)> {
    if let Some(text) = read_first(&[format!("blkio/{relative}/blkio.throttle.io_service_bytes")]) {
        let sum = |kind: &str| {
            text.lines()
                .filter_map(|line| {
                    let mut words = line.split_whitespace();
                    let (_, op, value) = (words.next()?, words.next()?, words.next()?);
                    (op == kind).then(|| value.parse::<i64>().ok())?
                })
                .sum::<i64>()
        };
        return Some((sum("Read"), sum("Write")));
    }
    let text = read_first(&[format!("{relative}/io.stat")])?;
    let sum = |key: &str| {
        text.split_whitespace()
            .filter_map(|word| word.strip_prefix(key)?.parse::<i64>().ok())
            .sum::<i64>()
    };
    Some((sum("rbytes="), sum("wbytes=")))
}

/// The samples of one container's cgroup (`/berth/30009`), its disk use and its network
/// traffic (bytes received, sent), at `unix`.
pub(crate) fn sample(
    uid: i64,
    cgroup: &str,
    disk_used: Option<i64>,
    traffic: Option<(i64, i64)>,
    unix: i64,
) -> Vec<MetricPoint> {
    let relative = cgroup.trim_start_matches('/');
    let mut values: Vec<(ContainerMetric, i64)> = Vec::new();
    if let Some(used) = read_first(&[
        format!("memory/{relative}/memory.usage_in_bytes"),
        format!("{relative}/memory.current"),
    ])
    .and_then(|text| text.trim().parse().ok())
    {
        values.push((ContainerMetric::Mem, used));
    }
    if let Some(stat) = read_first(&[
        format!("memory/{relative}/memory.stat"),
        format!("{relative}/memory.stat"),
    ]) {
        let rss = field(&stat, "total_rss").or_else(|| field(&stat, "anon"));
        let cache = field(&stat, "total_cache").or_else(|| field(&stat, "file"));
        values.extend(rss.map(|v| (ContainerMetric::MemRss, v)));
        values.extend(cache.map(|v| (ContainerMetric::MemCache, v)));
    }
    let cpu_ns = read_first(&[
        format!("cpuacct/{relative}/cpuacct.usage"),
        format!("cpu,cpuacct/{relative}/cpuacct.usage"),
    ])
    .and_then(|text| text.trim().parse().ok())
    .or_else(|| {
        read_first(&[format!("{relative}/cpu.stat")])
            .and_then(|stat| field::<i64>(&stat, "usage_usec"))
            .map(|usec| usec.saturating_mul(1000))
    });
    values.extend(cpu_ns.map(|v| (ContainerMetric::Cpu, v)));
    if let Some((read, written)) = io_bytes(relative) {
        values.push((ContainerMetric::IoRead, read));
        values.push((ContainerMetric::IoWrite, written));
    }
    values.extend(disk_used.map(|v| (ContainerMetric::Quota, v)));
    if let Some((received, sent)) = traffic {
        values.push((ContainerMetric::NetRx, received));
        values.push((ContainerMetric::NetTx, sent));
    }
    values
        .into_iter()
        .map(|(metric, value)| MetricPoint {
            metric: format!("container.{}", metric.as_str()),
            uid,
            domain: None,
            unix,
            value,
        })
        .collect()
}

/// The samples of every running container among `statuses`; `cgroup_of` names a uid's
/// cgroup (`None`: not a container's uid, no samples), `traffic_of` counts its network
/// traffic.
pub(crate) fn sample_running(
    statuses: &[ContainerStatus],
    cgroup_of: impl Fn(i64) -> Option<String>,
    traffic_of: impl Fn(i64) -> Option<(i64, i64)>,
    unix: i64,
) -> Vec<MetricPoint> {
    statuses
        .iter()
        .filter(|status| status.state == ContainerState::Running)
        .filter_map(|status| Some((status, cgroup_of(status.uid)?)))
        .flat_map(|(status, cgroup)| {
            let traffic = traffic_of(status.uid);
            sample(status.uid, &cgroup, status.disk_used, traffic, unix)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cgroup_that_does_not_exist_gives_no_samples_but_disk_use_and_traffic() {
        let points = sample(
            30009,
            "/berth-no-such-parent/30009",
            Some(4096),
            Some((10, 20)),
            1_700_000_000,
        );
        let named: Vec<(&str, i64)> = points
            .iter()
            .map(|p| (p.metric.as_str(), p.value))
            .collect();
        assert_eq!(
            named,
            [
                ("container.quota", 4096),
                ("container.net.rx", 10),
                ("container.net.tx", 20)
            ]
        );
    }
}
