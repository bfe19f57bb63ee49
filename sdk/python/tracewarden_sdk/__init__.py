"""Write tracewarden detection rules in Python.

The Python counterpart of the Rust SDK (`tracewarden-sdk`), for rules built into WebAssembly
components with `componentize-py`: a rule is a subclass of `Rule`; `export(MyRule)` returns the
`WitWorld` class componentize-py exports as the `tracewarden:rule` world (`wit/rule.wit`).
Events arrive as views over the batch (its string table decoded once per batch), with the Rust
SDK's names; findings leave through `Findings`.

    from tracewarden_sdk import EventKind, Finding, Rule, RuleMeta, export

    META = RuleMeta(id="EX-001", title="Unconditional write",
                    kinds=(EventKind.DB_OPERATION,), operations=("PutItem",))

    class Unconditional(Rule):
        @classmethod
        def rules(cls):
            return [META]

        def on_event(self, event, out):
            db = event.db()
            if db is not None and not db.has_condition:
                out.push(Finding(META.id, "write without a condition").evidence(event, "use"))

    WitWorld = export(Unconditional)

Pure Python, no dependencies; it imports the bindings componentize-py generates (`wit_world`)
from the pack's `wit/` directory.
"""

from componentize_py_types import Err
from wit_world.imports.types import (
    Confidence,
    EventKind,
    FactNeed,
    FindingClass,
    KeyAction,
    KeyStatus,
    LinkMethod,
    Outcome,
    OwnerSource,
    Partitioning,
    Relation,
    Severity,
)

from .config import Config, ConfigError
from .event import (
    Actor,
    AuthDecision,
    Correlation,
    DbOperation,
    Event,
    Facts,
    Http,
    KeyFact,
    KeyLifecycle,
    ObjectFact,
    Pairs,
    SourceRef,
    Strings,
    batch_events,
)
from .finding import KEPT_OCCURRENCES, Evidence, Finding, Findings, Site, weakness_sites
from .meta import RuleMeta


class Rule:
    """A detection rule (or several rules of one pack sharing one component).

    One instance lives for a whole scan: it sees every event it subscribed to, in time order,
    then `finish`. State kept in `self` is the rule's own.
    """

    @classmethod
    def rules(cls):
        """Metadata (`RuleMeta`) of the rules this class reports under."""
        raise NotImplementedError

    def configure(self, config):
        """Takes the pack's options (`Config`), once, before the first event; raise
        `ConfigError` naming the option and what was expected to refuse the pack."""

    def on_event(self, event, out):
        """Called once per event (`Event`), in time order; push findings into `out`."""
        raise NotImplementedError

    def finish(self, out):
        """Called once after the last event: report what is still pending."""

    def state_usage(self):
        """What the rule's state held and evicted, asked once after `finish` by hosts of contract
        1.1 and later (a list of the contract's `StateUsage` records); none by default."""
        return []


def export(rule_class):
    """The class componentize-py exports as the `tracewarden:rule` world, running `rule_class`:
    assign it to `WitWorld` in the app module."""
    state = {}

    def current():
        rule = state.get("rule")
        if rule is None:
            rule = state["rule"] = rule_class()
        return rule

    def sites():
        # Each weakness site's occurrences, counted across calls (`Findings`).
        counts = state.get("sites")
        if counts is None:
            counts = state["sites"] = weakness_sites(rule_class.rules())
        return counts

    class WitWorld:
        def rules(self):
            return [meta.to_wire() for meta in rule_class.rules()]

        def configure(self, options):
            rule = rule_class()
            try:
                rule.configure(Config.from_wire(options))
            except ConfigError as e:
                raise Err(str(e))
            state["rule"] = rule
            # A fresh rule has reported nothing: its sites are counted anew (`sites`).
            state.pop("sites", None)

        def on_events(self, batch):
            rule = current()
            out = Findings(sites())
            on_event = rule.on_event
            for event in batch_events(batch):
                on_event(event, out)
            return [f.to_wire() for f in out.as_list()]

        def finish(self):
            out = Findings(sites())
            current().finish(out)
            return [f.to_wire() for f in out.as_list()]

        def state_usage(self):
            # The contract's `state-usage` export (1.1); a world without it never calls this.
            return list(current().state_usage())

    WitWorld.__doc__ = f"The `tracewarden:rule` world, running `{rule_class.__name__}`."
    return WitWorld


__all__ = [
    "Actor",
    "AuthDecision",
    "Confidence",
    "Config",
    "ConfigError",
    "Correlation",
    "DbOperation",
    "Event",
    "EventKind",
    "Evidence",
    "FactNeed",
    "Facts",
    "Finding",
    "FindingClass",
    "Findings",
    "KEPT_OCCURRENCES",
    "Http",
    "KeyAction",
    "KeyFact",
    "KeyLifecycle",
    "KeyStatus",
    "LinkMethod",
    "ObjectFact",
    "Outcome",
    "OwnerSource",
    "Pairs",
    "Partitioning",
    "Relation",
    "Rule",
    "RuleMeta",
    "Severity",
    "Site",
    "SourceRef",
    "Strings",
    "batch_events",
    "export",
]
