//! Loopboxes (spec/uwsgi-it.md §3.11) against real runc containers: ext4 images of the home
//! mounted inside the container only (needs root, `runc`, `e2fsprogs`, util-linux).

mod support;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Command;

use berth_model::node::{ContainerSpec, LoopboxSpec};
use support::storage::sh;
use support::{desired, fixture, wait_for, Fixture};

/// An ext4 image of `size` (`2M`, …) at `path`, owned by `uid`, holding `hello.txt` = `text`.
fn image(path: &Path, size: &str, uid: u32, text: &str) {
    let content = tempfile::tempdir().expect("dir");
    fs::write(content.path().join("hello.txt"), text).expect("hello.txt");
    sh(&format!(
        "mkfs.ext4 -q -F -d {dir} {image} {size} >/dev/null 2>&1 && chown {uid}:{uid} {image}",
        dir = content.path().display(),
        image = path.display()
    ));
}

fn loopbox(id: i64, filename: &str, mountpoint: &str, ro: bool) -> LoopboxSpec {
    LoopboxSpec {
        id,
        filename: filename.to_owned(),
        mountpoint: mountpoint.to_owned(),
        ro,
    }
}

impl Fixture {
    /// Whether the container of `uid` has a mount at `<home>/<mountpoint>`.
    fn mounted(&self, uid: u32, mountpoint: &str) -> bool {
        let point = format!(" {}/{mountpoint} ", self.home(uid).display());
        fs::read_to_string(format!("/proc/{}/mountinfo", self.init_pid(uid)))
            .expect("mountinfo")
            .lines()
            .any(|line| line.contains(&point))
    }

    /// `hello.txt` of the loopbox at `mountpoint`, as the container's user reads it.
    fn hello(&self, uid: u32, mountpoint: &str) -> Option<String> {
        let (ok, out, _) = self.run_as_customer(uid, &format!("cat $HOME/{mountpoint}/hello.txt"));
        ok.then_some(out)
    }

    fn reconcile(&self, spec: &ContainerSpec) {
        let done = self.runtime.reconcile(&desired(vec![spec.clone()]));
        assert!(done.errors.is_empty(), "{:?}", done.errors);
    }
}

#[test]
fn loopboxes_mount_inside_the_container_only_ro_honoured_small_and_foreign_images_refused() {
    let f = fixture();
    let uid = 31710;
    let other = 31711;
    let home = f.home(uid);
    let mut spec = f.spec(uid.into());
    // Start without loopboxes to have a home to put images in.
    f.reconcile(&spec);
    image(&home.join("data.img"), "4M", uid, "hello data");
    fs::create_dir(home.join("images")).expect("images/");
    sh(&format!("chown {uid}:{uid} {}/images", home.display()));
    image(&home.join("images/ro.img"), "2M", uid, "hello ro");
    image(&home.join("small.img"), "512K", uid, "hello small");
    image(&home.join("spare.img"), "2M", uid, "hello spare");
    // Another customer's image, reached through symlinks from this home.
    let other_home = f.dir.path().join("containers").join(other.to_string());
    fs::create_dir_all(&other_home).expect("other home");
    image(&other_home.join("secret.img"), "2M", other, "hello secret");
    symlink(other_home.join("secret.img"), home.join("link.img")).expect("symlink");
    symlink(&other_home, home.join("elsewhere")).expect("symlink");
    fs::hard_link(home.join("data.img"), home.join("again.img")).expect("hard link");
    // Not a file system at all.
    sh(&format!(
        "head -c 2M /dev/urandom > {0}/junk.img && chown {uid}:{uid} {0}/junk.img",
        home.display()
    ));
    spec.loopboxes = vec![
        loopbox(1, "data.img", "data", false),
        loopbox(2, "images/ro.img", "mnt/ro", true),
        loopbox(3, "small.img", "small", false),
        loopbox(4, "link.img", "link", false),
        loopbox(5, "elsewhere/secret.img", "elsewhere-mnt", false),
        loopbox(6, "junk.img", "junk", false),
        // A good image, at a mountpoint leading into the other home.
        loopbox(7, "spare.img", "elsewhere/mnt", false),
        // The image of loopbox 1 again, through a hard link.
        loopbox(8, "again.img", "again", false),
    ];
    f.reconcile(&spec);

    // Mounted inside, invisible outside; the customer may write to a read-write one.
    assert_eq!(f.hello(uid, "data").as_deref(), Some("hello data"));
    assert!(!home.join("data/hello.txt").exists());
    let (ok, _, err) = f.run_as_customer(uid, "echo mine > $HOME/data/new.txt");
    assert!(ok, "{err}");
    // Read-only is read-only.
    assert_eq!(f.hello(uid, "mnt/ro").as_deref(), Some("hello ro"));
    let (ok, _, err) = f.run_as_customer(uid, "touch $HOME/mnt/ro/x");
    assert!(!ok);
    assert!(err.contains("Read-only file system"), "{err}");
    // Under 1 MiB: not mounted; through a symlink: never.
    assert!(!f.mounted(uid, "small"));
    assert!(!f.mounted(uid, "link"));
    assert!(!f.mounted(uid, "elsewhere-mnt"));
    assert!(!f.mounted(uid, "junk"));
    assert!(!f.mounted(uid, "elsewhere/mnt"));
    assert!(!other_home.join("mnt").exists());
    assert!(!f.mounted(uid, "again"));
    assert_eq!(f.hello(uid, "link"), None);

    let log = f.emperor_log(uid);
    for line in [
        "loopbox 1 (data.img): mounted at data",
        "loopbox 2 (images/ro.img): mounted at mnt/ro (read-only)",
        "loopbox 3 (small.img): not mounted: the image is under 1 MiB",
        "loopbox 4 (link.img): not mounted: the image is a symlink",
        "loopbox 5 (elsewhere/secret.img): not mounted: the image path goes through a symlink \
         or a file that is not a directory",
        "loopbox 6 (junk.img): not mounted: cannot mount the image: the kernel does not take it as \
         an ext4 file system\n",
        "loopbox 7 (spare.img): not mounted: the mountpoint elsewhere/mnt goes through a \
         symlink or a file that is not a directory",
        "loopbox 8 (again.img): not mounted: its image is mounted by another loopbox",
    ] {
        assert!(log.contains(line), "{line:?} not in {log}");
    }
    // Nothing changed: nothing more to say.
    f.reconcile(&spec);
    assert_eq!(f.emperor_log(uid), log);
}

#[test]
fn loopboxes_are_unmounted_when_deleted_missing_resized_or_switched_and_remounted_when_valid() {
    let f = fixture();
    let uid = 31712;
    let home = f.home(uid);
    let mut spec = f.spec(uid.into());
    f.reconcile(&spec);
    image(&home.join("data.img"), "2M", uid, "hello data");
    spec.loopboxes = vec![loopbox(1, "data.img", "data", false)];
    f.reconcile(&spec);
    assert!(f.mounted(uid, "data"));
    let (ok, _, err) = f.run_as_customer(uid, "echo kept > $HOME/data/kept.txt && sync");
    assert!(ok, "{err}");

    // Missing: unmounted; back: mounted again, with what was written in it.
    fs::rename(home.join("data.img"), home.join("away.img")).expect("mv");
    f.reconcile(&spec);
    assert!(!f.mounted(uid, "data"));
    assert!(f
        .emperor_log(uid)
        .contains("loopbox 1 (data.img): unmounted from data: the image is missing"));
    fs::rename(home.join("away.img"), home.join("data.img")).expect("mv");
    f.reconcile(&spec);
    assert!(f.mounted(uid, "data"));
    let (ok, kept, _) = f.run_as_customer(uid, "cat $HOME/data/kept.txt");
    assert!(ok);
    assert_eq!(kept, "kept\n");

    // Resized: unmounted, then mounted again on the next round.
    sh(&format!(
        "truncate -s 3M {}",
        home.join("data.img").display()
    ));
    f.reconcile(&spec);
    assert!(!f.mounted(uid, "data"));
    assert!(f
        .emperor_log(uid)
        .contains("loopbox 1 (data.img): unmounted from data: the image was resized"));
    f.reconcile(&spec);
    assert!(f.mounted(uid, "data"));

    // Switched to read-only: remounted read-only.
    spec.loopboxes[0].ro = true;
    f.reconcile(&spec);
    f.reconcile(&spec);
    assert!(f.mounted(uid, "data"));
    let (ok, _, _) = f.run_as_customer(uid, "touch $HOME/data/x");
    assert!(!ok, "a read-only loopbox is writable");

    // A restarted container has its loopboxes again in the round that restarts it.
    spec.last_reboot += 1;
    f.reconcile(&spec);
    assert!(f.mounted(uid, "data"));
    assert_eq!(f.hello(uid, "data").as_deref(), Some("hello data"));

    // Deleted from the desired state: unmounted.
    spec.loopboxes.clear();
    f.reconcile(&spec);
    assert!(!f.mounted(uid, "data"));
    let log = f.emperor_log(uid);
    assert!(log.contains("no longer configured"), "{log}");

    // The loop devices free themselves once unmounted, and when the container stops.
    spec.loopboxes = vec![loopbox(1, "data.img", "data", false)];
    f.reconcile(&spec);
    assert!(f.mounted(uid, "data"));
    let _ = f.runtime.reconcile(&desired(vec![]));
    // The kernel may finish tearing the mount namespace down a moment after runc returns.
    wait_for("the loop devices to free themselves", || {
        let loops = Command::new("losetup")
            .arg("--list")
            .output()
            .expect("losetup");
        let loops = String::from_utf8_lossy(&loops.stdout).into_owned();
        (!loops.contains(&home.display().to_string())).then_some(())
    });
}
