# {{rule_id}}: a DynamoDB `GetItem` of an item its reader deleted earlier.
#
# Rego rules see one batch of events at a time (up to 256 of the events the rule subscribes to),
# so this one finds a delete and a read in the same batch; a WASM rule keeps state across the
# whole stream.
package tracewarden.rules.{{crate_name}}

metadata := {
	"id": "{{rule_id}}",
	"title": "Item read after delete",
	"description": "A principal read a DynamoDB item it had deleted: the code reads state it removed itself, a stale reference or a replayed request.",
	"severity": "medium",
	"confidence": "medium",
	"class": "incident",
	"cwe": ["CWE-672"],
	"remediation": "Drop references to an item when it is deleted; treat a read of a deleted item as an error.",
	"kinds": ["db_operation"],
	"operations": ["DeleteItem", "GetItem"],
	# The fields it reads of each event: the host converts only these (and `id`). Keep it exact:
	# `tracewarden rules test` also runs the cases on whole events and fails one that differs.
	"reads": ["outcome", "actor.principal", "db_operation.operation", "db_operation.table", "db_operation.key"],
}

findings contains f if {
	some i, delete in input.events
	delete.db_operation.operation == "DeleteItem"
	delete.outcome == "success"
	some j, read in input.events
	j > i
	read.db_operation.operation == "GetItem"
	principal := object.get(read.actor, "principal", "")
	principal == object.get(delete.actor, "principal", "")
	item(read) == item(delete)
	f := {
		"message": sprintf("`%s` read `%s` after deleting it", [principal, item(read)]),
		"principal": principal,
		"resource": item(read),
		"evidence": [
			{"event_id": delete.id, "role": "delete"},
			{"event_id": read.id, "role": "read"},
		],
	}
}

# `table/name=value,...` of the item an event touches.
item(e) := sprintf("%s/%s", [
	e.db_operation.table,
	concat(",", [sprintf("%s=%s", [k, v]) | some k, v in object.get(e.db_operation, "key", {})]),
])
