"""A Python rule that probes the host's sandbox (tests/e2e/python.rs). Its `probe` option picks
what it does:

- `sandbox`: at `finish`, one finding whose message lists what the guest saw when it tried the
  filesystem, the environment, the clocks and the network;
- `hungry`: keeps 1 MiB per event, so the memory cap must stop it;
- `looping`: spins forever on its first event, so the CPU budget must stop it;
- `raising`: raises an exception on its first event, which must stop it with the traceback's
  last line as the reason;
- `echo`: one finding per event whose message is the JSON of what the SDK's views read, to
  compare with the normalized event.
"""

import json
import os
import time

from tracewarden_sdk import ConfigError, Finding, Rule, RuleMeta, export

META = RuleMeta(
    id="TEST-PY-PROBE",
    title="Python sandbox probe",
)


def attempt(action):
    """What `action` gave: its value, or the name of the exception it raised."""
    try:
        return repr(action())
    except ImportError as e:
        return f"{type(e).__name__}({e.name})"
    except Exception as e:  # noqa: BLE001 - what was raised is the observation
        return type(e).__name__


def connect():
    import socket

    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.connect(("192.0.2.1", 80))
    return "connected"


def view(event):
    """What the views read of `event`, by the normalized event's names."""
    seen = {
        "id": event.id,
        "time_ns": event.time_ns,
        "source": str(event.source),
        "kind": event.kind().name.lower(),
        "principal": event.actor.principal,
        "key_id": event.actor.key_id,
        "tenant": event.actor.tenant,
        "request_id": event.correlation.request_id,
        "trace_id": event.correlation.trace_id,
        "outcome": event.outcome.name.lower(),
        "attributes": dict(event.attributes),
    }
    db = event.db()
    if db is not None:
        seen.update(operation=db.operation, table=db.table, key=dict(db.key), is_write=db.is_write)
    http = event.http()
    if http is not None:
        seen.update(method=http.method, path=http.path, status=http.status)
    return seen


def read_file():
    with open("/etc/passwd") as f:
        return f.read(10)


class Probe(Rule):
    def __init__(self):
        self.probe = "sandbox"
        self.hoard = []

    @classmethod
    def rules(cls):
        return [META]

    def configure(self, config):
        self.probe = config.get("probe") or "sandbox"
        if self.probe not in ("sandbox", "hungry", "looping", "raising", "echo"):
            raise ConfigError(
                f"option `probe` is `{self.probe}`: expected sandbox, hungry, looping, raising "
                "or echo"
            )

    def on_event(self, event, out):
        if self.probe == "hungry":
            self.hoard.append(bytearray(1 << 20))
        elif self.probe == "looping":
            while True:
                pass
        elif self.probe == "raising":
            raise ValueError(f"deliberate failure at `{event.id}`")
        elif self.probe == "echo":
            out.push(Finding(META.id, json.dumps(view(event), ensure_ascii=False)))

    def finish(self, out):
        seen = [
            f"open={attempt(read_file)}",
            f"listdir={attempt(lambda: os.listdir('/'))}",
            f"cwd={attempt(os.getcwd)}",
            f"environ={attempt(lambda: dict(os.environ))}",
            f"time={attempt(time.time)}",
            f"monotonic={attempt(time.monotonic)}",
            f"connect={attempt(connect)}",
        ]
        out.push(Finding(META.id, " ".join(seen)))


WitWorld = export(Probe)
