#!/usr/bin/env python3
"""Measures berth node against a running `berth up` (see run.sh, which starts it):

  runnable -> Emperor  the API call that makes the demo container runnable (an ssh key set,
                       the distro already set) until its init, the uWSGI Emperor, runs
                       (target: p50 <= 1 s);
  vassal -> domain     a vassal file renamed into vassals/ until its domain answers through
                       the router (target: p50 <= 2 s).

Usage: measure.py DATA_DIR RUNC_ROOT HOMES ROUTER_HTTP ROUNDS
"""

import base64
import json
import os
import statistics
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKb2x6z0DsbQFQq0bnJkm2Y7E+DkUc9NMuOQYhW0F1yi bench"
APP = b'def application(environ, start_response):\n    start_response("200 OK", [])\n    return [b"ok"]\n'


def api(base, user, password, method, path, body=None):
    request = urllib.request.Request(f"{base}{path}", method=method)
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(request, data=data, timeout=10) as response:
        return json.load(response)


def emperor_runs(runc_root, uid):
    state = subprocess.run(
        ["runc", "--root", runc_root, "state", f"berth-{uid}"],
        capture_output=True,
    )
    if state.returncode != 0:
        return False
    state = json.loads(state.stdout)
    if state.get("status") != "running":
        return False
    try:
        with open(f"/proc/{state['pid']}/cmdline", "rb") as cmdline:
            return b"--emperor" in cmdline.read()
    except OSError:
        return False


def wait(probe, limit=30.0):
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if probe():
            return time.monotonic()
        time.sleep(0.005)
    raise SystemExit("timed out")


def answers(router, host):
    request = urllib.request.Request(f"http://{router}/", headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return response.status == 200 and response.read() == b"ok"
    except (urllib.error.URLError, OSError):
        return False


def summary(label, samples):
    samples = sorted(samples)
    p50 = statistics.median(samples)
    p90 = samples[max(0, int(len(samples) * 0.9) - 1)]
    print(f"{label}: n={len(samples)} p50={p50 * 1000:.0f} ms p90={p90 * 1000:.0f} ms "
          f"min={samples[0] * 1000:.0f} ms max={samples[-1] * 1000:.0f} ms")


def main():
    data, runc_root, homes, router, rounds = sys.argv[1:6]
    rounds = int(rounds)
    with open(os.path.join(data, "credentials.toml"), "rb") as file:
        credentials = tomllib.load(file)
    with open(os.path.join(data, "banner")) as file:
        base = next(word for line in file for word in line.split()
                    if word.startswith("http://") and word.endswith("/api/me"))[:-len("/api/me")]
    user, password = credentials["customer_username"], credentials["customer_password"]
    uid = credentials["container_uid"]
    berth = os.environ.get("BERTH", "target/release/berth")
    distro = json.loads(subprocess.check_output(
        [berth, "admin", "--json", "--data", data, "distro", "add", "host", "--path", "/"]))
    api(base, user, password, "POST", f"/api/containers/{uid}", {"distro": distro["id"]})

    starts = []
    for _ in range(rounds):
        called = time.monotonic()
        api(base, user, password, "POST", f"/api/containers/{uid}", {"ssh_keys": [KEY]})
        starts.append(wait(lambda: emperor_runs(runc_root, uid)) - called)
        api(base, user, password, "POST", f"/api/containers/{uid}", {"ssh_keys": []})
        wait(lambda: not emperor_runs(runc_root, uid))
    summary("runnable -> Emperor running", starts)

    api(base, user, password, "POST", f"/api/containers/{uid}", {"ssh_keys": [KEY]})
    wait(lambda: emperor_runs(runc_root, uid))
    home = os.path.join(homes, str(uid))
    app = os.path.join(home, "bench.py")
    with open(app, "wb") as file:
        file.write(APP)
    os.chown(app, uid, uid)
    domains = [f"bench{i}.example" for i in range(rounds)]
    for domain in domains:
        subprocess.check_output(
            [berth, "admin", "--data", data, "domain", "add", domain, "--customer", user])
    deploys = []
    for domain in domains:
        staged = os.path.join(home, f"{domain}.ini")
        with open(staged, "w") as file:
            file.write(f"[uwsgi]\nplugin = 0:python\nwsgi-file = $(HOME)/bench.py\n"
                       f"domain = {domain}\n")
        os.chown(staged, uid, uid)
        vassal = os.path.join(home, "vassals", f"{domain}.ini")
        written = time.monotonic()
        os.rename(staged, vassal)
        deploys.append(wait(lambda: answers(router, domain)) - written)
        os.remove(vassal)
    summary("vassal file -> domain answers", deploys)


if __name__ == "__main__":
    main()
