# TW-BOLA-004: a user's request reaches an owner-scoped DynamoDB table by a key that names no
# owner, and a write carries no ownership condition.
#
# Stateless on purpose: the engine's enrichment stage has already worked out, from the events
# before this one, whether the table is owner-scoped (its keys name owners, or its writes carry
# ownership conditions, or `[ownership] tables` says so) and whether this key or condition names
# an owner. The rule only reads those facts.
package tracewarden.rules.bola004

metadata := {
	"id": "TW-BOLA-004",
	"title": "Owner-scoped table accessed by a key that names no owner",
	"description": "A DynamoDB call made for a user's request (linked to an HTTP request, or carrying its request id) reads or writes an owner-scoped table by a key that names no user or tenant, and a write carries no ownership condition (a PutItem guarded by `attribute_not_exists` creates the item and is not flagged). Whether the caller may touch the item then rests entirely on application code the logs cannot show; the call pattern is the one BOLA exploits. Privileged principals (`[ownership] admins`) are not flagged.",
	"severity": "medium",
	"confidence": "low",
	"class": "weakness",
	"owasp": ["API1:2023"],
	"soc2": ["CC6.1", "CC6.3"],
	"cwe": ["CWE-639", "CWE-566"],
	"remediation": "Put ownership into the access: a key that embeds the owner (`PK = USER#<id>` or `TENANT#<id>`, or a GSI on `owner_id` queried with the caller's id), an ownership condition on writes (`ConditionExpression: owner_id = :uid`), and IAM `dynamodb:LeadingKeys` where callers have their own credentials; otherwise authorize at the object level before every read.",
	"kinds": ["db_operation"],
	"operations": ["GetItem", "Query", "Scan", "PutItem", "UpdateItem", "DeleteItem"],
	# Only calls that touch an owner-scoped table reach the rule...
	"requires": ["objects_scoped"],
	# ...and it evaluates only the successful ones of unprivileged callers made for a request
	# (`for_a_request` below).
	"where": {
		"outcome": "success",
		"facts.privileged": false,
		"any": [
			{"correlation.linked_event": {"not": ""}},
			{"correlation.app_request_id": {"not": ""}},
		],
	},
	# What it reads of each event: the host converts only these fields (and `id`).
	"reads": [
		"outcome", "actor.principal", "correlation.linked_event", "correlation.app_request_id",
		"db_operation.operation", "db_operation.condition", "db_operation.is_write",
		"facts.privileged", "facts.objects.collection", "facts.objects.id", "facts.objects.scoped",
		"facts.objects.owner_source", "facts.objects.owner_condition",
	],
}

# Sources of an owner that the key (or the settings' mapping of a key attribute) names.
key_names_owner := {"key_prefix", "key_attribute", "mapping"}

findings contains f if {
	some e in input.events
	e.outcome == "success"
	not object.get(e, ["facts", "privileged"], false)
	for_a_request(e)
	db := e.db_operation
	some o in object.get(e, ["facts", "objects"], [])
	object.get(o, "scoped", false)
	not o.owner_source in key_names_owner
	o.owner_source != "public"
	not object.get(o, "owner_condition", false)
	not creates(db)
	principal := object.get(e.actor, "principal", "")
	resource := sprintf("%s/%s", [o.collection, o.id])
	f := {
		"message": sprintf("`%s` on `%s` for %s's request: the table is owner-scoped, but this %s names no owner%s", [db.operation, resource, who(principal), access(db), condition_note(db)]),
		"principal": principal,
		"resource": resource,
		"evidence": [{"event_id": e.id, "role": "access"}],
	}
}

# A put that requires the item to be absent creates it: nobody else's item can be touched.
creates(db) if {
	db.operation == "PutItem"
	contains(object.get(db, "condition", ""), "attribute_not_exists")
}

# The call serves a request: linked to one, or carrying its application request id.
for_a_request(e) if object.get(e, ["correlation", "linked_event"], "") != ""

for_a_request(e) if object.get(e, ["correlation", "app_request_id"], "") != ""

who(principal) := sprintf("`%s`", [principal]) if principal != ""

who(principal) := "an unidentified caller" if principal == ""

access(db) := "key" if db.operation != "Scan"

access(db) := "scan of the whole table" if db.operation == "Scan"

condition_note(db) := " and the write carries no ownership condition" if db.is_write

condition_note(db) := "" if not db.is_write
