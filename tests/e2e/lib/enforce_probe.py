#!/usr/bin/env python3
"""Client-side probes for the enforcement end-to-end tests (tests/e2e/test_enforce_*.sh).

Runs in the client namespace (through lab_client) and reports what an application sees:
the errno of a TCP connect and how long it took, whether a UDP datagram got an answer or
failed locally, whether an ICMP echo was answered. Standard library only.

  cells                  read "ID PROTO ADDR PORT" lines on stdin (PROTO tcp, udp or icmp),
                         probe each in turn, print "ID OUTCOME ELAPSED_MS DETAIL" per line
                         (ELAPSED_MS with one decimal: the connect, the datagram's round
                         trip or the ping)
  hold ADDR:PORT...      open one TCP connection to each (port 80: HTTP/1.1 keep-alive,
                         otherwise echo), print "connected", then for every "check" line on
                         stdin do one round trip on each and print "ok"/"fail:<why>" per
                         connection, space separated, on one line; EOF closes them
  dhcp4 IFNAME           a DHCPDISCOVER from a UDP socket on port 68, broadcast on IFNAME;
                         print "offer yiaddr=A dns=B" (or eperm, timeout)
  loop ADDR PORT SECONDS STOPFILE
                         try a new TCP connect every 20 ms until STOPFILE exists (at most
                         SECONDS); print the number of attempts and of connects that
                         succeeded ("attempts=N connected=M")

OUTCOME: tcp: open (connected and the service answered: an HTTP body naming ADDR on port 80,
an echo on port 7), connected (port 853/443/53: connect only), refused, eperm, timeout or
another errno name; udp (a DNS query to ports 53, 443 and 853, else a line for echo): reply, refused
(the host answered with port unreachable), eperm (send() failed: a local reject), unreach,
timeout; icmp: reply, eperm (ping's sendmsg was
refused locally), noreply.
"""
import errno
import os
import select
import socket
import struct
import subprocess
import sys
import time


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def outcome_of_errno(e):
    if e == errno.ECONNREFUSED:
        return "refused"
    if e == errno.EPERM:
        return "eperm"
    if e == errno.ETIMEDOUT:
        return "timeout"
    if e in (errno.EHOSTUNREACH, errno.EACCES, errno.ENETUNREACH):
        return "unreach"
    return errno.errorcode.get(e, str(e)).lower()


def http_request(addr):
    host = f"[{addr}]" if ":" in addr else addr
    return f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: keep-alive\r\n\r\n".encode()


def read_http(sock, timeout=3.0):
    """One HTTP/1.1 response with Content-Length; returns the body text or raises."""
    deadline = time.monotonic() + timeout
    data = b""
    while b"\r\n\r\n" not in data:
        data += recv_some(sock, deadline)
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    while len(body) < length:
        body += recv_some(sock, deadline)
    return body[:length].decode(errors="replace").strip()


def recv_some(sock, deadline):
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("no answer")
    r, _, _ = select.select([sock], [], [], left)
    if not r:
        raise TimeoutError("no answer")
    chunk = sock.recv(65536)
    if not chunk:
        raise ConnectionError("closed by peer")
    return chunk


def tcp_connect(addr, port, timeout=5.0):
    """-> (socket or None, errno or 0, elapsed ms)"""
    s = socket.socket(family(addr), socket.SOCK_STREAM)
    s.setblocking(False)
    t0 = time.monotonic()
    e = s.connect_ex((addr, port))
    if e == errno.EINPROGRESS:
        _, w, _ = select.select([], [s], [], timeout)
        e = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) if w else errno.ETIMEDOUT
    ms = (time.monotonic() - t0) * 1000
    if e:
        s.close()
        return None, e, ms
    s.setblocking(True)
    return s, 0, ms


def round_trip(sock, addr, port, n=0):
    """One exchange on an open connection; '' when fine, else why not."""
    try:
        if port == 80:
            sock.sendall(http_request(addr))
            body = read_http(sock)
            return "" if body == addr else f"body={body!r}"
        payload = f"ztdns-{n}\n".encode()
        sock.sendall(payload)
        got = b""
        deadline = time.monotonic() + 3.0
        while len(got) < len(payload):
            got += recv_some(sock, deadline)
        return "" if got == payload else f"echo={got!r}"
    except OSError as ex:  # includes TimeoutError, ConnectionError
        return (outcome_of_errno(ex.errno) if ex.errno else type(ex).__name__)


def probe_tcp(addr, port):
    s, e, ms = tcp_connect(addr, port)
    if e:
        return outcome_of_errno(e), ms, os.strerror(e)
    try:
        if port in (80, 7):
            why = round_trip(s, addr, port)
            return ("open", ms, "") if not why else ("broken", ms, why)
        return "connected", ms, ""
    finally:
        s.close()


def dns_query(name="www.allowed.test"):
    q = struct.pack("!HHHHHH", 0x5a5a, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack("!HH", 1, 1)


def probe_udp(addr, port):
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    t0 = time.monotonic()
    try:
        s.connect((addr, port))
        s.send(dns_query() if port in (53, 443, 853) else b"ztdns-udp\n")
        r, _, _ = select.select([s], [], [], 1.5)
        if not r:
            return "timeout", (time.monotonic() - t0) * 1000, ""
        s.recv(65536)
        return "reply", (time.monotonic() - t0) * 1000, ""
    except OSError as ex:
        return outcome_of_errno(ex.errno), (time.monotonic() - t0) * 1000, os.strerror(ex.errno)
    finally:
        s.close()


def probe_icmp(addr):
    t0 = time.monotonic()
    p = subprocess.run(["ping", "-n", "-c", "1", "-W", "2"] + (["-6"] if ":" in addr else [])
                       + [addr], capture_output=True, text=True)
    ms = (time.monotonic() - t0) * 1000
    out = (p.stdout + p.stderr).replace("\n", " | ")
    if p.returncode == 0:
        return "reply", ms, ""
    if "Operation not permitted" in out:
        return "eperm", ms, out[-120:]
    return "noreply", ms, out[-120:]


def cmd_cells():
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        cid, proto, addr = parts[0], parts[1], parts[2]
        port = int(parts[3]) if len(parts) > 3 else 0
        if proto == "tcp":
            res = probe_tcp(addr, port)
        elif proto == "udp":
            res = probe_udp(addr, port)
        else:
            res = probe_icmp(addr)
        out, ms, detail = res
        print(f"{cid} {out} {ms:.1f} {detail}".rstrip(), flush=True)


def parse_target(t):
    addr, _, port = t.rpartition(":")
    return addr.strip("[]"), int(port)


def cmd_hold(targets):
    conns = []
    for t in targets:
        addr, port = parse_target(t)
        s, e, _ = tcp_connect(addr, port)
        if e:
            print(f"connect-failed {t} {os.strerror(e)}", flush=True)
            return 1
        conns.append((s, addr, port))
    print("connected", flush=True)
    n = 0
    for line in sys.stdin:
        if line.strip() != "check":
            continue
        n += 1
        res = []
        for s, addr, port in conns:
            why = round_trip(s, addr, port, n)
            res.append("ok" if not why else "fail:" + why.replace(" ", "_"))
        print(" ".join(res), flush=True)
    return 0


def cmd_loop(addr, port, seconds, stop_file):
    """New TCP connects every 20 ms until stop_file exists (or SECONDS pass)."""
    end = time.monotonic() + seconds
    attempts = connected = 0
    while time.monotonic() < end and not os.path.exists(stop_file):
        s, e, _ = tcp_connect(addr, port, timeout=1.0)
        attempts += 1
        if not e:
            connected += 1
            s.close()
        time.sleep(0.02)
    print(f"attempts={attempts} connected={connected}", flush=True)


def cmd_dhcp4(ifname):
    """A DHCPDISCOVER from a UDP socket on port 68 (not a packet socket, unlike dhclient),
    broadcast on IFNAME; prints the OFFER: "offer yiaddr=A dns=B,C" or "eperm"/"timeout"."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
    s.bind(("0.0.0.0", 68))
    xid = os.getpid() & 0xFFFFFFFF
    mac = bytes.fromhex("02005a7d0001")
    msg = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, xid, 0, 0x8000, b"\0" * 4,
                      b"\0" * 4, b"\0" * 4, b"\0" * 4, mac.ljust(16, b"\0"), b"", b"")
    msg += b"\x63\x82\x53\x63" + bytes([53, 1, 1, 55, 3, 1, 3, 6, 255])
    try:
        s.sendto(msg, ("255.255.255.255", 67))
    except OSError as ex:
        print(outcome_of_errno(ex.errno), flush=True)
        return 1
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        r, _, _ = select.select([s], [], [], max(0, deadline - time.monotonic()))
        if not r:
            break
        data = s.recv(4096)
        if len(data) < 240 or data[0] != 2 or struct.unpack("!I", data[4:8])[0] != xid:
            continue
        yiaddr = socket.inet_ntoa(data[16:20])
        dns, i, opts = [], 240, data
        while i < len(opts) and opts[i] != 255:
            if opts[i] == 0:
                i += 1
                continue
            code, n = opts[i], opts[i + 1]
            if code == 6:
                dns = [socket.inet_ntoa(opts[i + 2 + k:i + 6 + k]) for k in range(0, n, 4)]
            i += 2 + n
        print(f"offer yiaddr={yiaddr} dns={','.join(dns)}", flush=True)
        return 0
    print("timeout", flush=True)
    return 1


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd = sys.argv[1]
    if cmd == "cells":
        cmd_cells()
        return 0
    if cmd == "hold":
        return cmd_hold(sys.argv[2:])
    if cmd == "dhcp4":
        return cmd_dhcp4(sys.argv[2])
    if cmd == "loop":
        cmd_loop(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
