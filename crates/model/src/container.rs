//! Containers: their identity (uid, address, hostname), their customer-writable settings,
//! and the rule that decides which changes restart them.

use std::net::Ipv4Addr;

use crate::{ssh_keys, text, ValidationError};

/// The uid of the container with database id 0; container uids are `BASE_UID + id`.
pub const BASE_UID: i64 = 30_000;
/// The most memory or storage a single container may ask for, in MB (1 PiB).
pub const MAX_RESOURCE_MB: i64 = 1 << 30;
/// The shortest alarm period, in seconds; shorter values are raised to it.
pub const MIN_ALARM_FREQ: i64 = 60;
/// The longest alarm period, in seconds (a week).
pub const MAX_ALARM_FREQ: i64 = 7 * 86_400;
/// The longest value of a notification channel field.
pub const CHANNEL_MAX: usize = 255;
/// The longest container name.
pub const NAME_MAX: usize = 255;

/// The uid (also gid and cgroup name) of the container with database id `id`.
pub fn uid_of(id: i64) -> i64 {
    BASE_UID + id
}

/// The database id of the container with `uid`, if `uid` can be a container's.
pub fn id_of(uid: i64) -> Option<i64> {
    (uid > BASE_UID).then(|| uid - BASE_UID)
}

/// The private address of the container with database id `id`: 10.0.0.0 | (id + 2), so that
/// 10.0.0.1 stays the gateway.
pub fn ip_of(id: i64) -> Ipv4Addr {
    let host = ((id + 2) & 0x00FF_FFFF) as u32;
    Ipv4Addr::from(0x0A00_0000 | host)
}

/// The hostname derived from a container name: every character outside `[A-Za-z0-9-]`
/// becomes `-`, at most 63 characters (one DNS label).
pub fn hostname_of(name: &str) -> String {
    let hostname: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .take(63)
        .collect();
    if hostname.is_empty() {
        "container".to_owned()
    } else {
        hostname
    }
}

/// Checks a container name.
pub fn name(value: &str) -> Result<String, ValidationError> {
    text::required_line("name", value, NAME_MAX)
}

/// Checks an amount of memory or storage in MB: a positive whole number, at most 1 PiB.
pub fn resource_mb(field: &str, value: i64) -> Result<i64, ValidationError> {
    if value <= 0 {
        return Err(ValidationError::new(
            field,
            "must be a positive number of MB",
        ));
    }
    if value > MAX_RESOURCE_MB {
        return Err(ValidationError::new(
            field,
            format!("must be at most {MAX_RESOURCE_MB} MB"),
        ));
    }
    Ok(value)
}

/// The alarm period a client asked for, raised to the 60-second floor (as upstream) and
/// refused beyond a week.
pub fn alarm_freq(value: i64) -> Result<i64, ValidationError> {
    if value > MAX_ALARM_FREQ {
        return Err(ValidationError::new(
            "alarm_freq",
            format!("must be at most {MAX_ALARM_FREQ} seconds"),
        ));
    }
    Ok(value.max(MIN_ALARM_FREQ))
}

/// Checks a disk alarm threshold, a percentage from 0 to 100.
pub fn quota_threshold(value: i64) -> Result<i64, ValidationError> {
    if (0..=100).contains(&value) {
        Ok(value)
    } else {
        Err(ValidationError::new(
            "quota_threshold",
            "must be a percentage from 0 to 100",
        ))
    }
}

/// The notification channels of a container's alarms, in the order of [`AlarmChannel::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlarmChannel {
    /// XMPP account the alarms are sent from.
    Jid,
    /// Password of that XMPP account (never shown back).
    JidSecret,
    /// Comma-separated XMPP recipients.
    JidDestinations,
    /// Pushover user key.
    PushoverUser,
    /// Pushover application token.
    PushoverToken,
    /// Pushover sound name.
    PushoverSound,
    /// Pushbullet access token.
    PushbulletToken,
    /// Slack incoming-webhook URL.
    SlackWebhook,
}

impl AlarmChannel {
    /// Every channel field, in storage order.
    pub const ALL: [AlarmChannel; 8] = [
        AlarmChannel::Jid,
        AlarmChannel::JidSecret,
        AlarmChannel::JidDestinations,
        AlarmChannel::PushoverUser,
        AlarmChannel::PushoverToken,
        AlarmChannel::PushoverSound,
        AlarmChannel::PushbulletToken,
        AlarmChannel::SlackWebhook,
    ];

    /// The field's name in the API and the column's name in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmChannel::Jid => "jid",
            AlarmChannel::JidSecret => "jid_secret",
            AlarmChannel::JidDestinations => "jid_destinations",
            AlarmChannel::PushoverUser => "pushover_user",
            AlarmChannel::PushoverToken => "pushover_token",
            AlarmChannel::PushoverSound => "pushover_sound",
            AlarmChannel::PushbulletToken => "pushbullet_token",
            AlarmChannel::SlackWebhook => "slack_webhook",
        }
    }

    /// Whether the API may show the value back (secrets are write-only).
    pub fn is_readable(self) -> bool {
        self != AlarmChannel::JidSecret
    }

    /// Checks a value for this channel: one line of at most 255 characters; the Slack
    /// webhook must be an https URL.
    pub fn validate(self, value: &str) -> Result<String, ValidationError> {
        let value = text::line(self.as_str(), value.trim(), CHANNEL_MAX)?;
        if self == AlarmChannel::SlackWebhook && !value.is_empty() && !value.starts_with("https://")
        {
            return Err(ValidationError::new(
                self.as_str(),
                "must be an https:// URL",
            ));
        }
        Ok(value)
    }
}

/// Every setting of a container that a customer (or, for memory and storage, a server
/// owner) can change, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerSettings {
    /// Display name; the hostname is derived from it.
    pub name: String,
    /// Free note.
    pub note: Option<String>,
    /// Platform distro id; without one the container does not run.
    pub distro: Option<i64>,
    /// Memory limit in MB.
    pub memory: i64,
    /// Storage quota in MB.
    pub storage: i64,
    /// authorized_keys lines; without one the container does not run.
    pub ssh_keys: Vec<String>,
    /// Disk usage percentage that raises an alarm.
    pub quota_threshold: i64,
    /// Minimum seconds between two alarms.
    pub alarm_freq: i64,
    /// Whether the Emperor ignores symlink targets' mtimes.
    pub nofollow: bool,
    /// Whether the container stores custom distros for its siblings.
    pub custom_distros_storage: bool,
    /// The custom distro it boots (kept by another container of its customer).
    pub custom_distro: Option<i64>,
    /// Notification channel values, indexed like [`AlarmChannel::ALL`].
    pub channels: [Option<String>; 8],
}

impl ContainerSettings {
    /// The value of one notification channel.
    pub fn channel(&self, channel: AlarmChannel) -> Option<&str> {
        self.channels[channel as usize].as_deref()
    }
}

/// A change a client asked for; `None` leaves a setting as it is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerUpdate {
    /// New name.
    pub name: Option<String>,
    /// New note (`Some(None)` clears it).
    pub note: Option<Option<String>>,
    /// New distro (`Some(None)` clears it).
    pub distro: Option<Option<i64>>,
    /// New memory limit.
    pub memory: Option<i64>,
    /// New storage quota.
    pub storage: Option<i64>,
    /// New key list, replacing the old one.
    pub ssh_keys: Option<Vec<String>>,
    /// New disk alarm threshold.
    pub quota_threshold: Option<i64>,
    /// New alarm period.
    pub alarm_freq: Option<i64>,
    /// New nofollow flag.
    pub nofollow: Option<bool>,
    /// New custom-distro-storage flag.
    pub custom_distros_storage: Option<bool>,
    /// New custom distro (`Some(None)` goes back to the platform distro alone).
    pub custom_distro: Option<Option<i64>>,
    /// New channel values (`Some(None)` clears one), indexed like [`AlarmChannel::ALL`].
    pub channels: [Option<Option<String>>; 8],
    /// The client asked for a restart.
    pub reboot: bool,
    /// The update links or unlinks a peer, which changes the firewall and so restarts.
    pub changes_links: bool,
}

impl ContainerUpdate {
    /// Whether the update asks for nothing at all.
    pub fn is_empty(&self) -> bool {
        *self == ContainerUpdate::default()
    }
}

/// The result of applying an update: the new settings and what the node must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedUpdate {
    /// The settings after the update.
    pub settings: ContainerSettings,
    /// The container must be restarted (its `last_reboot` moves forward).
    pub reboot: bool,
    /// The ssh keys changed; the node rewrites authorized_keys without a restart.
    pub ssh_keys_changed: bool,
}

/// Applies `update` to `current`. A change to any setting that shapes the running container
/// restarts it; the note, the tags and the ssh keys do not (uwsgi.it's rule).
pub fn apply_update(current: &ContainerSettings, update: &ContainerUpdate) -> AppliedUpdate {
    let mut next = current.clone();
    if let Some(name) = &update.name {
        next.name = name.clone();
    }
    if let Some(note) = &update.note {
        next.note = note.clone();
    }
    if let Some(distro) = update.distro {
        next.distro = distro;
    }
    if let Some(memory) = update.memory {
        next.memory = memory;
    }
    if let Some(storage) = update.storage {
        next.storage = storage;
    }
    if let Some(keys) = &update.ssh_keys {
        next.ssh_keys = keys.clone();
    }
    if let Some(threshold) = update.quota_threshold {
        next.quota_threshold = threshold;
    }
    if let Some(freq) = update.alarm_freq {
        next.alarm_freq = freq;
    }
    if let Some(nofollow) = update.nofollow {
        next.nofollow = nofollow;
    }
    if let Some(storage) = update.custom_distros_storage {
        next.custom_distros_storage = storage;
    }
    if let Some(custom) = update.custom_distro {
        next.custom_distro = custom;
    }
    for (slot, value) in next.channels.iter_mut().zip(&update.channels) {
        if let Some(value) = value {
            *slot = value.clone();
        }
    }
    let shape_changed = next.name != current.name
        || next.distro != current.distro
        || next.memory != current.memory
        || next.storage != current.storage
        || next.quota_threshold != current.quota_threshold
        || next.alarm_freq != current.alarm_freq
        || next.nofollow != current.nofollow
        || next.custom_distros_storage != current.custom_distros_storage
        || next.custom_distro != current.custom_distro
        || next.channels != current.channels;
    AppliedUpdate {
        reboot: shape_changed || update.reboot || update.changes_links,
        ssh_keys_changed: next.ssh_keys != current.ssh_keys,
        settings: next,
    }
}

/// The raw authorized_keys text of a settings' key list.
pub fn ssh_keys_raw(settings: &ContainerSettings) -> String {
    ssh_keys::to_raw(&settings.ssh_keys)
}

/// Whether a container has what it needs to run: a distro and at least one ssh key.
pub fn is_runnable(settings: &ContainerSettings) -> bool {
    settings.distro.is_some() && !settings.ssh_keys.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> ContainerSettings {
        ContainerSettings {
            name: "web".into(),
            memory: 512,
            storage: 1024,
            quota_threshold: 90,
            alarm_freq: 60,
            ..ContainerSettings::default()
        }
    }

    #[test]
    fn uid_and_ip_follow_the_database_id() {
        assert_eq!(uid_of(9), 30_009);
        assert_eq!(id_of(30_009), Some(9));
        assert_eq!(id_of(30_000), None);
        assert_eq!(id_of(12), None);
        assert_eq!(ip_of(1), Ipv4Addr::new(10, 0, 0, 3));
        assert_eq!(ip_of(254), Ipv4Addr::new(10, 0, 1, 0));
    }

    #[test]
    fn hostnames_are_sanitised() {
        assert_eq!(hostname_of("my app_1.example"), "my-app-1-example");
        assert_eq!(hostname_of("ünï"), "-n-");
        assert_eq!(hostname_of(""), "container");
        assert_eq!(hostname_of(&"a".repeat(100)).len(), 63);
    }

    #[test]
    fn alarm_freq_is_raised_to_the_floor() {
        assert_eq!(alarm_freq(5), Ok(60));
        assert_eq!(alarm_freq(-5), Ok(60));
        assert_eq!(alarm_freq(120), Ok(120));
        assert!(alarm_freq(i64::MAX).is_err());
    }

    #[test]
    fn resources_must_be_positive_and_bounded() {
        assert!(resource_mb("memory", 0).is_err());
        assert!(resource_mb("memory", -1).is_err());
        assert!(resource_mb("memory", MAX_RESOURCE_MB + 1).is_err());
        assert_eq!(resource_mb("memory", 512), Ok(512));
    }

    #[test]
    fn note_and_keys_do_not_reboot() {
        let update = ContainerUpdate {
            note: Some(Some("hello".into())),
            ssh_keys: Some(vec!["ssh-ed25519 AAAA".into()]),
            ..ContainerUpdate::default()
        };
        let applied = apply_update(&settings(), &update);
        assert!(!applied.reboot);
        assert!(applied.ssh_keys_changed);
        assert_eq!(applied.settings.note.as_deref(), Some("hello"));
    }

    #[test]
    fn shaping_changes_reboot() {
        for update in [
            ContainerUpdate {
                name: Some("other".into()),
                ..ContainerUpdate::default()
            },
            ContainerUpdate {
                distro: Some(Some(1)),
                ..ContainerUpdate::default()
            },
            ContainerUpdate {
                alarm_freq: Some(120),
                ..ContainerUpdate::default()
            },
            ContainerUpdate {
                nofollow: Some(true),
                ..ContainerUpdate::default()
            },
            ContainerUpdate {
                custom_distro: Some(Some(4)),
                ..ContainerUpdate::default()
            },
            ContainerUpdate {
                channels: {
                    let mut channels: [Option<Option<String>>; 8] = Default::default();
                    channels[AlarmChannel::SlackWebhook as usize] =
                        Some(Some("https://hooks.example/x".into()));
                    channels
                },
                ..ContainerUpdate::default()
            },
            ContainerUpdate {
                reboot: true,
                ..ContainerUpdate::default()
            },
            ContainerUpdate {
                changes_links: true,
                ..ContainerUpdate::default()
            },
        ] {
            assert!(apply_update(&settings(), &update).reboot, "{update:?}");
        }
    }

    #[test]
    fn writing_the_same_value_does_not_reboot() {
        let update = ContainerUpdate {
            name: Some("web".into()),
            memory: Some(512),
            ..ContainerUpdate::default()
        };
        assert!(!apply_update(&settings(), &update).reboot);
    }

    #[test]
    fn runnable_needs_a_distro_and_a_key() {
        let mut s = settings();
        assert!(!is_runnable(&s));
        s.distro = Some(1);
        assert!(!is_runnable(&s));
        s.ssh_keys = vec!["k".into()];
        assert!(is_runnable(&s));
    }

    #[test]
    fn slack_webhooks_must_be_https() {
        assert!(AlarmChannel::SlackWebhook
            .validate("http://hooks.slack.com/x")
            .is_err());
        assert!(AlarmChannel::SlackWebhook
            .validate("https://hooks.slack.com/x")
            .is_ok());
        assert!(AlarmChannel::Jid.validate("a@b\nc").is_err());
    }
}
