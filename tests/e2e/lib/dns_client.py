#!/usr/bin/env python3
"""A small DNS client for the resolver's end-to-end tests (tests/e2e/test_resolver_*.sh).

It speaks raw DNS wire format over UDP and TCP to ztdnsd's stub, so that tests can send
what dig and kdig will not (pipelined queries on one connection, malformed messages, bursts
of identical queries) and connect to an answer's addresses the moment it arrives. Standard
library only. Every subcommand prints JSON on stdout, one object per line.

  query    NAME [TYPE]             one query; the answer decoded (ID, flags, question, records, OPT)
  pipeline NAME[:TYPE]...          one TCP connection, every query written at once, answers as they come
  malformed                        a catalogue of broken queries over UDP and TCP, and what came back
  tcpabuse                         broken TCP framing, then whether the stub still answers
  fuzz     COUNT                   COUNT random datagrams and TCP messages; how many got an answer
  burst    NAME TYPE COUNT         COUNT identical queries from COUNT sockets at once
  race     FIRST LAST FAMILY       getaddrinfo(rN.race.test) then connect at once, for N in FIRST..LAST
                                   (or --numbers N,N,...), in parallel processes
  tcconnect NAME TYPE ADDR...      UDP query without EDNS; on the TC answer connect to every ADDR at once
"""
import argparse
import concurrent.futures
import json
import os
import random
import select
import socket
import struct
import sys
import time

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28,
         "OPT": 41, "SVCB": 64, "HTTPS": 65, "AXFR": 252, "ANY": 255}
TYPE_NAMES = {v: k for k, v in TYPES.items()}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
          16: "BADVERS"}


def qtype(text):
    text = text.upper()
    if text in TYPES:
        return TYPES[text]
    if text.startswith("TYPE"):
        return int(text[4:])
    raise ValueError("unknown type " + text)


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def opt_record(size=1232, do=False, version=0, options=b""):
    ttl = (version << 16) | (0x8000 if do else 0)
    return b"\0" + struct.pack("!HHIH", 41, size, ttl, len(options)) + options


def build_query(name, rtype=1, qid=None, rd=True, edns=1232, do=False, qclass=1, opcode=0):
    if qid is None:
        qid = random.randrange(1, 65536)
    flags = (opcode << 11) | (0x0100 if rd else 0)
    ar = 1 if edns is not None else 0
    msg = struct.pack("!HHHHHH", qid, flags, 1, 0, 0, ar)
    msg += encode_name(name) + struct.pack("!HH", rtype, qclass)
    if edns is not None:
        msg += opt_record(edns, do)
    return msg


def read_name(msg, pos):
    """(name as sent, with its case; position after it in the record)."""
    labels = []
    end = None
    hops = 0
    while True:
        n = msg[pos]
        if n & 0xC0 == 0xC0:
            if end is None:
                end = pos + 2
            pos = ((n & 0x3F) << 8) | msg[pos + 1]
            hops += 1
            if hops > 64:
                raise ValueError("pointer loop")
            continue
        pos += 1
        if n == 0:
            break
        labels.append(msg[pos:pos + n].decode("latin-1"))
        pos += n
    return (".".join(labels) + "."), (end if end is not None else pos)


def rdata_text(msg, rtype, start, length):
    rd = msg[start:start + length]
    if rtype == 1 and length == 4:
        return socket.inet_ntop(socket.AF_INET, rd)
    if rtype == 28 and length == 16:
        return socket.inet_ntop(socket.AF_INET6, rd)
    if rtype in (2, 5, 12):
        return read_name(msg, start)[0]
    if rtype == 6:
        mname, p = read_name(msg, start)
        rname, p = read_name(msg, p)
        serial, refresh, retry, expire, minimum = struct.unpack("!IIIII", msg[p:p + 20])
        return f"{mname} {rname} {serial} {refresh} {retry} {expire} {minimum}"
    if rtype == 16:
        out, p = [], 0
        while p < len(rd):
            out.append(rd[p + 1:p + 1 + rd[p]].decode("latin-1"))
            p += 1 + rd[p]
        return " ".join('"%s"' % s for s in out)
    return rd.hex()


def parse(msg):
    qid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", msg[:12])
    out = {"id": qid, "qr": bool(flags & 0x8000), "opcode": (flags >> 11) & 0xF,
           "aa": bool(flags & 0x0400), "tc": bool(flags & 0x0200), "rd": bool(flags & 0x0100),
           "ra": bool(flags & 0x0080), "rcode_num": flags & 0xF, "size": len(msg),
           "question": [], "answer": [], "authority": [], "additional": [], "opt": None}
    pos = 12
    for _ in range(qd):
        name, pos = read_name(msg, pos)
        t, c = struct.unpack("!HH", msg[pos:pos + 4])
        pos += 4
        out["question"].append({"name": name, "type": TYPE_NAMES.get(t, t), "class": c})
    for section, count in (("answer", an), ("authority", ns), ("additional", ar)):
        for _ in range(count):
            name, pos = read_name(msg, pos)
            t, c, ttl, rdlen = struct.unpack("!HHIH", msg[pos:pos + 10])
            pos += 10
            if t == 41:
                opts, p = [], pos
                while p + 4 <= pos + rdlen:
                    code, olen = struct.unpack("!HH", msg[p:p + 4])
                    opts.append({"code": code, "length": olen})
                    p += 4 + olen
                out["opt"] = {"udp_size": c, "ext_rcode": ttl >> 24, "version": (ttl >> 16) & 0xFF,
                              "do": bool(ttl & 0x8000), "options": opts}
                out["rcode_num"] |= (ttl >> 24) << 4
            else:
                out[section].append({"name": name, "type": TYPE_NAMES.get(t, t), "ttl": ttl,
                                     "data": rdata_text(msg, t, pos, rdlen)})
            pos += rdlen
    out["rcode"] = RCODES.get(out["rcode_num"], str(out["rcode_num"]))
    out["addresses"] = [r["data"] for r in out["answer"] if r["type"] in ("A", "AAAA")]
    return out


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def udp_exchange(server, port, msg, timeout):
    s = socket.socket(family_of(server), socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.sendto(msg, (server, port))
        try:
            data, _ = s.recvfrom(65535)
            return data
        except socket.timeout:
            return None
    finally:
        s.close()


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def tcp_read_message(s):
    head = recv_exact(s, 2)
    if head is None:
        return None
    (n,) = struct.unpack("!H", head)
    return recv_exact(s, n)


def tcp_exchange(server, port, payload, timeout, expect=1):
    """Write payload (already framed) on one connection; read `expect` framed answers.
    Returns (answers, closed) where closed says the stub closed the connection."""
    s = socket.create_connection((server, port), timeout=timeout)
    answers, closed = [], False
    try:
        s.sendall(payload)
        deadline = time.monotonic() + timeout
        while len(answers) < expect:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                m = tcp_read_message(s)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if m is None:
                closed = True
                break
            answers.append(m)
        return answers, closed
    finally:
        s.close()


def frame(msg):
    return struct.pack("!H", len(msg)) + msg


# ---- subcommands ----

def cmd_query(a):
    edns = None if a.noedns else a.edns
    msg = build_query(a.name, qtype(a.type), qid=a.id, edns=edns, do=a.do)
    t0 = time.monotonic()
    if a.tcp:
        answers, _ = tcp_exchange(a.server, a.port, frame(msg), a.timeout)
        data = answers[0] if answers else None
    else:
        data = udp_exchange(a.server, a.port, msg, a.timeout)
    elapsed = (time.monotonic() - t0) * 1000
    if data is None:
        print(json.dumps({"answered": False, "elapsed_ms": round(elapsed, 2)}))
        return 1
    out = parse(data)
    out["answered"] = True
    out["elapsed_ms"] = round(elapsed, 2)
    print(json.dumps(out))
    return 0


def cmd_pipeline(a):
    queries, payload = {}, b""
    for i, spec in enumerate(a.names):
        name, _, t = spec.partition(":")
        qid = 1000 + i
        queries[qid] = (name, t or "A")
        payload += frame(build_query(name, qtype(t or "A"), qid=qid))
    t0 = time.monotonic()
    answers, closed = tcp_exchange(a.server, a.port, payload, a.timeout, expect=len(queries))
    order = []
    for m in answers:
        p = parse(m)
        name, t = queries.get(p["id"], ("?", "?"))
        order.append({"id": p["id"], "asked": name, "type": t, "question": p["question"][0]["name"]
                      if p["question"] else None, "rcode": p["rcode"], "addresses": p["addresses"]})
    print(json.dumps({"sent": len(queries), "received": len(answers), "closed": closed,
                      "elapsed_ms": round((time.monotonic() - t0) * 1000, 2), "answers": order}))
    return 0


def malformed_cases():
    """(name, wire) pairs: every one of them is broken in its own way."""
    good = build_query("www.allowed.test", 1, qid=0x4242, edns=None)
    hdr = lambda qid, flags, qd, an, ns, ar: struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)
    q = encode_name("www.allowed.test") + struct.pack("!HH", 1, 1)
    cases = [
        ("empty", b""),
        ("short-header", good[:7]),
        ("header-only-qd0", hdr(0x4201, 0x0100, 0, 0, 0, 0)),
        ("qd2", hdr(0x4202, 0x0100, 2, 0, 0, 0) + q + q),
        ("response-bit", hdr(0x4203, 0x8100, 1, 0, 0, 0) + q),
        ("name-cut-short", hdr(0x4204, 0x0100, 1, 0, 0, 0) + b"\x03www\x07allow"),
        ("question-cut-short", hdr(0x4205, 0x0100, 1, 0, 0, 0) + encode_name("www.allowed.test") + b"\x00"),
        ("label-too-long", hdr(0x4206, 0x0100, 1, 0, 0, 0) + b"\x40" + b"a" * 64 + b"\x00" + struct.pack("!HH", 1, 1)),
        ("pointer-loop", hdr(0x4207, 0x0100, 1, 0, 0, 0) + b"\xc0\x0c" + struct.pack("!HH", 1, 1)),
        ("pointer-forward", hdr(0x4208, 0x0100, 1, 0, 0, 0) + b"\xc0\x20" + struct.pack("!HH", 1, 1)),
        ("trailing-garbage", good + b"\xde\xad\xbe\xef"),
        ("answer-in-query", hdr(0x4209, 0x0100, 1, 1, 0, 0) + q + b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + b"\x01\x02\x03\x04"),
        ("two-opt", hdr(0x420a, 0x0100, 1, 0, 0, 2) + q + opt_record() + opt_record()),
        ("opt-owner-not-root", hdr(0x420b, 0x0100, 1, 0, 0, 1) + q + b"\x01x\x00" + opt_record()[1:]),
        ("opt-option-cut", hdr(0x420c, 0x0100, 1, 0, 0, 1) + q + b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 6) + struct.pack("!HH", 10, 8) + b"ab"),
        ("rdata-cut-short", hdr(0x420d, 0x0100, 1, 0, 0, 1) + q + b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 40)),
        ("qtype-opt", hdr(0x420e, 0x0100, 1, 0, 0, 0) + encode_name("www.allowed.test") + struct.pack("!HH", 41, 1)),
        ("edns-version-1", hdr(0x420f, 0x0100, 1, 0, 0, 1) + q + opt_record(version=1)),
        ("opcode-notify", hdr(0x4210, (4 << 11) | 0x0100, 1, 0, 0, 0) + q),
        ("opcode-update", hdr(0x4211, (5 << 11), 1, 0, 0, 0) + q),
        ("axfr", hdr(0x4212, 0x0100, 1, 0, 0, 0) + encode_name("allowed.test") + struct.pack("!HH", 252, 1)),
        ("class-chaos", hdr(0x4213, 0x0100, 1, 0, 0, 0) + encode_name("www.allowed.test") + struct.pack("!HH", 16, 3)),
    ]
    return cases


def cmd_malformed(a):
    for name, wire in malformed_cases():
        for proto in ("udp", "tcp"):
            if proto == "udp":
                if not wire:
                    data = udp_exchange(a.server, a.port, b"", a.timeout)
                else:
                    data = udp_exchange(a.server, a.port, wire, a.timeout)
                answers = [data] if data else []
                closed = False
            else:
                answers, closed = tcp_exchange(a.server, a.port, frame(wire), a.timeout)
            res = {"case": name, "proto": proto, "closed": closed}
            if answers:
                try:
                    p = parse(answers[0])
                    res.update({"rcode": p["rcode"], "id": p["id"], "qr": p["qr"],
                                "question": p["question"], "answer": p["answer"], "tc": p["tc"]})
                except Exception as e:  # an answer we cannot parse is a failure of the stub
                    res.update({"rcode": "UNPARSEABLE", "error": str(e)})
            else:
                res["rcode"] = None
            print(json.dumps(res))
    return 0


def cmd_tcpabuse(a):
    """Broken framing on TCP, then whether the stub still answers (a fresh connection, and
    the same connection after a message it must refuse)."""
    fam = family_of(a.server)
    out = {}
    # 1: one byte of a length prefix, then close; 2: a prefix for 300 bytes, 10 sent, close
    for name, payload in (("half-prefix", b"\x00"), ("short-body", struct.pack("!H", 300) + b"x" * 10)):
        s = socket.create_connection((a.server, a.port), timeout=a.timeout)
        s.sendall(payload)
        s.close()
        out[name] = "sent"
    # 3: a response (dropped) then a good query on the same connection
    s = socket.create_connection((a.server, a.port), timeout=a.timeout)
    bad = bytearray(build_query("www.allowed.test", 1, qid=0x5151, edns=None))
    bad[2] |= 0x80
    s.sendall(frame(bytes(bad)) + frame(build_query("www.allowed.test", 1, qid=0x5252)))
    try:
        m = tcp_read_message(s)
        out["after-dropped"] = parse(m)["id"] if m else "closed"
    except (socket.timeout, ConnectionResetError) as e:
        out["after-dropped"] = "error: " + str(e)
    s.close()
    # 4: a FORMERR then a good query on the same connection
    s = socket.create_connection((a.server, a.port), timeout=a.timeout)
    s.sendall(frame(struct.pack("!HHHHHH", 0x5353, 0x0100, 0, 0, 0, 0)) +
              frame(build_query("www.allowed.test", 1, qid=0x5454)))
    ids = []
    try:
        for _ in range(2):
            m = tcp_read_message(s)
            if m is None:
                break
            p = parse(m)
            ids.append([p["id"], p["rcode"]])
    except (socket.timeout, ConnectionResetError) as e:
        ids.append("error: " + str(e))
    out["after-formerr"] = ids
    s.close()
    # 5: many connections that never send anything, closed again
    conns = [socket.create_connection((a.server, a.port), timeout=a.timeout) for _ in range(50)]
    for c in conns:
        c.close()
    out["idle-connections"] = len(conns)
    print(json.dumps(out))
    return 0


def cmd_fuzz(a):
    rnd = random.Random(a.seed)
    answered = 0
    for i in range(a.count):
        n = rnd.randrange(0, 80)
        wire = bytearray(rnd.randbytes(n))
        if n >= 4 and rnd.random() < 0.7:
            wire[2] &= 0x7F  # mostly queries, so that the parser goes past the QR check
        if a.tcp and i % 4 == 0:
            answers, _ = tcp_exchange(a.server, a.port, frame(bytes(wire)), a.timeout)
            answered += bool(answers)
        else:
            answered += udp_exchange(a.server, a.port, bytes(wire), a.timeout) is not None
    print(json.dumps({"sent": a.count, "answered": answered}))
    return 0


def cmd_burst(a):
    msg_base = build_query(a.name, qtype(a.type), qid=0)
    socks = []
    for i in range(a.count):
        s = socket.socket(family_of(a.server), socket.SOCK_DGRAM)
        s.setblocking(False)
        socks.append((s, i + 1))
    for s, qid in socks:
        s.sendto(struct.pack("!H", qid) + msg_base[2:], (a.server, a.port))
    got, rcodes, deadline = {}, {}, time.monotonic() + a.timeout
    pending = {s.fileno(): (s, qid) for s, qid in socks}
    while pending and time.monotonic() < deadline:
        r, _, _ = select.select(list(pending), [], [], max(0, deadline - time.monotonic()))
        for fd in r:
            s, qid = pending.pop(fd)
            p = parse(s.recv(65535))
            got[qid] = p["id"] == qid
            rcodes[p["rcode"]] = rcodes.get(p["rcode"], 0) + 1
    for s, _ in socks:
        s.close()
    print(json.dumps({"sent": a.count, "answered": len(got), "ids_match": all(got.values()),
                      "rcodes": rcodes}))
    return 0


def connect_once(addr, port, timeout):
    """One TCP connect with a timeout below the first SYN retransmission (1 s)."""
    fam = family_of(addr)
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect((addr, port))
        return "ok"
    except socket.timeout:
        return "timeout"
    except OSError as e:
        return e.strerror or str(e)
    finally:
        s.close()


def race_one(n, fam, timeout):
    name = f"r{n}.race.test"
    t0 = time.perf_counter()
    try:
        infos = socket.getaddrinfo(name, 80, fam, socket.SOCK_STREAM)
    except socket.gaierror as e:
        return {"n": n, "name": name, "result": "getaddrinfo: " + str(e)}
    t1 = time.perf_counter()
    addr = infos[0][4][0]
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    t2 = time.perf_counter()
    try:
        s.connect((addr, 80))
        result = "ok"
    except socket.timeout:
        result = "timeout"
    except OSError as e:
        result = e.strerror or str(e)
    finally:
        t3 = time.perf_counter()
        s.close()
    return {"n": n, "name": name, "address": addr, "result": result,
            "resolve_ms": round((t1 - t0) * 1000, 3), "gap_ms": round((t2 - t1) * 1000, 3),
            "connect_ms": round((t3 - t2) * 1000, 3)}


def _race_worker(args):
    n, fam, timeout = args
    return race_one(n, fam, timeout)


def cmd_race(a):
    # Processes, not threads: a thread coming back from getaddrinfo could wait for the GIL
    # and connect late, which would make the race easier than it is meant to be.
    import multiprocessing
    fam = socket.AF_INET6 if a.family == 6 else socket.AF_INET
    numbers = [int(x) for x in a.numbers.split(",")] if a.numbers else range(a.first, a.last + 1)
    with multiprocessing.get_context("fork").Pool(a.parallel) as pool:
        for r in pool.imap(_race_worker, [(n, fam, a.timeout) for n in numbers]):
            print(json.dumps(r), flush=True)
    return 0


def cmd_tcconnect(a):
    msg = build_query(a.name, qtype(a.type), edns=None)
    s = socket.socket(family_of(a.server), socket.SOCK_DGRAM)
    s.settimeout(a.timeout)
    s.sendto(msg, (a.server, a.port))
    data, _ = s.recvfrom(65535)
    t_answer = time.perf_counter()
    p = parse(data)
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(a.addresses)) as ex:
        results = list(ex.map(lambda ad: (ad, connect_once(ad, 80, a.connect_timeout)), a.addresses))
    first_gap = (time.perf_counter() - t_answer) * 1000
    print(json.dumps({"tc": p["tc"], "rcode": p["rcode"], "answer_records": len(p["answer"]),
                      "size": p["size"], "opt": p["opt"], "connected": sum(r == "ok" for _, r in results),
                      "failed": [ad + ": " + r for ad, r in results if r != "ok"],
                      "all_done_ms": round(first_gap, 2)}))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=53)
    ap.add_argument("--timeout", type=float, default=3.0)
    sub = ap.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("query")
    q.add_argument("name")
    q.add_argument("type", nargs="?", default="A")
    q.add_argument("--id", type=int)
    q.add_argument("--tcp", action="store_true")
    q.add_argument("--noedns", action="store_true")
    q.add_argument("--edns", type=int, default=1232)
    q.add_argument("--do", action="store_true")
    p = sub.add_parser("pipeline")
    p.add_argument("names", nargs="+")
    sub.add_parser("malformed")
    sub.add_parser("tcpabuse")
    f = sub.add_parser("fuzz")
    f.add_argument("count", type=int)
    f.add_argument("--seed", type=int, default=4)
    f.add_argument("--tcp", action="store_true")
    b = sub.add_parser("burst")
    b.add_argument("name")
    b.add_argument("type")
    b.add_argument("count", type=int)
    r = sub.add_parser("race")
    r.add_argument("first", type=int)
    r.add_argument("last", type=int)
    r.add_argument("family", type=int, choices=(4, 6))
    r.add_argument("--parallel", type=int, default=8)
    r.add_argument("--numbers", help="comma-separated N instead of FIRST..LAST")
    r.add_argument("--connect-timeout", dest="timeout_c", type=float, default=0.9)
    t = sub.add_parser("tcconnect")
    t.add_argument("name")
    t.add_argument("type")
    t.add_argument("addresses", nargs="+")
    t.add_argument("--connect-timeout", type=float, default=0.9)
    a = ap.parse_args()
    if a.cmd == "race":
        a.timeout = a.timeout_c
    return {"query": cmd_query, "pipeline": cmd_pipeline, "malformed": cmd_malformed,
            "fuzz": cmd_fuzz, "tcpabuse": cmd_tcpabuse, "burst": cmd_burst, "race": cmd_race, "tcconnect": cmd_tcconnect}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
