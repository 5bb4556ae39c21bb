//! Loopboxes (spec/uwsgi-it.md §3.11): ext4 image files in a home, loop-mounted inside the
//! container's own mount namespace at a mountpoint of the home. Each round the node compares
//! what the container has mounted (its `/proc/<pid>/mountinfo`) with the desired loopboxes:
//!
//! - a loopbox no longer desired, whose image went missing, was resized or replaced, or whose
//!   `ro` changed is unmounted (lazily: busy files do not keep it), and mounted again on a
//!   later round when its image is valid;
//! - an image under 1 MiB is never mounted;
//! - every change, and every reason a loopbox is not mounted, goes to `logs/emperor.log`
//!   (a reason once, not every round).
//!
//! The image is opened as the customer (file system uid switched), one path component at a
//! time relative to the previous one and never following a symlink, so no path the customer
//! controls can make the node attach another customer's file. The loop device is attached to
//! exactly that open file (`losetup` on `/proc/<node>/fd/<n>`), made visible for a moment in
//! the container's `/dev` (where its device cgroup forbids the customer to open it), mounted
//! `nosuid,nodev` with `mount -N` (util-linux switches to the container's mount namespace for
//! the mount call only), then detached lazily so that it frees itself when the mount goes,
//! also when the container stops. All of it runs the host's own tools, never a binary of the
//! container's distro.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{fchown, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use berth_model::loopbox;
use berth_model::node::LoopboxSpec;
use nix::libc;
use nix::sys::stat::{makedev, mknod, Mode, SFlag};

use crate::beneath::{directory_options, open_below, proc_path};
use crate::command::run;
use crate::home::{self, as_user};

/// Images smaller than this are not mounted (as uwsgi.it).
pub(crate) const MIN_IMAGE_BYTES: u64 = 1 << 20;

/// An ext4 loop mount the container has under its home.
#[derive(Debug)]
struct Mounted {
    /// The mount point, as the container (and, the home having the same path, the host) sees
    /// it.
    point: PathBuf,
    /// The loop device's number, `major:minor`.
    device: (u64, u64),
    /// Mounted read-only.
    ro: bool,
}

/// A valid, open image.
struct Image {
    file: File,
    /// Its path on the host, as the loop device reports its backing file.
    path: PathBuf,
    len: u64,
    dev: u64,
    ino: u64,
}

/// What the node tells the customer about one loopbox that is not mounted, kept so that the
/// same reason is logged once, not every round. Indexed by loopbox id.
pub(crate) type Notes = BTreeMap<i64, String>;

/// Make the loopboxes mounted in the container of `uid` (home `home`, init `pid` on the host)
/// match `specs`, logging each change to its Emperor log.
pub(crate) fn sync(home: &Path, uid: u32, pid: i64, specs: &[LoopboxSpec], notes: &mut Notes) {
    let log = |line: String| {
        tracing::info!(uid, "{line}");
        if let Err(error) = home::append_log(home, uid, &format!("[berth loopbox] {line}")) {
            tracing::warn!(uid, %error, "cannot log to emperor.log");
        }
    };
    let note = |id: i64, line: String, notes: &mut Notes| {
        if notes.get(&id) != Some(&line) {
            log(line.clone());
            notes.insert(id, line);
        }
    };
    notes.retain(|id, _| specs.iter().any(|s| s.id == *id));
    let host_home = fs::canonicalize(home).unwrap_or_else(|_| home.to_owned());
    let mounted = match mounted_under(pid, home) {
        Ok(mounted) => mounted,
        Err(error) => {
            tracing::warn!(uid, %error, "cannot read the container's mounts");
            return;
        }
    };
    let wanted = wanted(home, specs, &mut |id, line| note(id, line, notes));
    let mut settled = Vec::new();
    // The images mounted (device and inode): one image mounted twice, through a second
    // loopbox or a hard link, would be two ext4 drivers writing one file system.
    let mut in_use = Vec::new();
    for mount in &mounted {
        let Some(&(_, spec)) = wanted.iter().find(|(point, _)| *point == mount.point) else {
            let line = format!("unmounted {}: no longer configured", mount.point.display());
            match unmount(pid, mount) {
                Ok(()) => log(line),
                Err(e) => tracing::warn!(uid, error = %e, "loopbox unmount"),
            }
            continue;
        };
        settled.push(spec.id);
        let why = match open_image(&host_home, uid, spec) {
            Err(why) => why,
            Ok(image) => match still_valid(mount, &image, spec) {
                None => {
                    in_use.push(image.identity());
                    continue;
                }
                Some(why) => why,
            },
        };
        match unmount(pid, mount) {
            Ok(()) => {
                log(format!(
                    "{}: unmounted from {}: {why}",
                    name(spec),
                    spec.mountpoint
                ));
                notes.insert(spec.id, format!("{}: not mounted: {why}", name(spec)));
            }
            Err(e) => tracing::warn!(uid, error = %e, "loopbox unmount"),
        }
    }

    // Mount the others, the oldest loopbox first; those unmounted just now wait for the next
    // round.
    for (point, spec) in &wanted {
        if settled.contains(&spec.id) {
            continue;
        }
        let outcome = open_image(&host_home, uid, spec).and_then(|image| {
            if in_use.contains(&image.identity()) {
                return Err("its image is mounted by another loopbox".to_owned());
            }
            mount(home, uid, pid, point, spec, &image)?;
            in_use.push(image.identity());
            Ok(())
        });
        match outcome {
            Ok(()) => {
                notes.remove(&spec.id);
                log(format!(
                    "{}: mounted at {}{}",
                    name(spec),
                    spec.mountpoint,
                    if spec.ro { " (read-only)" } else { "" }
                ));
            }
            Err(why) => note(
                spec.id,
                format!("{}: not mounted: {why}", name(spec)),
                notes,
            ),
        }
    }
}

impl Image {
    /// The image file's device and inode numbers.
    fn identity(&self) -> (u64, u64) {
        (self.dev, self.ino)
    }
}

/// The loopboxes to mount, oldest first, with their mount points; `refuse` hears why the
/// others are not (the model checked the paths already: checked again here, the node being
/// root).
fn wanted<'a>(
    home: &Path,
    specs: &'a [LoopboxSpec],
    refuse: &mut impl FnMut(i64, String),
) -> Vec<(PathBuf, &'a LoopboxSpec)> {
    let mut specs: Vec<&LoopboxSpec> = specs.iter().collect();
    specs.sort_by_key(|spec| spec.id);
    let mut wanted: Vec<(PathBuf, &LoopboxSpec)> = Vec::new();
    for spec in specs {
        let checked =
            loopbox::filename(&spec.filename).and_then(|_| loopbox::mountpoint(&spec.mountpoint));
        if let Err(e) = checked {
            refuse(spec.id, format!("{}: not mounted: {e}", name(spec)));
            continue;
        }
        let point = home.join(&spec.mountpoint);
        if wanted.iter().any(|(other, _)| *other == point) {
            let why = format!("another loopbox is mounted at {}", spec.mountpoint);
            refuse(spec.id, format!("{}: not mounted: {why}", name(spec)));
            continue;
        }
        wanted.push((point, spec));
    }
    wanted
}

/// How a loopbox is named in messages.
fn name(spec: &LoopboxSpec) -> String {
    format!("loopbox {} ({})", spec.id, spec.filename)
}

/// Why `mount` no longer matches its spec and image; `None` when it does.
fn still_valid(mount: &Mounted, image: &Image, spec: &LoopboxSpec) -> Option<String> {
    let sysfs = PathBuf::from(format!(
        "/sys/dev/block/{}:{}/",
        mount.device.0, mount.device.1
    ));
    let backing = fs::read_to_string(sysfs.join("loop/backing_file")).unwrap_or_default();
    if Path::new(backing.trim_end_matches('\n')) != image.path {
        return Some("the image was replaced".to_owned());
    }
    let sectors: Option<u64> = fs::read_to_string(sysfs.join("size"))
        .ok()
        .and_then(|s| s.trim().parse().ok());
    if sectors != Some(image.len / 512) {
        return Some("the image was resized".to_owned());
    }
    if mount.ro != spec.ro {
        return Some(format!(
            "it is to be mounted {}",
            if spec.ro { "read-only" } else { "read-write" }
        ));
    }
    None
}

/// The ext4 loop mounts the process `pid` sees strictly under `home`.
fn mounted_under(pid: i64, home: &Path) -> std::io::Result<Vec<Mounted>> {
    let text = fs::read_to_string(format!("/proc/{pid}/mountinfo"))?;
    Ok(text
        .lines()
        .filter_map(parse_mountinfo)
        .filter(|m| m.point.starts_with(home) && m.point != home)
        .collect())
}

/// One line of `/proc/<pid>/mountinfo` if it is an ext4 mount of a loop device.
fn parse_mountinfo(line: &str) -> Option<Mounted> {
    let (mount, fs) = line.split_once(" - ")?;
    let fields: Vec<&str> = mount.split(' ').collect();
    let (major, minor) = fields.get(2)?.split_once(':')?;
    let point = unescape(fields.get(4)?);
    let ro = fields.get(5)?.split(',').any(|o| o == "ro");
    let mut fs = fs.split(' ');
    let (kind, source) = (fs.next()?, fs.next()?);
    if kind != "ext4" || !source.starts_with("/dev/loop") {
        return None;
    }
    Some(Mounted {
        point: PathBuf::from(point),
        device: (major.parse().ok()?, minor.parse().ok()?),
        ro,
    })
}

/// Undo mountinfo's octal escapes (`\040` for a space).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)))
            .and_then(|d| u8::from_str_radix(std::str::from_utf8(d).ok()?, 8).ok());
        match octal {
            Some(byte) => {
                out.push(byte);
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Open the image of `spec` as the customer, component by component from the home without
/// following symlinks; it must be a regular file of at least [`MIN_IMAGE_BYTES`].
fn open_image(home: &Path, uid: u32, spec: &LoopboxSpec) -> Result<Image, String> {
    let components: Vec<&str> = spec.filename.split('/').collect();
    let (file_name, dirs) = components
        .split_last()
        .ok_or_else(|| "the image has no name".to_owned())?;
    let opened = as_user(uid, || -> std::io::Result<File> {
        let mut dir = directory_options().open(home)?;
        for component in dirs {
            dir = open_below(&dir, component, &mut directory_options())?;
        }
        let mut options = OpenOptions::new();
        options
            .read(true)
            .write(!spec.ro)
            // Non-blocking: a FIFO must not hang the node.
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY);
        open_below(&dir, file_name, &mut options)
    });
    let file = opened.map_err(|e| match e.raw_os_error() {
        Some(libc::ENOENT) => "the image is missing".to_owned(),
        Some(libc::ELOOP) => "the image is a symlink".to_owned(),
        Some(libc::ENOTDIR) => {
            "the image path goes through a symlink or a file that is not a directory".to_owned()
        }
        Some(libc::EACCES) => format!(
            "the container's user may not {} the image",
            if spec.ro { "read" } else { "read and write" }
        ),
        _ => format!("cannot open the image: {e}"),
    })?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot stat the image: {e}"))?;
    if !meta.is_file() {
        return Err("the image is not a regular file".to_owned());
    }
    if meta.len() < MIN_IMAGE_BYTES {
        return Err("the image is under 1 MiB".to_owned());
    }
    Ok(Image {
        file,
        path: home.join(&spec.filename),
        len: meta.len(),
        dev: meta.dev(),
        ino: meta.ino(),
    })
}

/// Create the mountpoint `point` of `spec` as the customer when missing; every component must
/// be a directory, none a symlink.
fn ensure_mountpoint(home: &Path, uid: u32, spec: &LoopboxSpec) -> Result<(), String> {
    as_user(uid, || {
        let mut path = home.to_owned();
        for component in spec.mountpoint.split('/') {
            path.push(component);
            match fs::symlink_metadata(&path) {
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => {
                    return Err(format!(
                        "the mountpoint {} goes through a symlink or a file that is not a \
                         directory",
                        spec.mountpoint
                    ))
                }
                Err(_) => fs::create_dir(&path)
                    .map_err(|e| format!("cannot create the mountpoint: {e}"))?,
            }
        }
        Ok(())
    })
}

/// Attach `image` to a loop device and mount it at `point` in the mount namespace of `pid`.
fn mount(
    home: &Path,
    uid: u32,
    pid: i64,
    point: &Path,
    spec: &LoopboxSpec,
    image: &Image,
) -> Result<(), String> {
    ensure_mountpoint(home, uid, spec)?;
    // The same walk inside the container, which also sees its other mounts.
    open_in_container(pid, point).map_err(|_| {
        format!(
            "the mountpoint {} goes through a symlink inside the container",
            spec.mountpoint
        )
    })?;
    let backing = proc_path(&image.file);
    let mut args = vec!["--find", "--show"];
    if spec.ro {
        args.push("--read-only");
    }
    args.push(&backing);
    let device = run("losetup", &args).map_err(|e| {
        tracing::warn!(uid, error = %e, "loopbox attach");
        "cannot attach the image to a loop device".to_owned()
    })?;
    let device = device.trim().to_owned();
    let mounted = mount_device(pid, &device, point, spec);
    // Detaching a mounted device only marks it to free itself once unmounted.
    if let Err(e) = run("losetup", &["--detach", &device]) {
        tracing::warn!(uid, error = %e, "loopbox detach");
    }
    let dev = mounted?;
    if !spec.ro {
        give_root_to(pid, point, dev, uid);
    }
    Ok(())
}

/// Mount the loop `device` at `point` inside the mount namespace of `pid`; its device number.
fn mount_device(pid: i64, device: &str, point: &Path, spec: &LoopboxSpec) -> Result<u64, String> {
    let loop_name = device
        .strip_prefix("/dev/")
        .filter(|n| n.starts_with("loop") && !n.contains('/'))
        .ok_or_else(|| format!("losetup answered {device:?}"))?;
    let numbers = fs::read_to_string(format!("/sys/block/{loop_name}/dev")).unwrap_or_default();
    let (major, minor) = numbers
        .trim()
        .split_once(':')
        .and_then(|(a, b)| Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()?)))
        .ok_or_else(|| format!("no device number for {device}"))?;
    let dev = makedev(major, minor);
    // The same path inside: the container's /dev is its own tmpfs, root's only.
    let node = PathBuf::from(format!("/proc/{pid}/root{device}"));
    let _ = fs::remove_file(&node);
    mknod(&node, SFlag::S_IFBLK, Mode::from_bits_truncate(0o600), dev)
        .map_err(|e| format!("cannot make {device} in the container: {e}"))?;
    let options = if spec.ro {
        "nosuid,nodev,noatime,ro"
    } else {
        "nosuid,nodev,noatime"
    };
    let namespace = format!("/proc/{pid}/ns/mnt");
    let target = point.to_string_lossy();
    let outcome = run(
        "mount",
        &[
            "-N", &namespace, "-t", "ext4", "-o", options, device, &target,
        ],
    );
    let _ = fs::remove_file(&node);
    outcome.map_err(|e| {
        tracing::warn!(pid, error = %e, "loopbox mount");
        "cannot mount the image: the kernel does not take it as an ext4 file system".to_owned()
    })?;
    Ok(dev)
}

/// Open the directory `point` as the container of `pid` sees it: from its root, one component
/// at a time, never following a symlink (mounts are crossed, as any path walk does).
fn open_in_container(pid: i64, point: &Path) -> std::io::Result<File> {
    // The container's root as its init sees it (a link of the kernel's, followed).
    let mut dir = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY)
        .open(format!("/proc/{pid}/root"))?;
    for component in point.iter().skip(1) {
        dir = open_below(&dir, &component.to_string_lossy(), &mut directory_options())?;
    }
    Ok(dir)
}

/// Make the root directory of a freshly mounted read-write loopbox the customer's (a new ext4
/// file system's root belongs to root); only when `point` leads, without symlinks, to the
/// root of the file system on `dev`.
fn give_root_to(pid: i64, point: &Path, dev: u64, uid: u32) {
    match open_in_container(pid, point) {
        Ok(dir) => {
            if dir.metadata().is_ok_and(|m| m.dev() == dev) {
                if let Err(e) = fchown(&dir, Some(uid), Some(uid)) {
                    tracing::warn!(uid, error = %e, "cannot chown a loopbox root");
                }
            }
        }
        Err(e) => tracing::warn!(uid, error = %e, "cannot open a loopbox root"),
    }
}

/// Unmount `mount` in the mount namespace of `pid`, lazily (open files do not keep it).
///
/// `umount` takes a path, resolved inside the container, where the customer owns the
/// directories: so the path is first walked without following symlinks and must lead to the
/// loop device's file system (a customer swapping a directory for a symlink in the
/// milliseconds between that check and `umount` could at worst unmount another mount of
/// their own namespace). `umount` needs the mount table, which it reads from
/// `/proc/self/mountinfo` once in the container's mount namespace; there `/proc` belongs to
/// the container's pid namespace, so `umount` runs in that pid namespace too
/// (`nsenter --pid`), still the host's binary.
fn unmount(pid: i64, mount: &Mounted) -> Result<(), String> {
    let dev = makedev(mount.device.0, mount.device.1);
    let leads_there = open_in_container(pid, &mount.point)
        .and_then(|dir| dir.metadata())
        .is_ok_and(|meta| meta.dev() == dev);
    if !leads_there {
        return Err(format!(
            "{} no longer leads to the loopbox without symlinks",
            mount.point.display()
        ));
    }
    let target_pid = pid.to_string();
    let namespace = format!("/proc/{pid}/ns/mnt");
    let target = mount.point.to_string_lossy();
    run(
        "nsenter",
        &[
            "--target",
            &target_pid,
            "--pid",
            "--",
            "umount",
            "-N",
            &namespace,
            "--lazy",
            &target,
        ],
    )
    .map(|_| ())
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loop_mounts_are_read_from_mountinfo() {
        let line = "612 590 7:3 / /containers/30009/my\\040data rw,nosuid,nodev,noatime \
                    shared:1 - ext4 /dev/loop3 rw";
        let mount = parse_mountinfo(line).expect("an ext4 loop mount");
        assert_eq!(mount.point, Path::new("/containers/30009/my data"));
        assert_eq!(mount.device, (7, 3));
        assert!(!mount.ro);
        let ro = "1 2 7:4 / /x ro,nosuid - ext4 /dev/loop4 ro";
        assert!(parse_mountinfo(ro).expect("mount").ro);
        assert!(parse_mountinfo("1 2 0:5 / /x rw - btrfs /dev/loop4 rw").is_none());
        assert!(parse_mountinfo("1 2 8:1 / /x rw - ext4 /dev/sda1 rw").is_none());
        assert!(parse_mountinfo("garbage").is_none());
        assert_eq!(unescape("a\\134b\\0"), "a\\b\\0");
    }
}
