# TW-DDB-001: a DynamoDB write that carries no condition.
#
# Hygiene check behind the TOCTOU rules: a write that depends on prior state must state that
# state as a ConditionExpression, so DynamoDB checks it atomically with the write.
package tracewarden.rules.ddb001

metadata := {
	"id": "TW-DDB-001",
	"title": "DynamoDB write without a ConditionExpression",
	"description": "A PutItem, UpdateItem or DeleteItem succeeded without a ConditionExpression (or legacy Expected). If the write depends on state read earlier (ownership, status, balance, version), that state can change between the read and the write.",
	"severity": "low",
	"confidence": "medium",
	"class": "weakness",
	"owasp": ["API6:2023"],
	"soc2": ["CC8.1"],
	"cwe": ["CWE-362", "CWE-367"],
	"remediation": "Put the precondition into the write: a ConditionExpression such as `attribute_not_exists(pk)` for creates, `owner_id = :uid` for ownership, `version = :v` for optimistic locking.",
	"kinds": ["db_operation"],
	"operations": ["PutItem", "UpdateItem", "DeleteItem"],
	# Evaluated only on what it can report: successful writes without a condition.
	"where": {"outcome": "success", "db_operation.has_condition": false},
	# What it reads of each event: the host converts only these fields (and `id`).
	"reads": [
		"outcome", "actor.principal", "attributes.key_unknown",
		"db_operation.operation", "db_operation.table", "db_operation.key", "db_operation.has_condition",
	],
}

unconditional_writes := {"PutItem", "UpdateItem", "DeleteItem"}

findings contains f if {
	some e in input.events
	db := e.db_operation
	db.operation in unconditional_writes
	not db.has_condition
	e.outcome == "success"

	# OpenTelemetry spans record neither the key nor the condition: absence proves nothing.
	object.get(e, ["attributes", "key_unknown"], "") == ""
	resource := sprintf("%s/%s", [db.table, key_text(db)])
	f := {
		"message": sprintf("`%s` on `%s` without a ConditionExpression", [db.operation, resource]),
		"principal": object.get(e.actor, "principal", ""),
		"resource": resource,
		"evidence": [{"event_id": e.id, "role": "use"}],
	}
}

key_text(db) := concat(",", [sprintf("%s=%s", [k, v]) | some k, v in object.get(db, "key", {})])
