# TW-KEY-004: a dormant key used again.
#
# Stateless on purpose: the engine's key ledger has put on the event the key's previous use (and
# its creation). A gap longer than `dormant_days` before this use makes it a reactivation; each
# gap has one such use, so the finding comes once per reactivation.
package tracewarden.rules.key004

metadata := {
	"id": "TW-KEY-004",
	"title": "Dormant key used again",
	"description": "A key that had not been used for longer than `dormant_days` (45 by default; from its previous use in the inputs, or from its creation when it was never used) was used successfully. Forgotten keys that wake up are a classic sign of a leak (the Cloudflare 2023 service token). Keys never seen before the inputs began are not judged.",
	"severity": "medium",
	"confidence": "low",
	"owasp": ["API2:2023"],
	"soc2": ["CC6.1", "CC7.2"],
	"cwe": ["CWE-324"],
	"remediation": "Confirm with the key's owner that the use is expected; deactivate keys unused for the dormancy period (IAM credential reports, API key inventories) so a leaked copy is worthless, and alert on their reuse.",
	"kinds": ["http", "db_operation", "key_lifecycle", "auth_decision"],
	"operations": [],
}

day_ns := 86400000000000

findings contains f if {
	some e in input.events
	e.outcome == "success"
	k := object.get(e, ["facts", "key"], {})
	since := previous(k)
	since > 0
	gap := e.time_ns - since
	gap > object.get(data, ["config", "dormant_days"], 45) * day_ns
	f := {
		"message": sprintf("key `%s` was used by %s after %d days without use (%s %s)", [k.key_id, who(e), floor(gap / day_ns), what(k), time.format(since)]),
		"principal": principal(e, k),
		"resource": sprintf("key/%s", [k.key_id]),
		"evidence": [{"event_id": e.id, "role": "use"}],
	}
}

# The previous use, else the creation of a key never used.
previous(k) := k.last_used_ns if object.get(k, "last_used_ns", 0) > 0

previous(k) := k.created_ns if {
	object.get(k, "last_used_ns", 0) == 0
	object.get(k, "created_ns", 0) > 0
}

what(k) := "last used" if object.get(k, "last_used_ns", 0) > 0

what(k) := "created, never used," if object.get(k, "last_used_ns", 0) == 0

who(e) := sprintf("`%s`", [e.actor.principal]) if object.get(e.actor, "principal", "") != ""

who(e) := "an unidentified caller" if object.get(e.actor, "principal", "") == ""

# Who used the key: the event's principal, else the key's owner by its lifecycle records.
principal(e, _) := e.actor.principal if object.get(e.actor, "principal", "") != ""

principal(e, k) := object.get(k, "owner", "") if object.get(e.actor, "principal", "") == ""
