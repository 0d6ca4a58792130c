#!/usr/bin/python3
"""A consumer of a broker's queue for the MES tests, on Apache Qpid Proton's Python binding
(Debian's python3-qpid-proton), sharing no code with the station's sender: it connects to
the broker as a client, takes every message the queue holds and writes one JSON line per
message (amqp_record.py), accepting each only after it is written. It stops once no message
came for --idle seconds, and exits 2 when the broker refuses it.

A durable source terminus: the queue the station's sender declared is durable, and RabbitMQ
refuses a link whose terminus says otherwise about an existing queue.
"""
import argparse
import sys

from proton import Terminus
from proton.handlers import MessagingHandler
from proton.reactor import Container

from amqp_record import record_line


class Consumer(MessagingHandler):
    def __init__(self, args):
        super().__init__(prefetch=100, auto_accept=False)
        self.args = args
        self.record = open(args.record, "w", encoding="utf-8")
        self.count = 0
        self.timer = None
        self.connection = None
        self.failed = False

    def on_start(self, event):
        self.connection = event.container.connect(self.args.url)
        receiver = event.container.create_receiver(self.connection, self.args.address)
        receiver.source.durability = (
            Terminus.NONDURABLE if self.args.non_durable else Terminus.CONFIGURATION)
        self.timer = event.container.schedule(self.args.idle, self)

    def on_timer_task(self, event):
        self.record.close()
        print("consumed %d" % self.count, flush=True)
        self.connection.close()

    def on_message(self, event):
        self.record.write(record_line(event.message, self.args.address))
        self.record.flush()
        self.accept(event.delivery)
        self.count += 1
        # Idle counts from the last message.
        self.timer.cancel()
        self.timer = event.container.schedule(self.args.idle, self)

    # A refused link (RabbitMQ ends the session when the queue's durability differs), a
    # refused connection: said, and the consumer exits non-zero.
    def fail(self, event, what, cond):
        detail = "%s: %s" % (cond.name, cond.description) if cond else "no condition"
        print("%s error: %s" % (what, detail), file=sys.stderr, flush=True)
        self.failed = True
        if self.timer:
            self.timer.cancel()
        event.connection.close()

    def on_link_error(self, event):
        self.fail(event, "link", event.link.remote_condition)

    def on_session_error(self, event):
        self.fail(event, "session", event.session.remote_condition)

    def on_connection_error(self, event):
        self.fail(event, "connection", event.connection.remote_condition)

    def on_transport_error(self, event):
        self.fail(event, "transport", event.transport.condition)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--address", required=True)
    parser.add_argument("--record", required=True)
    parser.add_argument("--idle", type=float, default=3.0)
    # RabbitMQ declares a missing /queue/NAME as the terminus says: non-durable with this.
    parser.add_argument("--non-durable", action="store_true")
    consumer = Consumer(parser.parse_args())
    Container(consumer).run()
    return 2 if consumer.failed else 0


if __name__ == "__main__":
    sys.exit(main())
