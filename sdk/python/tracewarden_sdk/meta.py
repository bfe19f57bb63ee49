"""Rule metadata as a rule author writes it: the Python counterpart of the Rust SDK's
`meta.rs`."""

from dataclasses import dataclass, field

from wit_world.imports import types as wire


@dataclass(frozen=True)
class RuleMeta:
    """Metadata of one rule. Mapping ids are checked against the engine's catalogs when the pack
    loads; an unknown id refuses the pack. Defaults: medium severity and confidence, no
    mappings, every event kind, no partitioning, an incident rule."""

    id: str
    title: str = ""
    description: str = ""
    severity: wire.Severity = wire.Severity.MEDIUM
    confidence: wire.Confidence = wire.Confidence.MEDIUM
    owasp: tuple = ()
    soc2: tuple = ()
    cwe: tuple = ()
    remediation: str = ""
    kinds: tuple = ()
    operations: tuple = ()
    requires: tuple = ()
    partitioning: wire.Partitioning = wire.Partitioning.NONE
    class_: wire.FindingClass = field(default=wire.FindingClass.INCIDENT)

    def wants(self, kind):
        """Whether this rule subscribes to `kind` (an `EventKind`)."""
        return not self.kinds or kind in self.kinds

    def to_wire(self):
        """The metadata as the contract's record."""
        return wire.RuleInfo(
            id=self.id,
            title=self.title,
            description=self.description,
            severity=self.severity,
            confidence=self.confidence,
            owasp=list(self.owasp),
            soc2=list(self.soc2),
            cwe=list(self.cwe),
            remediation=self.remediation,
            kinds=list(self.kinds),
            operations=list(self.operations),
            requires=list(self.requires),
            partitioning=self.partitioning,
            class_=self.class_,
        )
