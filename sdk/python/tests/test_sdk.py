"""Unit tests of the Python SDK, run in CPython against the bindings componentize-py generates:

    componentize-py -d wit -w rule bindings BINDINGS
    PYTHONPATH=BINDINGS:sdk/python python3 -m unittest discover -s sdk/python/tests

(`tests/e2e/python.rs` runs them.)
"""

import unittest

from componentize_py_types import Err
from tracewarden_sdk import (
    Config,
    ConfigError,
    EventKind,
    Evidence,
    KEPT_OCCURRENCES,
    Finding,
    FindingClass,
    LinkMethod,
    Outcome,
    Rule,
    RuleMeta,
    Severity,
    Site,
    Strings,
    batch_events,
    export,
    testing,
)
from tracewarden_sdk.testing import EventBuilder
from wit_world.imports import config as wire_config
from wit_world.imports import types as wire


class Table:
    """Builds a batch's string table the way the host does: UTF-8 byte offsets, 0 = ""."""

    def __init__(self):
        self.strings = [""]

    def add(self, s):
        self.strings.append(s)
        return len(self.strings) - 1

    def wire(self):
        offsets, at = [0], 0
        for s in self.strings:
            at += len(s.encode("utf-8"))
            offsets.append(at)
        return "".join(self.strings), offsets


def db_batch(rows):
    """A batch of DB events: `(id, principal, operation, table, [(key, value)], outcome)`."""
    t = Table()
    pairs, events = [], []
    for line, (eid, principal, op, table, key, outcome) in enumerate(rows, 1):
        start = len(pairs)
        pairs.extend(wire.Pair(t.add(n), t.add(v)) for n, v in key)
        empty = wire.PairsRange(0, 0)
        events.append(
            wire.Event(
                id=t.add(eid),
                time_ns=line * 1_000,
                precision_ns=1,
                source=wire.SourceRef(t.add("log.jsonl"), line, line, t.add("events")),
                actor=wire.Actor(t.add(principal), 0, 0, 0, t.add("ünïcode agent"), 0),
                correlation=wire.Correlation(0, 0, 0, 0, 0, 0, wire.LinkMethod.NONE),
                outcome=outcome,
                detail=wire.Detail_DbOperation(
                    wire.DbOperation(
                        service=t.add("dynamodb"),
                        operation=t.add(op),
                        table=t.add(table),
                        key=wire.PairsRange(start, len(key)),
                        has_condition=False,
                        condition=0,
                        update_expression=0,
                        consistent_read=None,
                        index_name=0,
                        group_id=0,
                        is_write=op != "GetItem",
                        error_code=0,
                    )
                ),
                attributes=empty,
                facts=wire.Facts(
                    objects=wire.ObjectsRange(0, 0),
                    privileged=False,
                    key=None,
                    request_method=t.add("DELETE"),
                    request_route=t.add("/orders/{id}"),
                ),
            )
        )
    strings, offsets = t.wire()
    return wire.Batch(strings=strings, offsets=offsets, pairs=pairs, objects=[], events=events)


class StringsTest(unittest.TestCase):
    def test_offsets_are_utf8_bytes(self):
        # Reproducer of the mistake the SDK avoids: slicing the text by byte offsets garbles
        # every string after the first non-ASCII one.
        strings = Strings("é€bc", [0, 0, 2, 5, 6, 7])
        self.assertEqual([strings.get(i) for i in range(6)], ["", "é", "€", "b", "c", ""])

    def test_ascii_and_out_of_range(self):
        strings = Strings("abc", [0, 0, 1, 3])
        self.assertEqual([strings.get(i) for i in range(5)], ["", "a", "bc", "", ""])


class EventTest(unittest.TestCase):
    def test_views_read_the_rust_sdk_names(self):
        (event,) = batch_events(
            db_batch(
                [
                    (
                        "ev-1",
                        "ålice",
                        "DeleteItem",
                        "orders",
                        [("id", "ø-1"), ("sk", "v")],
                        Outcome.SUCCESS,
                    )
                ]
            )
        )
        self.assertEqual(event.id, "ev-1")
        self.assertEqual(event.time_ns, 1_000)
        self.assertEqual(str(event.source), "log.jsonl:1")
        self.assertEqual(event.source.format, "events")
        self.assertEqual(event.actor.principal, "ålice")
        self.assertEqual(event.actor.user_agent, "ünïcode agent")
        self.assertEqual(event.actor.key_id, "")
        self.assertEqual(event.outcome, Outcome.SUCCESS)
        self.assertEqual(event.kind(), EventKind.DB_OPERATION)
        self.assertIsNone(event.http())
        db = event.db()
        self.assertEqual((db.service, db.operation, db.table), ("dynamodb", "DeleteItem", "orders"))
        self.assertEqual(list(db.key), [("id", "ø-1"), ("sk", "v")])
        self.assertEqual(str(db.key), "id=ø-1,sk=v")
        self.assertEqual(db.key.get("sk"), "v")
        self.assertIsNone(db.key.get("nope"))
        self.assertTrue(db.is_write)
        self.assertIsNone(db.consistent_read)
        self.assertEqual(type(event.detail).__name__, "DbOperation")
        self.assertTrue(event.attributes.is_empty())
        self.assertEqual(event.facts.objects, [])
        self.assertIsNone(event.facts.key)
        self.assertEqual(Site.of(event), Site("DELETE", "/orders/{id}", "orders", "DeleteItem"))


class FindingTest(unittest.TestCase):
    def test_builder_to_wire(self):
        e1, e2 = batch_events(
            db_batch(
                [
                    ("ev-1", "a", "DeleteItem", "t", [("id", "1")], Outcome.SUCCESS),
                    ("ev-2", "a", "GetItem", "t", [("id", "1")], Outcome.SUCCESS),
                ]
            )
        )
        kept = Evidence.of(e1, "delete")
        f = (
            Finding("X-1", "msg")
            .principal("a")
            .resource("t/id=1")
            .severity(Severity.HIGH)
            .evidence(e2, "read")
            .with_evidence(kept)
            .to_wire()
        )
        self.assertEqual(
            f,
            wire.Finding(
                rule_id="X-1",
                severity=Severity.HIGH,
                confidence=None,
                message="msg",
                principal="a",
                resource="t/id=1",
                time_ns=2_000,
                evidence=[
                    wire.Evidence("ev-2", "read", "log.jsonl:2"),
                    wire.Evidence("ev-1", "delete", "log.jsonl:1"),
                ],
                site=None,
            ),
        )


class ConfigTest(unittest.TestCase):
    def test_accessors_and_their_errors(self):
        c = Config.from_wire(
            [
                wire_config.ConfigEntry("window_ms", wire_config.ConfigValue_Integer(250)),
                wire_config.ConfigEntry("on", wire_config.ConfigValue_Boolean(True)),
                wire_config.ConfigEntry("names", wire_config.ConfigValue_Texts(["a"])),
                wire_config.ConfigEntry("neg", wire_config.ConfigValue_Integer(-1)),
            ]
        )
        self.assertEqual(c.duration_ms("window_ms", 1_000), 250_000_000)
        self.assertEqual(c.duration_ms("other_ms", 1_000), 1_000_000_000)
        self.assertTrue(c.flag("on", False))
        self.assertEqual(c.texts("names", ["z"]), ["a"])
        self.assertEqual(c.texts("unset", ["z"]), ["z"])
        with self.assertRaisesRegex(ConfigError, r"^option `neg` is -1: expected 0 or more$"):
            c.count("neg", 0)
        with self.assertRaisesRegex(
            ConfigError, r"^option `on` is bool\(True\): expected a whole number$"
        ):
            c.count("on", 0)
        with self.assertRaisesRegex(
            ConfigError, r"^option `window_ms` is int\(250\): expected true or false$"
        ):
            c.flag("window_ms", False)


META = RuleMeta(id="X-1", title="t", kinds=(EventKind.DB_OPERATION,), cwe=("CWE-1",))


class Counting(Rule):
    def __init__(self):
        self.seen = 0
        self.limit = 0

    @classmethod
    def rules(cls):
        return [META]

    def configure(self, config):
        self.limit = config.count("limit", 1)
        if self.limit == 0:
            raise ConfigError("option `limit` is 0: expected 1 or more")

    def on_event(self, event, out):
        self.seen += 1
        if self.seen == self.limit:
            out.push(Finding(META.id, "limit").evidence(event, "last"))

    def finish(self, out):
        out.push(Finding(META.id, f"saw {self.seen}"))


WEAK = RuleMeta(id="X-2", title="Unconditional write", class_=FindingClass.WEAKNESS)


class Unchecked(Rule):
    """A weakness rule: every write is an occurrence at its table's site; `lean` reports the
    ones the host would not keep the details of as bare occurrences."""

    lean = False

    @classmethod
    def rules(cls):
        return [WEAK, META]

    def on_event(self, event, out):
        site = Site(table=event.db().table, operation=event.db().operation)
        if self.lean and not out.keeps_details(WEAK.id, site):
            out.push(Finding.occurrence(WEAK.id, site, event.actor.principal, event.time_ns))
            return
        finding = Finding(WEAK.id, f"write by {event.actor.principal}").resource(event.id)
        out.push(finding.site(site).principal(event.actor.principal).evidence(event, "write"))
        if event.id == "ev-0":
            out.push(Finding(META.id, "an incident is never thinned").evidence(event, "hit"))


class Lean(Unchecked):
    lean = True


class TestingTest(unittest.TestCase):
    def test_builders_go_through_a_wire_batch(self):
        batch = testing.encode(
            [
                EventBuilder.db("UpdateItem", "orders")
                .key("sk", "b")
                .key("id", "ø")
                .principal("alice")
                .at_secs(2)
                .error("ConditionalCheckFailedException")
                .linked("req-1", LinkMethod.TRACE_ID),
                EventBuilder.http("GET", "/orders/7", 404)
                .id("h")
                .returned_ids([("order_id", "7")])
                .source("app.log", 3, "app"),
            ]
        )
        db_event, http_event = batch_events(batch)
        self.assertEqual(db_event.id, "e1")
        self.assertEqual(db_event.time_ns, 2_000_000_000)
        self.assertEqual(db_event.outcome, Outcome.CONFLICT)
        self.assertEqual(str(db_event.db().key), "id=ø,sk=b")
        self.assertTrue(db_event.db().is_write)
        self.assertEqual(db_event.db().error_code, "ConditionalCheckFailedException")
        self.assertEqual(db_event.correlation.linked_event, "req-1")
        self.assertEqual(db_event.correlation.link, LinkMethod.TRACE_ID)
        self.assertEqual(http_event.outcome, Outcome.NOT_FOUND)
        self.assertEqual(list(http_event.http().returned_ids), [("order_id", "7")])
        self.assertEqual(str(http_event.source), "app.log:3")

    def test_run_configures_and_reports_a_refusal(self):
        events = [EventBuilder.db("GetItem", "t") for _ in range(3)]
        findings = testing.run(Counting, events, {"limit": 2})
        self.assertEqual([f.message for f in findings], ["limit", "saw 3"])
        self.assertEqual(findings[0].evidence[0].event_id, "e2")
        with self.assertRaisesRegex(ValueError, r"^option `limit` is 0: expected 1 or more$"):
            testing.run(Counting, events, {"limit": 0})


class ExportTest(unittest.TestCase):
    def test_the_world_runs_the_rule_and_keeps_its_state(self):
        world = export(Counting)
        (info,) = world().rules()
        self.assertEqual(
            (info.id, info.cwe, info.kinds), ("X-1", ["CWE-1"], [EventKind.DB_OPERATION])
        )
        self.assertEqual(info.class_, wire.FindingClass.INCIDENT)
        option = wire_config.ConfigEntry("limit", wire_config.ConfigValue_Integer(3))
        world().configure([option])
        rows = [(f"ev-{i}", "a", "GetItem", "t", [], Outcome.SUCCESS) for i in range(2)]
        self.assertEqual(world().on_events(db_batch(rows)), [])
        (hit,) = world().on_events(db_batch(rows))
        self.assertEqual((hit.message, hit.evidence[0].event_id), ("limit", "ev-0"))
        self.assertEqual([f.message for f in world().finish()], ["saw 4"])
        self.assertEqual(world().state_usage(), [])

    def test_a_sites_later_occurrences_cross_without_their_details(self):
        self.assertEqual(KEPT_OCCURRENCES, 3)
        rows = [(f"ev-{i}", "a", "PutItem", "t", [], Outcome.SUCCESS) for i in range(3)]
        other = [("ev-9", "b", "PutItem", "u", [], Outcome.SUCCESS)]
        for rule in (Unchecked, Lean):
            world = export(rule)
            world().configure([])
            # Counted across calls: 3 whole at `t`, then bare ones; `u` has its own count.
            first = world().on_events(db_batch(rows[:2]))
            later = world().on_events(db_batch(rows + other))
            weak = [f for f in first + later if f.rule_id == "X-2"]
            self.assertEqual(
                [(f.message, f.resource, len(f.evidence)) for f in weak],
                [("write by a", f"ev-{i}", 1) for i in (0, 1, 0)]
                + [("", "", 0)] * 2
                + [("write by b", "ev-9", 1)],
                rule.__name__,
            )
            self.assertEqual([f.principal for f in weak], ["a"] * 5 + ["b"])
            self.assertEqual([f.time_ns for f in weak], [1000, 2000, 1000, 2000, 3000, 4000])
            self.assertEqual([f.site.table for f in weak], ["t"] * 5 + ["u"])
            incidents = [f for f in first + later if f.rule_id == "X-1"]
            self.assertEqual([len(f.evidence) for f in incidents], [1, 1])
            # A new configuration counts afresh.
            world().configure([])
            (again, _) = world().on_events(db_batch(rows[:1]))
            self.assertEqual(again.message, "write by a")
        # `testing.run` gives the findings as the host receives them: thinned alike.
        events = [EventBuilder.db("PutItem", "t").principal("a") for _ in range(5)]
        weak = [f for f in testing.run(Unchecked, events, {}) if f.rule_id == "X-2"]
        self.assertEqual([f.message for f in weak], ["write by a"] * 3 + [""] * 2)

    def test_a_refused_option_is_the_contracts_error(self):
        zero = wire_config.ConfigEntry("limit", wire_config.ConfigValue_Integer(0))
        with self.assertRaises(Err) as raised:
            export(Counting)().configure([zero])
        self.assertEqual(raised.exception.value, "option `limit` is 0: expected 1 or more")


if __name__ == "__main__":
    unittest.main()
