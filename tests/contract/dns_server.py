"""A DNS server on loopback for the contract run. It answers TXT queries from a JSON file
of `{name: [value, ...]}` (read on every query, so run.sh can publish records while it
runs) and NXDOMAIN for every other name, so verifying a domain answers at once instead of
waiting on a resolver the machine may not reach. Prints `ready` once listening."""

import json
import sys
import time

from dnslib import QTYPE, RCODE, RR, TXT
from dnslib.server import BaseResolver, DNSLogger, DNSServer


class Published(BaseResolver):
    def __init__(self, path):
        self.path = path

    def resolve(self, request, handler):
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        try:
            with open(self.path, encoding="utf-8") as file:
                records = json.load(file)
        except (OSError, ValueError):
            records = {}
        if name not in records:
            reply.header.rcode = RCODE.NXDOMAIN
        elif request.q.qtype == QTYPE.TXT:
            for value in records[name]:
                reply.add_answer(RR(request.q.qname, QTYPE.TXT, rdata=TXT(value), ttl=60))
        return reply


port, path = int(sys.argv[1]), sys.argv[2]
server = DNSServer(Published(path), port=port, address="127.0.0.1", logger=DNSLogger("-request,-reply,-truncated"))
server.start_thread()
print("ready", flush=True)
while server.isAlive():
    time.sleep(1)
