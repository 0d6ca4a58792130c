"""The record the MES tests' AMQP peers keep (amqp_receiver.py, amqp_consumer.py): one JSON
line per message, read back by tests/mes/amqp_peer.cpp (read_received)."""
import json

BINARY = (bytes, bytearray, memoryview)  # a data section's body


def body_text(msg):
    """The body as text, whatever its section."""
    if isinstance(msg.body, BINARY):
        return bytes(msg.body).decode("utf-8")
    return str(msg.body)


def record_line(msg, address):
    """One message as its record line (with its newline)."""
    entry = {
        "address": address,
        "message_id": str(msg.id),
        "subject": msg.subject,
        "content_type": str(msg.content_type),
        "durable": bool(msg.durable),
        "reply_to": msg.reply_to,
        "creation_time": msg.creation_time,
        "properties": dict(msg.properties or {}),
        "section": "data" if isinstance(msg.body, BINARY) else "value",
        "body": body_text(msg),
    }
    return json.dumps(entry) + "\n"
