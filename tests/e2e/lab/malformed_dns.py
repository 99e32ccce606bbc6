#!/usr/bin/python3
"""The lab's malformed DNS server (plain DNS over TCP, behind the "malformed" DoT front).

Every query gets a framed reply that keeps the query's ID and question and claims one
answer record whose RDATA is cut short, so no parser can accept it. Pipelined queries on
one connection are answered in turn. Usage: malformed_dns.py ADDRESS PORT
"""
import socketserver
import struct
import sys


def malformed_reply(query: bytes) -> bytes:
    i = 12
    while i < len(query) and query[i] != 0:
        i += 1 + query[i]
    question = query[12:i + 5]
    header = query[:2] + b"\x81\x80" + struct.pack("!HHHH", 1, 1, 0, 0)
    # name -> question, type A, class IN, TTL 300, RDLENGTH 4, but only 2 bytes of RDATA
    answer = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + b"\xcb\x00"
    return header + question + answer


class Handler(socketserver.BaseRequestHandler):
    def read(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.request.recv(n - len(data))
            if not chunk:
                return b""
            data += chunk
        return data

    def handle(self) -> None:
        while True:
            head = self.read(2)
            if not head:
                return
            query = self.read(struct.unpack("!H", head)[0])
            if len(query) < 12:
                return
            reply = malformed_reply(query)
            self.request.sendall(struct.pack("!H", len(reply)) + reply)


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


if __name__ == "__main__":
    with Server((sys.argv[1], int(sys.argv[2])), Handler) as server:
        print(f"malformed DNS on {sys.argv[1]}:{sys.argv[2]}", flush=True)
        server.serve_forever()
