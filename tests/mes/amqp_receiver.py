#!/usr/bin/python3
"""An AMQP 1.0 receiver for the MES tests, on Apache Qpid Proton's Python binding (Debian's
python3-qpid-proton): a peer the station's sender does not share code with. It listens on
127.0.0.1, takes every link a client opens toward it and records each message it is given
(one JSON line, flushed and fsynced) before it settles the transfer, so the record is what
the station may count as delivered.

--reject-containing TEXT   reject (amqp:rejected, for good) messages whose body has TEXT
--release-first N          release the first N transfers (not taken; the sender retries)
"""
import argparse
import os
import socket
import sys

from proton import Condition
from proton.handlers import MessagingHandler
from proton.reactor import Container

from amqp_record import body_text, record_line


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver(MessagingHandler):
    def __init__(self, args):
        super().__init__(prefetch=200, auto_accept=False)
        self.args = args
        self.port = args.port or free_port()
        self.record = open(args.record, "a", encoding="utf-8")
        self.released = 0

    def on_start(self, event):
        event.container.listen("127.0.0.1:%d" % self.port)
        print("listening on 127.0.0.1:%d" % self.port, flush=True)

    def on_link_opening(self, event):
        # As a broker does: the link's terminus is the address the client asked for.
        event.link.source.copy(event.link.remote_source)
        event.link.target.copy(event.link.remote_target)

    def on_message(self, event):
        msg = event.message
        if self.released < self.args.release_first:
            self.released += 1
            self.release(event.delivery, delivered=False)
            return
        if self.args.reject_containing and self.args.reject_containing in body_text(msg):
            event.delivery.local.condition = Condition("amqp:decode-error", "malformed UnitsTested")
            self.reject(event.delivery)
            return
        self.record.write(record_line(msg, event.link.remote_target.address))
        self.record.flush()
        os.fsync(self.record.fileno())
        self.accept(event.delivery)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--record", required=True)
    parser.add_argument("--reject-containing", default="")
    parser.add_argument("--release-first", type=int, default=0)
    Container(Receiver(parser.parse_args())).run()


if __name__ == "__main__":
    sys.exit(main())
