#!/usr/bin/python3
"""A Sparkplug B host for the tests, written from the Sparkplug 3.0.0 specification: it
decodes payloads with Python's protobuf runtime and classes protoc generates here from the
.proto, sharing no code with the station's encoder.

  listen --port P [--primary-host ID]   one JSON line per message on spBv1.0/# ; with an id,
                                        it is that Primary Host (STATE online, Will offline)
  rebirth --port P --group G --node N   an NCMD 'Node Control/Rebirth' = true
  state --port P --host ID --online true|false --timestamp MS   a retained STATE
  decode                                hex payloads on stdin, one JSON line each on stdout
"""
import argparse
import binascii
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_DIR = os.path.join(HERE, "..", "..", "station", "mes", "sparkplug")


def payload_class():
    out = tempfile.mkdtemp(prefix="sparkplug-host-")
    subprocess.run(["protoc", "--proto_path=" + PROTO_DIR, "--python_out=" + out,
                    os.path.join(PROTO_DIR, "sparkplug_b.proto")], check=True)
    sys.path.insert(0, out)
    return importlib.import_module("sparkplug_b_pb2").Payload


def metric_json(m):
    out = {"name": m.name, "datatype": m.datatype}
    if m.HasField("timestamp"):
        out["timestamp"] = m.timestamp
    if m.HasField("alias"):
        out["alias"] = m.alias
    out["is_historical"] = m.is_historical
    out["is_null"] = m.is_null
    kind = m.WhichOneof("value")
    if kind is not None:
        out["value"] = getattr(m, kind)
        out["value_kind"] = kind
    if m.HasField("properties"):
        props = {}
        for key, value in zip(m.properties.keys, m.properties.values):
            k = value.WhichOneof("value")
            props[key] = getattr(value, k) if k else None
        out["properties"] = props
    return out


def payload_json(Payload, data):
    p = Payload()
    p.ParseFromString(data)
    out = {"metrics": [metric_json(m) for m in p.metrics]}
    if p.HasField("timestamp"):
        out["timestamp"] = p.timestamp
    if p.HasField("seq"):
        out["seq"] = p.seq
    return out


def now_ms():
    return int(time.time() * 1000)


def listen(args):
    import paho.mqtt.client as mqtt
    Payload = payload_class()
    client = mqtt.Client(client_id="test-host-%d" % os.getpid(), clean_session=True)
    state_topic = "spBv1.0/STATE/" + args.primary_host if args.primary_host else None
    session = {"ts": now_ms()}

    def on_connect(c, userdata, flags, rc):
        # The subscriptions first, then the STATE birth (Sparkplug 3.0.0, Host session).
        c.subscribe("spBv1.0/#", qos=1)

    def on_subscribe(c, userdata, mid, granted):
        if state_topic:
            c.publish(state_topic, json.dumps({"online": True, "timestamp": session["ts"]}),
                      qos=1, retain=True)
        print(json.dumps({"ready": True}), flush=True)

    def on_disconnect(c, userdata, rc):
        # A new connection is a new host session: a new timestamp in its Will and birth.
        session["ts"] = now_ms()
        if state_topic:
            c.will_set(state_topic, json.dumps({"online": False, "timestamp": session["ts"]}),
                       qos=1, retain=True)
        print(json.dumps({"disconnected": True}), flush=True)

    def on_message(c, userdata, msg):
        line = {"topic": msg.topic, "qos": msg.qos, "retain": bool(msg.retain)}
        if msg.topic.startswith("spBv1.0/STATE/"):
            line["state"] = json.loads(msg.payload.decode("utf-8"))
        else:
            try:
                line["payload"] = payload_json(Payload, msg.payload)
            except Exception as e:  # a payload that is not Sparkplug B is a finding too
                line["undecodable"] = str(e)
        print(json.dumps(line), flush=True)

    if state_topic:
        client.will_set(state_topic, json.dumps({"online": False, "timestamp": session["ts"]}),
                        qos=1, retain=True)
    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_disconnect = on_disconnect
    client.on_message = on_message
    client.reconnect_delay_set(min_delay=1, max_delay=1)
    while True:
        try:
            client.connect("127.0.0.1", args.port, keepalive=5)
            break
        except OSError:
            time.sleep(0.1)
    client.loop_forever(retry_first_connection=True)


def publish_once(port, topic, payload, retain):
    import paho.mqtt.client as mqtt
    client = mqtt.Client(client_id="test-cmd-%d" % os.getpid(), clean_session=True)
    client.connect("127.0.0.1", port)
    client.loop_start()
    info = client.publish(topic, payload, qos=1, retain=retain)
    info.wait_for_publish(5)
    client.disconnect()
    client.loop_stop()


def rebirth(args):
    Payload = payload_class()
    p = Payload()
    p.timestamp = now_ms()
    m = p.metrics.add()
    m.name = "Node Control/Rebirth"
    m.datatype = 11  # Boolean
    m.boolean_value = True
    publish_once(args.port, "spBv1.0/%s/NCMD/%s" % (args.group, args.node),
                 p.SerializeToString(), False)


def state(args):
    body = json.dumps({"online": args.online == "true", "timestamp": args.timestamp})
    publish_once(args.port, "spBv1.0/STATE/" + args.host, body, True)


def decode(args):
    Payload = payload_class()
    for line in sys.stdin:
        line = line.strip()
        if line:
            print(json.dumps(payload_json(Payload, binascii.unhexlify(line))), flush=True)


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("listen")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--primary-host")
    p = sub.add_parser("rebirth")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--group", required=True)
    p.add_argument("--node", required=True)
    p = sub.add_parser("state")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", required=True)
    p.add_argument("--online", choices=["true", "false"], required=True)
    p.add_argument("--timestamp", type=int, required=True)
    sub.add_parser("decode")
    args = parser.parse_args()
    {"listen": listen, "rebirth": rebirth, "state": state, "decode": decode}[args.command](args)


if __name__ == "__main__":
    main()
