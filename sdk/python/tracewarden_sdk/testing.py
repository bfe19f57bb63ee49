"""Native test helpers: build events and run a rule over them in CPython, without WebAssembly.
The Python counterpart of the Rust SDK's `testing.rs`; the events go through the same wire batch
(string table and all) as in a component, so a rule sees exactly the views it will see there.

    from tracewarden_sdk.testing import EventBuilder, run

    findings = run(MyRule, [
        EventBuilder.db("DeleteItem", "orders").key("id", "7").principal("alice").at_secs(1),
        EventBuilder.db("GetItem", "orders").key("id", "7").principal("alice").at_secs(2),
    ])
    assert [f.evidence[1].role for f in findings] == ["read"]

It needs the bindings componentize-py generates (`componentize-py -d wit -w rule bindings DIR`,
with DIR on `PYTHONPATH`).
"""

from componentize_py_types import Err
from wit_world.imports import config as wire_config
from wit_world.imports import types as wire

from . import export

_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


class EventBuilder:
    """Builds an event for tests. Start with `db`, `http`, `lifecycle` or `auth`; every setter
    returns the builder."""

    def __init__(self, kind, detail):
        self._kind = kind
        self._detail = detail
        self._key = []
        self._fields = {
            "id": "",
            "time_ns": 0,
            "precision_ns": 1,
            "source": ("", 0, 0, ""),
            "principal": "",
            "key_id": "",
            "tenant": "",
            "trace_id": "",
            "request_id": "",
            "app_request_id": "",
            "linked_event": "",
            "link": wire.LinkMethod.NONE,
            "outcome": wire.Outcome.SUCCESS,
            "privileged": False,
            "request_method": "",
            "request_route": "",
        }

    @staticmethod
    def db(operation, table):
        """A successful DynamoDB operation on `table`; writes are recognized by name."""
        detail = {
            "operation": operation,
            "table": table,
            "condition": "",
            "update_expression": "",
            "consistent_read": None,
            "index_name": "",
            "group_id": "",
            "error_code": "",
        }
        return EventBuilder("db", detail)

    @staticmethod
    def http(method, path, status):
        """An HTTP exchange; the outcome follows the status (2xx/3xx success, 401/403 denied,
        404 not found, 409/412 conflict, 429 throttled, other 4xx/5xx error)."""
        if status in (401, 403):
            outcome = wire.Outcome.DENIED
        elif status == 404:
            outcome = wire.Outcome.NOT_FOUND
        elif status in (409, 412):
            outcome = wire.Outcome.CONFLICT
        elif status == 429:
            outcome = wire.Outcome.THROTTLED
        elif 400 <= status <= 599:
            outcome = wire.Outcome.ERROR
        else:
            outcome = wire.Outcome.SUCCESS
        detail = {
            "method": method,
            "path": path,
            "status": status,
            "route": "",
            "duration_ns": 0,
            "returned_ids": [],
        }
        return EventBuilder("http", detail).outcome(outcome)

    @staticmethod
    def lifecycle(action, key_id):
        """A key lifecycle change (`KeyAction`) of `key_id`."""
        return EventBuilder("key", {"action": action, "key_id": key_id, "owner": ""})

    @staticmethod
    def auth(allowed, action, resource):
        """An auth decision."""
        detail = {"allowed": allowed, "action": action, "resource": resource, "policy": ""}
        return EventBuilder("auth", detail)

    def _set(self, **fields):
        self._fields.update(fields)
        return self

    def _set_detail(self, kind, **fields):
        if self._kind == kind:
            self._detail.update(fields)
        return self

    def id(self, event_id):
        """Sets the id (default: `e<N>`, N its place in the run)."""
        return self._set(id=event_id)

    def at_secs(self, secs):
        """Sets the time in whole seconds since the epoch."""
        return self._set(time_ns=secs * 1_000_000_000)

    def at_ns(self, ns):
        """Sets the time in ns."""
        return self._set(time_ns=ns)

    def precision_ns(self, precision_ns):
        """Sets the time's precision in ns (1_000_000_000 for CloudTrail)."""
        return self._set(precision_ns=precision_ns)

    def source(self, file, line, fmt):
        """Sets where the event came from (`file`, line, format)."""
        return self._set(source=(file, line, line, fmt))

    def principal(self, principal):
        """Sets the principal."""
        return self._set(principal=principal)

    def key_id(self, key_id):
        """Sets the actor's key id."""
        return self._set(key_id=key_id)

    def tenant(self, tenant):
        """Sets the actor's tenant."""
        return self._set(tenant=tenant)

    def outcome(self, outcome):
        """Sets the outcome (`Outcome`)."""
        return self._set(outcome=outcome)

    def trace(self, trace_id):
        """Sets the trace id."""
        return self._set(trace_id=trace_id)

    def request_id(self, request_id):
        """Sets the service's request id."""
        return self._set(request_id=request_id)

    def app_request(self, app_request_id):
        """Sets the application request id."""
        return self._set(app_request_id=app_request_id)

    def linked(self, event_id, link):
        """Links the event to `event_id` (e.g. the HTTP request that caused a DB call) by `link`
        (`LinkMethod`)."""
        return self._set(linked_event=event_id, link=link)

    def privileged(self):
        """Marks the actor privileged, as the enrichment stage does for declared admins."""
        return self._set(privileged=True)

    def issued_by(self, method, route):
        """Sets the HTTP request that issued the event (what `Site.of` reads)."""
        return self._set(request_method=method, request_route=route)

    def key(self, name, value):
        """Adds an item-key part (DB events)."""
        self._key.append((name, value))
        return self

    def condition(self, condition):
        """Sets the condition expression (DB events)."""
        return self._set_detail("db", condition=condition)

    def update(self, update_expression):
        """Sets the update expression (DB events)."""
        return self._set_detail("db", update_expression=update_expression)

    def consistent(self, consistent_read):
        """Sets `ConsistentRead` (DB events)."""
        return self._set_detail("db", consistent_read=consistent_read)

    def index(self, index_name):
        """Sets the secondary index read (DB events)."""
        return self._set_detail("db", index_name=index_name)

    def group(self, group_id):
        """Sets the transaction or batch group (DB events)."""
        return self._set_detail("db", group_id=group_id)

    def error(self, error_code):
        """Sets the service's error code and the outcome it implies (DB events):
        `ConditionalCheckFailedException` and `TransactionCanceledException` are conflicts."""
        self._set_detail("db", error_code=error_code)
        if not error_code:
            outcome = wire.Outcome.SUCCESS
        elif error_code in ("ConditionalCheckFailedException", "TransactionCanceledException"):
            outcome = wire.Outcome.CONFLICT
        else:
            outcome = wire.Outcome.ERROR
        return self.outcome(outcome)

    def route(self, route):
        """Sets the route template (HTTP events)."""
        return self._set_detail("http", route=route)

    def returned_ids(self, ids):
        """Sets the object ids the response returned, `(name, value)` pairs (HTTP events)."""
        return self._set_detail("http", returned_ids=list(ids))

    def duration_ns(self, duration_ns):
        """Sets the duration in ns (HTTP events)."""
        return self._set_detail("http", duration_ns=duration_ns)

    def _wire(self, number, table, pairs):
        f, d, s = self._fields, self._detail, table.add
        start = len(pairs)
        pairs.extend(wire.Pair(s(n), s(v)) for n, v in sorted(self._key))
        key = wire.PairsRange(start, len(self._key))
        empty = wire.PairsRange(0, 0)
        if self._kind == "db":
            detail = wire.Detail_DbOperation(
                wire.DbOperation(
                    service=s("dynamodb"),
                    operation=s(d["operation"]),
                    table=s(d["table"]),
                    key=key,
                    has_condition=bool(d["condition"]),
                    condition=s(d["condition"]),
                    update_expression=s(d["update_expression"]),
                    consistent_read=d["consistent_read"],
                    index_name=s(d["index_name"]),
                    group_id=s(d["group_id"]),
                    is_write=d["operation"] in _WRITES,
                    error_code=s(d["error_code"]),
                )
            )
        elif self._kind == "http":
            start = len(pairs)
            pairs.extend(wire.Pair(s(n), s(v)) for n, v in d["returned_ids"])
            returned = wire.PairsRange(start, len(d["returned_ids"]))
            detail = wire.Detail_Http(
                wire.Http(
                    method=s(d["method"]),
                    path=s(d["path"]),
                    route=s(d["route"]),
                    status=d["status"],
                    duration_ns=d["duration_ns"],
                    query=0,
                    params=empty,
                    returned_ids=returned,
                )
            )
        elif self._kind == "key":
            detail = wire.Detail_KeyLifecycle(
                wire.KeyLifecycle(d["action"], s(d["key_id"]), s(d["owner"]), empty, 0)
            )
        else:
            detail = wire.Detail_AuthDecision(
                wire.AuthDecision(d["allowed"], s(d["action"]), s(d["resource"]), s(d["policy"]))
            )
        file, record, line, fmt = f["source"]
        return wire.Event(
            id=s(f["id"] or f"e{number}"),
            time_ns=f["time_ns"],
            precision_ns=f["precision_ns"],
            source=wire.SourceRef(s(file), record, line, s(fmt)),
            actor=wire.Actor(s(f["principal"]), s(f["key_id"]), s(f["tenant"]), 0, 0, 0),
            correlation=wire.Correlation(
                s(f["trace_id"]),
                0,
                0,
                s(f["request_id"]),
                s(f["app_request_id"]),
                s(f["linked_event"]),
                f["link"],
            ),
            outcome=f["outcome"],
            detail=detail,
            attributes=empty,
            facts=wire.Facts(
                objects=wire.ObjectsRange(0, 0),
                privileged=f["privileged"],
                key=None,
                request_method=s(f["request_method"]),
                request_route=s(f["request_route"]),
            ),
        )


class _Table:
    """A batch's string table as the host builds it: each distinct string once, index 0 the
    empty string, UTF-8 byte offsets."""

    def __init__(self):
        self._index = {"": 0}
        self._strings = [""]

    def add(self, text):
        index = self._index.get(text)
        if index is None:
            index = self._index[text] = len(self._strings)
            self._strings.append(text)
        return index

    def wire(self):
        offsets, at = [0], 0
        for text in self._strings:
            at += len(text.encode("utf-8"))
            offsets.append(at)
        return "".join(self._strings), offsets


def encode(events):
    """The wire batch (`wit_world.imports.types.Batch`) of `events` (`EventBuilder`s)."""
    table, pairs = _Table(), []
    records = [e._wire(n, table, pairs) for n, e in enumerate(events, 1)]
    strings, offsets = table.wire()
    return wire.Batch(strings=strings, offsets=offsets, pairs=pairs, objects=[], events=records)


def _option(name, value):
    if isinstance(value, bool):
        return wire_config.ConfigEntry(name, wire_config.ConfigValue_Boolean(value))
    if isinstance(value, int):
        return wire_config.ConfigEntry(name, wire_config.ConfigValue_Integer(value))
    if isinstance(value, float):
        return wire_config.ConfigEntry(name, wire_config.ConfigValue_Float(value))
    if isinstance(value, str):
        return wire_config.ConfigEntry(name, wire_config.ConfigValue_Text(value))
    return wire_config.ConfigEntry(name, wire_config.ConfigValue_Texts(list(value)))


def run(rule_class, events, config=None):
    """Runs `rule_class`, configured with `config` (a `{name: value}` dict, as the host would
    pass the pack's options), over `events` (`EventBuilder`s, in order, as one batch), then
    `finish`; returns every finding as the host receives it (`wit_world.imports.types.Finding`:
    `rule_id`, `principal`, `resource`, `evidence[i].role`, ...). A refused option raises
    `ValueError` with the rule's message."""
    world = export(rule_class)()
    try:
        world.configure([_option(n, v) for n, v in (config or {}).items()])
    except Err as e:
        raise ValueError(e.value) from None
    return world.on_events(encode(events)) + world.finish()
