"""Findings as a rule builds them: the Python counterpart of the Rust SDK's `finding.rs`."""

from dataclasses import dataclass

from wit_world.imports import types as wire


@dataclass(slots=True)
class Evidence:
    """One event a finding rests on. Keep one (not the event view, which lives only as long as
    its batch) when a later event may complete a finding."""

    event_id: str
    role: str
    source: str
    time_ns: int

    @staticmethod
    def of(event, role):
        """Evidence of `event` playing `role` (`check`, `use`)."""
        return Evidence(event.id, role, str(event.source), event.time_ns)


@dataclass(slots=True)
class Site:
    """Where a weakness lives: the HTTP request that issued the call (method, route template)
    and the table and operation. Empty parts are unknown."""

    method: str = ""
    route: str = ""
    table: str = ""
    operation: str = ""

    @staticmethod
    def of(event):
        """The site of `event`: the request that issued it and, for a DB call, its table and
        operation."""
        facts = event.facts
        db = event.db()
        return Site(
            facts.request_method,
            facts.request_route,
            db.table if db else "",
            db.operation if db else "",
        )


class Finding:
    """One finding, built by chained calls; the host adds the rule's mappings, the evidence's
    locations and the fingerprint.

        Finding(META.id, "read after delete").principal(p).resource(r).evidence(event, "read")
    """

    __slots__ = (
        "_confidence",
        "_evidence",
        "_principal",
        "_resource",
        "_severity",
        "_site",
        "message",
        "rule_id",
        "time_ns",
    )

    def __init__(self, rule_id, message):
        self.rule_id = rule_id
        self.message = message
        self._principal = ""
        self._resource = ""
        self._severity = None
        self._confidence = None
        self._evidence = []
        self._site = None
        self.time_ns = 0

    def principal(self, principal):
        """Sets the principal concerned."""
        self._principal = principal
        return self

    def resource(self, resource):
        """Sets the resource concerned (`table/key`, a path)."""
        self._resource = str(resource)
        return self

    def severity(self, severity):
        """Overrides the rule's default `Severity`."""
        self._severity = severity
        return self

    def confidence(self, confidence):
        """Overrides the rule's default `Confidence`."""
        self._confidence = confidence
        return self

    def site(self, site):
        """Sets the site of a weakness finding (usually `Site.of(event)`)."""
        self._site = site
        return self

    def evidence(self, event, role):
        """Adds `event` as evidence playing `role`; the finding's time becomes the latest
        evidence time."""
        return self.with_evidence(Evidence.of(event, role))

    def with_evidence(self, evidence):
        """Adds evidence kept from an earlier event (the Rust SDK's `with`)."""
        self.time_ns = max(self.time_ns, evidence.time_ns)
        self._evidence.append(evidence)
        return self

    def to_wire(self):
        """The finding as the contract's record."""
        site = self._site
        return wire.Finding(
            rule_id=self.rule_id,
            severity=self._severity,
            confidence=self._confidence,
            message=self.message,
            principal=self._principal,
            resource=self._resource,
            time_ns=self.time_ns,
            evidence=[wire.Evidence(e.event_id, e.role, e.source) for e in self._evidence],
            site=None
            if site is None
            else wire.Site(site.method, site.route, site.table, site.operation),
        )


class Findings:
    """Where a rule puts its findings."""

    __slots__ = ("_items",)

    def __init__(self):
        self._items = []

    def push(self, finding):
        """Reports a finding."""
        self._items.append(finding)

    def as_list(self):
        """The findings so far."""
        return self._items
