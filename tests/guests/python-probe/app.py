"""A Python rule that probes the host's sandbox (tests/e2e/python.rs). Its `probe` option picks
what it does:

- `sandbox`: at `finish`, one finding whose message lists what the guest saw when it tried the
  filesystem, the environment, the clocks and the network;
- `hungry`: keeps 1 MiB per event, so the memory cap must stop it;
- `looping`: spins forever on its first event, so the CPU budget must stop it;
- `raising`: raises an exception on its first event, which must stop it with the traceback's
  last line as the reason.
"""

import os
import time

from tracewarden_sdk import ConfigError, EventKind, Finding, Rule, RuleMeta, export

META = RuleMeta(
    id="TEST-PY-PROBE",
    title="Python sandbox probe",
    kinds=(EventKind.DB_OPERATION,),
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
        if self.probe not in ("sandbox", "hungry", "looping", "raising"):
            raise ConfigError(
                f"option `probe` is `{self.probe}`: expected sandbox, hungry, looping or raising"
            )

    def on_event(self, event, out):
        if self.probe == "hungry":
            self.hoard.append(bytearray(1 << 20))
        elif self.probe == "looping":
            while True:
                pass
        elif self.probe == "raising":
            raise ValueError(f"deliberate failure at `{event.id}`")

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
