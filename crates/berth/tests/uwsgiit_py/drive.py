"""Drives every public method of the unmodified uwsgiit-py 0.10.0 client against berth.

Run by crates/berth/tests/uwsgiit_py.rs with the client installed in a virtualenv. Each
method is called the way the client's users call it, and what it writes is read back.
Prints one "ok <method>" line per method and exits non-zero at the first surprise; at the
end it fails if any public method of the client was not driven.
"""

import json
import os
import sys

from uwsgiit.api import UwsgiItAlarmLevel, UwsgiItClient

URL = os.environ["BERTH_URL"]
USER = os.environ["BERTH_USER"]
PASSWORD = os.environ["BERTH_PASSWORD"]
CONTAINER = int(os.environ["BERTH_CONTAINER"])
DISTRO = int(os.environ["BERTH_DISTRO"])
PROVED_DOMAIN = os.environ["BERTH_PROVED_DOMAIN"]
UNPROVED_DOMAIN = os.environ["BERTH_UNPROVED_DOMAIN"]
METRICS_DOMAIN = int(os.environ["BERTH_METRICS_DOMAIN"])
METRICS_DAY = json.loads(os.environ["BERTH_METRICS_DAY"])
EXPECTED_CPU = json.loads(os.environ["BERTH_EXPECTED_CPU"])
EXPECTED_HITS = json.loads(os.environ["BERTH_EXPECTED_HITS"])
PUBLIC_NEWS = os.environ["BERTH_PUBLIC_NEWS"]
PRIVATE_NEWS = os.environ["BERTH_PRIVATE_NEWS"]
SSH_KEY = os.environ["BERTH_SSH_KEY"]

client = UwsgiItClient(USER, PASSWORD, URL)
driven = set()


def expect(method, condition, detail):
    if not condition:
        print("FAIL {0}: {1}".format(method, detail))
        sys.exit(1)


def ok(method, response, status=200):
    """Checks the status and that the body is JSON; returns the body."""
    expect(
        method,
        response.status_code == status and not response.uerror,
        "status {0} (wanted {1}): {2}".format(response.status_code, status, response.text),
    )
    driven.add(method)
    print("ok " + method)
    return response.json()


# news: anonymous (None:None Basic auth) callers see the public items, customers all.
anonymous = UwsgiItClient(None, None, URL)
public = ok("news", anonymous.news())
expect("news", [n["content"] for n in public] == [PUBLIC_NEWS], public)
expect("news", all(isinstance(n["date"], int) for n in public), public)
everything = [n["content"] for n in client.news().json()]
expect("news", sorted(everything) == sorted([PUBLIC_NEWS, PRIVATE_NEWS]), everything)

# me / update_me
me = ok("me", client.me())
expect("me", CONTAINER in me["containers"], me)
for key in ("email", "vat", "company", "uuid", "servers"):
    expect("me", key in me, me)
updated = ok("update_me", client.update_me({"company": "Python Client Ltd"}))
expect("update_me", updated["company"] == "Python Client Ltd", updated)
expect("update_me", client.me().json()["company"] == "Python Client Ltd", "read back")

# tags
tag = ok("create_tag", client.create_tag("py-prod"), 201)
expect("create_tag", tag["name"] == "py-prod" and isinstance(tag["id"], int), tag)
tags = ok("list_tags", client.list_tags())
expect("list_tags", {"id": tag["id"], "name": "py-prod"} in tags, tags)

# containers
listed = ok("containers", client.containers())
expect("containers", CONTAINER in [c["uid"] for c in listed], listed)
container = ok("container", client.container(CONTAINER))
for key in ("ssh_keys", "distro_name", "storage", "memory", "tags", "linked_to", "uid", "name",
            "server_address", "legion_address", "quota_threshold", "nofollow", "alarm_freq"):
    expect("container", key in container, "missing {0}: {1}".format(key, container))
distros = ok("distros", client.distros())
expect("distros", DISTRO in [d["id"] for d in distros], distros)
ok("container_set_distro", client.container_set_distro(CONTAINER, DISTRO))
expect("container_set_distro", client.container(CONTAINER).json()["distro"] == DISTRO, "read back")
ok("container_set_keys", client.container_set_keys(CONTAINER, [SSH_KEY]))
expect("container_set_keys", client.container(CONTAINER).json()["ssh_keys"] == [SSH_KEY], "read back")
rebooted = ok("reboot_container", client.reboot_container(CONTAINER))
expect("reboot_container", "error" not in rebooted, rebooted)
changed = ok("update_container", client.update_container(
    CONTAINER, {"note": "driven by uwsgiit-py", "tags": ["py-prod", "no-such-tag"]}))
expect("update_container", changed["note"] == "driven by uwsgiit-py", changed)
expect("update_container", changed["tags"] == ["py-prod"], changed)
tagged = client.containers(tags=["py-prod", "other"]).json()
expect("containers", [c["uid"] for c in tagged] == [CONTAINER], tagged)

# domains: proved by the TXT record on the parent name, refused without it
added = ok("add_domain", client.add_domain(PROVED_DOMAIN), 201)
expect("add_domain", added["name"] == PROVED_DOMAIN and added["message"] == "Created", added)
refused = client.add_domain(UNPROVED_DOMAIN)
expect("add_domain", refused.uerror and refused.status_code == 403, refused.text)
expect("add_domain", "error" in refused.json(), refused.text)
domains = ok("domains", client.domains())
expect("domains", PROVED_DOMAIN in [d["name"] for d in domains], domains)
domain = ok("domain", client.domain(added["id"]))
expect("domain", domain["name"] == PROVED_DOMAIN and "note" in domain, domain)
missing = client.domain(99999)
expect("domain", missing.status_code == 404 and missing.uerror, missing.text)
changed = ok("update_domain", client.update_domain(added["id"], {"note": "py", "tags": ["py-prod"]}))
expect("update_domain", changed["note"] == "py" and changed["tags"] == ["py-prod"], changed)
by_tag = client.domains(tags=["py-prod"]).json()
expect("domains", [d["id"] for d in by_tag] == [added["id"]], by_tag)
deleted = ok("delete_domain", client.delete_domain(PROVED_DOMAIN))
expect("delete_domain", deleted == {"message": "Ok"}, deleted)
expect("delete_domain", client.domain(added["id"]).status_code == 404, "still there")

# metrics recorded by the test harness for one day
cpu = ok("container_metric", client.container_metric(CONTAINER, "cpu", METRICS_DAY))
expect("container_metric", cpu == EXPECTED_CPU, cpu)
hits = ok("domain_metric", client.domain_metric(METRICS_DOMAIN, "hits", METRICS_DAY))
expect("domain_metric", hits == EXPECTED_HITS, hits)
expect("container_metric", client.container_metric(CONTAINER, "quota").json() == [], "today")

# loopboxes
created = ok("create_loopbox", client.create_loopbox(CONTAINER, "py.img", "py-data", readonly=True), 201)
expect("create_loopbox", created["message"] == "Created", created)
clash = client.create_loopbox(CONTAINER, "py.img", "elsewhere")
expect("create_loopbox", clash.status_code == 409, clash.text)
boxes = ok("loopboxes", client.loopboxes(container=CONTAINER))
box = [b for b in boxes if b["filename"] == "py.img" and b["mountpoint"] == "py-data"]
expect("loopboxes", len(box) == 1 and box[0]["ro"] is True, boxes)
box = box[0]
expect("loopbox", ok("loopbox", client.loopbox(box["id"])) == box, "read back")
retagged = ok("update_loopbox", client.update_loopbox(box["id"], {"tags": ["py-prod"]}))
expect("update_loopbox", retagged["tags"] == ["py-prod"], retagged)
expect("loopboxes", [b["id"] for b in client.loopboxes(tags=["py-prod"]).json()] == [box["id"]], "tag filter")
gone = ok("delete_loopbox", client.delete_loopbox(box["id"]))
expect("delete_loopbox", gone["message"] == "Ok", gone)
expect("loopbox", client.loopbox(box["id"]).status_code == 403, "still there")

# alarms
raised = ok("create_alarm", client.create_alarm(
    CONTAINER, "hello world",
    {"class": "py-class", "color": "ff0000", "level": UwsgiItAlarmLevel.EXCEPTION, "line": 42}), 201)
expect("create_alarm", raised["message"] == "Created", raised)
system = client.create_alarm(CONTAINER, "spoof", {"level": UwsgiItAlarmLevel.SYSTEM})
expect("create_alarm", system.status_code == 403, system.text)
found = ok("alarms", client.alarms({"class": "py-class"}))
expect("alarms", len(found) == 1, found)
alarm = found[0]
expect("alarms", alarm["msg"] == '"hello world"' and alarm["color"] == "#ff0000", alarm)
expect("alarms", alarm["level"] == 2 and alarm["line"] == 42 and alarm["container"] == CONTAINER, alarm)
total = client.alarms({"with_total": 1, "range": "1"}).json()
expect("alarms", total["total"] >= 1 and len(total["alarms"]) == 1, total)
expect("alarm", ok("alarm", client.alarm(alarm["id"])) == alarm, "read back")
key = ok("create_alarm_key", client.create_alarm_key(CONTAINER))
expect("create_alarm_key", len(key["alarm_key"]) == 36, key)
expect("create_alarm_key", client.create_alarm_key(CONTAINER).json()["alarm_key"] != key["alarm_key"], "new key")
removed = ok("delete_alarm", client.delete_alarm(alarm["id"]))
expect("delete_alarm", removed["message"] == "Ok", removed)
expect("alarm", client.alarm(alarm["id"]).status_code == 403, "still there")

# the generic methods, then the tag deletion
expect("get", ok("get", client.get(["containers", CONTAINER]))["uid"] == CONTAINER, "get")
posted = ok("post", client.post("tags", {"name": "py-generic", "note": "n"}), 201)
expect("post", posted["note"] == "n", posted)
ok("delete", client.delete(["tags", posted["id"]]))
ok("delete_tag", client.delete_tag(tag["id"]))
expect("delete_tag", client.list_tags().json() == [], "tags remain")

public_methods = {name for name in dir(UwsgiItClient) if not name.startswith("_")}
untested = sorted(public_methods - driven)
expect("coverage", not untested, "methods not driven: {0}".format(untested))
print("all {0} methods of uwsgiit-py driven".format(len(public_methods)))
