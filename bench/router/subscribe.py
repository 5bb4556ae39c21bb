#!/usr/bin/env python3
"""Subscription helper for the router benchmarks (standard library only).

  subscribe.py announce SERVER KEY ADDRESS [PROTO] [SECONDS]
      announce KEY -> ADDRESS every 5 s for SECONDS (default 3600), as a vassal does
  subscribe.py latency SERVER HTTP_HOST:PORT COUNT
      for COUNT new keys: send the packet, then poll the router until the key answers 200;
      prints the subscription-to-routable latency (median, p99, max) in milliseconds
  subscribe.py many SERVER COUNT ADDRESS
      subscribe COUNT distinct keys (dom-N.bench) to ADDRESS once
"""
import http.client
import socket
import statistics
import struct
import sys
import time


def packet(key, address, proto=None, modifier2=0):
    def var(k, v):
        k, v = k.encode(), v.encode()
        return struct.pack("<H", len(k)) + k + struct.pack("<H", len(v)) + v

    body = b"".join(
        var(k, v)
        for k, v in [
            ("key", key),
            ("address", address),
            ("modifier1", "0"),
            ("modifier2", "0"),
            ("cores", "1"),
            ("load", "0"),
            ("weight", "1"),
        ]
        + ([("proto", proto)] if proto else [])
    )
    return struct.pack("<BHB", 224, len(body), modifier2) + body


def udp_target(server):
    host, port = server.rsplit(":", 1)
    return (host, int(port))


def announce(server, key, address, proto=None, seconds=3600):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    p = packet(key, address, proto if proto and proto != "-" else None)
    end = time.time() + float(seconds)
    while time.time() < end:
        s.sendto(p, udp_target(server))
        time.sleep(5)


def latency(server, http_addr, count):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    host, port = http_addr.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port))
    run = int(time.time())
    samples = []
    for i in range(int(count)):
        key = f"lat-{run}-{i}.bench"
        start = time.perf_counter()
        s.sendto(packet(key, "127.0.0.1:9"), udp_target(server))
        while True:
            conn.request("GET", "/", headers={"Host": key})
            r = conn.getresponse()
            r.read()
            # 404: not yet routable; 502: routable (the address is a dead end on purpose).
            if r.status != 404:
                break
            if time.perf_counter() - start > 5:
                sys.exit(f"{key} not routable after 5 s")
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    print(f"subscription->routable over {len(samples)} keys: median {statistics.median(samples):.3f} ms, "
          f"p99 {p99:.3f} ms, max {samples[-1]:.3f} ms")


def many(server, count, address):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    for i in range(int(count)):
        s.sendto(packet(f"dom-{i}.bench", address), udp_target(server))
        if i % 500 == 499:
            time.sleep(0.02)  # let the router drain its receive buffer


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"announce": announce, "latency": latency, "many": many}[cmd](*args)
