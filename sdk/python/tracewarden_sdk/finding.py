"""Findings as a rule builds them: the Python counterpart of the Rust SDK's `finding.rs`."""

from dataclasses import dataclass

from wit_world.imports import types as wire

# Occurrences of a weakness site whose details (message, resource, evidence) the host keeps: it
# folds a site's occurrences into one finding with this many examples (the Rust SDK's
# `KEPT_OCCURRENCES`; `wit/rule.wit`, `site`).
KEPT_OCCURRENCES = 3


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

    @staticmethod
    def occurrence(rule_id, site, principal, latest_ns):
        """An occurrence of weakness `rule_id` at `site`, without message, resource or evidence:
        what the host reads of one past a site's `KEPT_OCCURRENCES` (see
        `Findings.keeps_details`). `latest_ns` is the time of the latest event it rests on; its
        time is what evidence of that event would give it."""
        finding = Finding(rule_id, "").site(site).principal(principal)
        finding.time_ns = max(finding.time_ns, latest_ns)
        return finding

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
    """Where a rule puts its findings. In a component, an occurrence of a weakness site past its
    `KEPT_OCCURRENCES` goes without the message, resource and evidence the host would not read
    (the component's occurrences are counted across calls); natively (`testing`) every finding
    is kept whole."""

    __slots__ = ("_items", "_sites")

    def __init__(self, sites=None):
        self._items = []
        # Per weakness rule id, its occurrences so far by site; None: nothing is counted.
        self._sites = sites

    def push(self, finding):
        """Reports a finding."""
        counted = self._counted(finding.rule_id)
        if counted is not None:
            key = _site_key(finding._site)
            seen = counted.get(key, 0) + 1
            counted[key] = seen
            if seen > KEPT_OCCURRENCES:
                finding.message = ""
                finding._resource = ""
                finding._evidence = []
        self._items.append(finding)

    def keeps_details(self, rule_id, site):
        """Whether the host keeps the details (message, resource, evidence) of the next
        occurrence of weakness `rule_id` at `site`: always for an incident rule, and natively.
        A rule whose occurrences cost something to describe can report the others as
        `Finding.occurrence`."""
        counted = self._counted(rule_id)
        return counted is None or counted.get(_site_key(site), 0) < KEPT_OCCURRENCES

    def as_list(self):
        """The findings so far."""
        return self._items

    def _counted(self, rule_id):
        return None if self._sites is None else self._sites.get(rule_id)


def _site_key(site):
    # A finding without a site is the host's "site unknown", the default site.
    site = site or Site()
    return (site.method, site.route, site.table, site.operation)


def weakness_sites(metas):
    """A fresh count of occurrences by site for the weakness rules among `metas`."""
    return {m.id: {} for m in metas if m.class_ == wire.FindingClass.WEAKNESS}
