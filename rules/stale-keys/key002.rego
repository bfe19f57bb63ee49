# TW-KEY-002: a key used beyond its reduced scope.
#
# Stateless on purpose: the engine's key ledger has already put on the event the key's scopes
# now, the scopes its last downgrade removed and when. The rule decides which scope the
# operation needs: from `scope_rules` when one matches, else a write scope for a write and a read
# scope for a read.
package tracewarden.rules.key002

metadata := {
	"id": "TW-KEY-002",
	"title": "Key used beyond its reduced scope",
	"description": "After a key's scopes were reduced, an operation that needed a removed scope succeeded with it: the service still honoured the old scopes (a cached authorization decision, or scopes never checked at use). The needed scope comes from the pack's `scope_rules` (method or operation, path prefix or table, scope); without a matching rule, a write needs a scope that grants writing (`*:write`, `write`, `admin`, `*`) and a read one that grants reading.",
	"severity": "high",
	"confidence": "medium",
	"class": "incident",
	"owasp": ["API2:2023", "API5:2023"],
	"soc2": ["CC6.3", "CC6.1"],
	"cwe": ["CWE-613", "CWE-863"],
	"remediation": "Check the key's current scopes at every use, or bound the authorization cache's TTL by the revocation SLA and invalidate it when scopes change; issue short-lived tokens carrying their scopes so a downgrade takes effect at the next token.",
	"kinds": ["http", "db_operation"],
	"operations": [],
	# Only uses of a key whose last scope change removed scopes reach the rule, and it evaluates
	# only the successful ones.
	"requires": ["key_downscoped"],
	"where": {"outcome": "success"},
	# What it reads of each event: the host converts only these fields (and `id`).
	"reads": [
		"time_ns", "outcome", "actor.principal", "correlation.linked_event",
		"http.method", "http.path",
		"db_operation.operation", "db_operation.table", "db_operation.is_write", "facts.key",
	],
}

findings contains f if {
	some e in input.events
	e.outcome == "success"
	# A DynamoDB call made for an HTTP request is that request's use, judged with it.
	not linked_call(e)
	k := object.get(e, ["facts", "key"], {})
	removed := object.get(k, "removed_scopes", [])
	count(removed) > 0
	e.time_ns > k.scope_changed_ns
	current := object.get(k, "scopes", [])
	some scope in lost(e, removed, current)
	f := {
		"message": sprintf("key `%s` was downscoped at %s (removed: %s; %s) but %s succeeded after it, which needs `%s`", [k.key_id, time.format(k.scope_changed_ns), concat(", ", removed), object.get(k, "scope_event_source", "source unknown"), describe(e), scope]),
		"principal": principal(e, k),
		"resource": sprintf("key/%s", [k.key_id]),
		# A Rego finding cites events of its batch: the downscope is named in the message.
		"evidence": [{"event_id": e.id, "role": "use"}],
	}
}

# The removed scopes the operation needed, per the first matching rule.
lost(e, removed, current) := {s |
	s := mapped(e)
	s in removed
	not s in current
} if mapped(e)

# Without a rule: the kind of access (read or write) that only removed scopes granted. (Only
# then: two definitions giving different sets for one call is an error that stops the rule.)
lost(e, removed, current) := {s |
	k := kind(e)
	some s in removed
	grants(s, k)
	not any_grants(current, k)
} if not mapped(e)

# The scope of the first rule that applies to the operation.
mapped(e) := scope if {
	some i, rule in data.config.scope_rules
	applies(e, rule)
	not applies_before(e, i)
	scope := trim_space(split(rule, " = ")[1])
}

applies(e, rule) if {
	lhs := split(trim_space(split(rule, " = ")[0]), " ")
	lhs[0] == operation(e)
	matches_target(e, lhs[1])
}

applies_before(e, i) if {
	some j, rule in data.config.scope_rules
	j < i
	applies(e, rule)
}

operation(e) := upper(e.http.method)

operation(e) := e.db_operation.operation

matches_target(e, prefix) if startswith(e.http.path, prefix)

matches_target(e, table) if e.db_operation.table == table

kind(e) := "write" if writes(e)

kind(e) := "read" if not writes(e)

writes(e) if {
	e.http
	not upper(e.http.method) in {"GET", "HEAD", "OPTIONS"}
}

writes(e) if e.db_operation.is_write

grants(scope, k) if contains(lower(scope), k)

grants(scope, _) if lower(scope) in {"*", "admin", "all", "full_access"}

grants(scope, _) if endswith(scope, ":*")

grants(scope, _) if endswith(lower(scope), ":admin")

any_grants(scopes, k) if {
	some s in scopes
	grants(s, k)
}

describe(e) := sprintf("`%s %s`", [e.http.method, e.http.path])

describe(e) := sprintf("`%s` on `%s`", [e.db_operation.operation, e.db_operation.table])

# Who used the key: the event's principal, else the key's owner by its lifecycle records.
principal(e, _) := e.actor.principal if object.get(e.actor, "principal", "") != ""

principal(e, k) := object.get(k, "owner", "") if object.get(e.actor, "principal", "") == ""

linked_call(e) if {
	e.db_operation
	object.get(e, ["correlation", "linked_event"], "") != ""
}
