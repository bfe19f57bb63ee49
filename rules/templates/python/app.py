"""{{rule_id}}: item read after delete.

A DynamoDB `GetItem` on an item key that the same principal successfully deleted (`DeleteItem`)
earlier in the stream: the application reads what it has just removed, a sign of a stale cache, a
lost update or an undo gone wrong. componentize-py builds this module into `rule.wasm`.
"""

from tracewarden_sdk import (
    ConfigError,
    EventKind,
    Evidence,
    Finding,
    Outcome,
    Rule,
    RuleMeta,
    Severity,
    export,
)

META = RuleMeta(
    id="{{rule_id}}",
    title="Item read after delete",
    description="A principal reads a DynamoDB item it deleted earlier in the stream.",
    severity=Severity.LOW,
    cwe=("CWE-672",),
    remediation="Stop reading an item after deleting it: drop it from caches and pending work.",
    kinds=(EventKind.DB_OPERATION,),
    operations=("DeleteItem", "GetItem"),
)


class ReadAfterDelete(Rule):
    """Keeps, per principal and item, the evidence of its last successful delete: at most
    `max_deleted_items` of them, the oldest dropped first, so the state stays well inside the
    host's memory cap (a kept delete costs ~0.5 KiB in Python)."""

    def __init__(self):
        self.deleted = {}
        self.max_items = 50_000

    @classmethod
    def rules(cls):
        return [META]

    def configure(self, config):
        self.max_items = config.count("max_deleted_items", 50_000)
        if self.max_items == 0:
            raise ConfigError("option `max_deleted_items` is 0: expected 1 or more")

    def on_event(self, event, out):
        db = event.db()
        principal = event.actor.principal
        item = (principal, db.table, str(db.key))
        if db.operation == "DeleteItem":
            if event.outcome == Outcome.SUCCESS:
                # Dicts keep insertion order: re-inserting makes this the newest delete.
                self.deleted.pop(item, None)
                if len(self.deleted) >= self.max_items:
                    del self.deleted[next(iter(self.deleted))]
                self.deleted[item] = Evidence.of(event, "delete")
        elif item in self.deleted:
            resource = f"{db.table}/{db.key}"
            out.push(
                Finding(META.id, f"`{principal}` read `{resource}` after deleting it")
                .principal(principal)
                .resource(resource)
                .with_evidence(self.deleted[item])
                .evidence(event, "read")
            )


WitWorld = export(ReadAfterDelete)
