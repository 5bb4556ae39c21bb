//! The members file of the router's cluster role (`berth router --cluster-peers`): the
//! legion's key and every member's cluster address, written next to keepalived's
//! configuration (`cluster.json`, mode 0600) whenever the legion changes. A router has one
//! cluster role, so a server in several legions serves the first (by name) that has a key.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use berth_model::legion::LegionSpec;

use crate::error::NodeError;

/// The file's name in the legion directory.
pub const FILE_NAME: &str = "cluster.json";

/// The port of every member's cluster address (uwsgi.it's fastrouter port).
pub const CLUSTER_PORT: u16 = 1999;

/// The file's text for `legions`; `None` when none has a key.
pub fn members_file(legions: &[LegionSpec]) -> Option<String> {
    let legion = legions.iter().find(|l| l.key.is_some())?;
    let members: Vec<String> = legion
        .members
        .iter()
        .map(|m| format!("{}:{CLUSTER_PORT}", m.address))
        .collect();
    let file = serde_json::json!({
        "legion": legion.name,
        "key": legion.key,
        "members": members,
    });
    Some(format!("{file}\n"))
}

/// Write (or remove, with no keyed legion) the members file in `dir` when it changed.
pub fn write(dir: &Path, legions: &[LegionSpec]) -> Result<(), NodeError> {
    let path = dir.join(FILE_NAME);
    let Some(text) = members_file(legions) else {
        let _ = fs::remove_file(&path);
        return Ok(());
    };
    if fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
        return Ok(());
    }
    fs::create_dir_all(dir).map_err(NodeError::io(dir))?;
    let temporary = dir.join("cluster.json.new");
    let _ = fs::remove_file(&temporary);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temporary)
        .map_err(NodeError::io(&temporary))?;
    file.write_all(text.as_bytes())
        .map_err(NodeError::io(&temporary))?;
    fs::rename(&temporary, &path).map_err(NodeError::io(&path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_model::legion::LegionMember;

    fn legion(name: &str, key: Option<&str>) -> LegionSpec {
        LegionSpec {
            id: 1,
            name: name.into(),
            address: "192.0.2.100".into(),
            weight: 1,
            members: vec![LegionMember {
                name: "h1".into(),
                address: "192.0.2.1".into(),
                weight: 1,
            }],
            key: key.map(str::to_owned),
        }
    }

    #[test]
    fn the_first_keyed_legion_gives_the_members_file() {
        let key = "ab".repeat(32);
        let text = members_file(&[legion("a", None), legion("b", Some(&key))]).expect("file");
        let value: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(value["key"], key);
        assert_eq!(value["legion"], "b");
        assert_eq!(value["members"][0], "192.0.2.1:1999");
        assert_eq!(members_file(&[legion("a", None)]), None);

        let dir = tempfile::tempdir().expect("dir");
        write(dir.path(), &[legion("b", Some(&key))]).expect("written");
        let meta = fs::metadata(dir.path().join(FILE_NAME)).expect("file");
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777,
            0o600
        );
        write(dir.path(), &[]).expect("removed");
        assert!(!dir.path().join(FILE_NAME).exists());
    }
}
