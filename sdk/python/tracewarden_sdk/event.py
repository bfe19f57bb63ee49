"""Views of normalized events: what a rule reads, decoded from a wire batch.

The Python counterpart of the Rust SDK's `event.rs`: the batch's strings cross the boundary once
per batch, as one text (`Strings`), and every view slices its strings out of it on access, so an
event costs one small object until a rule looks at it. Names follow the Rust SDK
(`event.actor.principal`, `event.db().table`, `str(db.key)`).
"""

from wit_world.imports import types as wire


class Strings:
    """A batch's string table: string `i` is `blob[offsets[i]:offsets[i + 1]]` (UTF-8 byte
    offsets). The blob crosses the boundary once per batch; a string is sliced out when a view
    reads it, so strings no rule reads cost nothing."""

    __slots__ = ("_ascii", "_blob", "_decoded", "_offsets")

    def __init__(self, blob, offsets):
        # An ASCII blob (the usual case) is sliced as text; any other is encoded to UTF-8 once
        # and each string decoded once, on first read.
        self._ascii = blob.isascii()
        self._blob = blob if self._ascii else blob.encode("utf-8")
        self._offsets = offsets
        self._decoded = {}

    def get(self, index):
        """The string at `index`; the empty string for index 0 or an index out of range."""
        offsets = self._offsets
        if index + 1 >= len(offsets):
            return ""
        if self._ascii:
            return self._blob[offsets[index] : offsets[index + 1]]
        text = self._decoded.get(index)
        if text is None:
            raw = self._blob[offsets[index] : offsets[index + 1]]
            text = self._decoded[index] = raw.decode("utf-8", "replace")
        return text


class Pairs:
    """Name/value pairs: an item key, attributes, path parameters, scopes."""

    __slots__ = ("_pairs", "_s")

    def __init__(self, rng, pairs, strings):
        self._pairs = pairs[rng.start : rng.start + rng.len]
        self._s = strings

    def __len__(self):
        return len(self._pairs)

    def is_empty(self):
        """Whether there are no pairs."""
        return not self._pairs

    def __iter__(self):
        get = self._s.get
        return ((get(p.name), get(p.value)) for p in self._pairs)

    def get(self, name):
        """The value of the first pair named `name`, or `None`."""
        for n, v in self:
            if n == name:
                return v
        return None

    def __eq__(self, other):
        return isinstance(other, Pairs) and list(self) == list(other)

    def __str__(self):
        """`name=value` pairs joined by `,`: a canonical text form of an item key."""
        return ",".join(f"{n}={v}" for n, v in self)

    def __repr__(self):
        return f"Pairs({dict(self)!r})"


class _View:
    """A record of the batch with its string fields read through the string table."""

    __slots__ = ("_s", "_w")

    def __init__(self, record, strings):
        self._w = record
        self._s = strings


def _text(name, doc):
    def read(self):
        return self._s.get(getattr(self._w, name))

    return property(read, doc=doc)


def _plain(name, doc):
    return property(lambda self: getattr(self._w, name), doc=doc)


class SourceRef(_View):
    """Where an event came from."""

    __slots__ = ()

    file = _text("file", "The input file.")
    record = _plain("record", "1-based record index within the file.")
    line = _plain("line", "1-based line, 0 when unknown.")
    format = _text("format", "The input format.")

    def __str__(self):
        """`file:line` when the line is known, else `file#record`."""
        if self.line > 0:
            return f"{self.file}:{self.line}"
        return f"{self.file}#{self.record}"


class Actor(_View):
    """Who acted. Empty strings mean "not known"."""

    __slots__ = ()

    principal = _text("principal", "The authenticated principal.")
    key_id = _text("key_id", "A stable key id, never key material.")
    tenant = _text("tenant", "The tenant or account.")
    ip = _text("ip", "The client address.")
    user_agent = _text("user_agent", "The client's user agent.")
    session = _text("session", "The session.")


class Correlation(_View):
    """Links between events."""

    __slots__ = ()

    trace_id = _text("trace_id", "Trace id.")
    span_id = _text("span_id", "Span id.")
    parent_span_id = _text("parent_span_id", "Parent span id.")
    request_id = _text("request_id", "The id the logging service gave this call.")
    app_request_id = _text("app_request_id", "The application request id (`X-Request-Id`).")
    linked_event = _text("linked_event", "The event this one was linked to.")
    link = _plain("link", "How it was linked (`LinkMethod`).")


class _PairsView(_View):
    __slots__ = ("_pairs",)

    def __init__(self, record, strings, pairs):
        super().__init__(record, strings)
        self._pairs = pairs

    def _range(self, name):
        return Pairs(getattr(self._w, name), self._pairs, self._s)


class Http(_PairsView):
    """An HTTP request and response."""

    __slots__ = ()

    method = _text("method", "Method.")
    path = _text("path", "Path, without the query.")
    route = _text("route", "Route template when known.")
    status = _plain("status", "Status; 0 when no response was recorded.")
    duration_ns = _plain("duration_ns", "How long the request took, ns; 0 when not recorded.")
    query = _text("query", "Query string.")
    params = property(lambda self: self._range("params"), doc="Path parameters / object ids.")
    returned_ids = property(
        lambda self: self._range("returned_ids"), doc="Object ids the response returned."
    )


class DbOperation(_PairsView):
    """A database operation."""

    __slots__ = ()

    service = _text("service", "`dynamodb` for DynamoDB.")
    operation = _text("operation", "API operation (`GetItem`, `UpdateItem`, ...).")
    table = _text("table", "Table.")
    key = property(lambda self: self._range("key"), doc="Item key, sorted by name.")
    has_condition = _plain("has_condition", "Whether a condition was present.")
    condition = _text("condition", "The condition's text.")
    update_expression = _text("update_expression", "The update expression.")
    consistent_read = _plain(
        "consistent_read", "Consistent read, when the request said; else None."
    )
    index_name = _text("index_name", "Secondary index read.")
    group_id = _text("group_id", "Transaction or batch group.")
    is_write = _plain("is_write", "Whether the operation writes.")
    error_code = _text("error_code", "Error code, empty on success.")


class KeyLifecycle(_PairsView):
    """A credential lifecycle change."""

    __slots__ = ()

    action = _plain("action", "What happened (`KeyAction`).")
    key_id = _text("key_id", "The key acted on.")
    owner = _text("owner", "Its owner.")
    scopes = property(lambda self: self._range("scopes"), doc="Scopes after the change.")
    parent_key_id = _text("parent_key_id", "For derived credentials: the key they came from.")


class AuthDecision(_View):
    """An authentication or authorization decision."""

    __slots__ = ()

    allowed = _plain("allowed", "Whether access was granted.")
    action = _text("action", "The action asked for.")
    resource = _text("resource", "The resource.")
    policy = _text("policy", "The deciding policy or mechanism.")


class KeyFact(_PairsView):
    """A key's state in the lifecycle ledger just before the event. Times are Unix ns; 0 means
    "not known" or "never"."""

    __slots__ = ()

    key_id = _text("key_id", "The key.")
    status = _plain("status", "Its status (`KeyStatus`).")
    owner = _text("owner", "Its owner, when a lifecycle record said.")
    created_ns = _plain("created_ns", "When it was created.")
    revoked_ns = _plain("revoked_ns", "When it was last revoked and not activated since.")
    revoked_event = _text("revoked_event", "The revoking event.")
    revoked_event_source = _text("revoked_event_source", "Where it came from (`file:line`).")
    scopes = property(lambda self: self._range("scopes"), doc="Its scopes, when `scopes_known`.")
    scopes_known = _plain("scopes_known", "Whether the scopes are known.")
    removed_scopes = property(
        lambda self: self._range("removed_scopes"), doc="The scopes the last change removed."
    )
    scope_changed_ns = _plain("scope_changed_ns", "When that change happened.")
    scope_event = _text("scope_event", "The scope change event.")
    scope_event_source = _text("scope_event_source", "Where it came from.")
    last_used_ns = _plain("last_used_ns", "The key's previous use.")
    parent_key_id = _text("parent_key_id", "For derived credentials: the key they came from.")
    issued_ns = _plain("issued_ns", "When they were obtained.")
    parent_revoked_ns = _plain("parent_revoked_ns", "When the parent key was revoked.")
    parent_revoked_event = _text("parent_revoked_event", "The parent's revoking event.")
    parent_revoked_event_source = _text("parent_revoked_event_source", "Where it came from.")


class ObjectFact(_View):
    """One object an event touches, with what the ownership model knew of it."""

    __slots__ = ()

    collection = _text("collection", "The path segment naming the object's kind, or the table.")
    id = _text("id", "The path id, or the item key as `name=value` pairs joined by `,`.")
    owner = _text("owner", "The owning principal, when known.")
    owner_tenant = _text("owner_tenant", "The owning tenant, when known.")
    owner_source = _plain("owner_source", "How the owner was learnt (`OwnerSource`).")
    owner_event = _text("owner_event", "The event the owner was learnt from.")
    owner_event_source = _text("owner_event_source", "Where that event came from.")
    relation = _plain("relation", "The actor against the owner (`Relation`).")
    known = _plain("known", "The id was returned to the actor earlier, or they created it.")
    scoped = _plain("scoped", "The collection is owner-scoped.")
    owner_condition = _plain("owner_condition", "This write has a condition on an owner.")


class Facts(_View):
    """Facts the engine's enrichment stage computed for an event, from the events before it."""

    __slots__ = ("_batch",)

    def __init__(self, record, strings, batch):
        super().__init__(record, strings)
        self._batch = batch

    @property
    def objects(self):
        """The objects the event touches (a list of `ObjectFact`), in path order."""
        rng = self._w.objects
        objs = self._batch.objects[rng.start : rng.start + rng.len]
        return [ObjectFact(o, self._s) for o in objs]

    privileged = _plain("privileged", "The actor is declared privileged.")

    @property
    def key(self):
        """The actor's key in the lifecycle ledger (`KeyFact`), or None."""
        k = self._w.key
        return None if k is None else KeyFact(k, self._s, self._batch.pairs)

    request_method = _text("request_method", "The issuing HTTP request's method.")
    request_route = _text("request_route", "That request's route template (`/docs/{id}`).")


_DETAILS = {
    wire.Detail_Http: (Http, wire.EventKind.HTTP),
    wire.Detail_DbOperation: (DbOperation, wire.EventKind.DB_OPERATION),
    wire.Detail_KeyLifecycle: (KeyLifecycle, wire.EventKind.KEY_LIFECYCLE),
    wire.Detail_AuthDecision: (AuthDecision, wire.EventKind.AUTH_DECISION),
}


class Event(_View):
    """One normalized event, read from its batch."""

    __slots__ = ("_batch",)

    def __init__(self, record, strings, batch):
        super().__init__(record, strings)
        self._batch = batch

    id = _text("id", "Stable id, unique within a scan.")
    time_ns = _plain("time_ns", "Unix time, ns.")
    precision_ns = _plain("precision_ns", "Time precision, ns.")
    source = property(lambda self: SourceRef(self._w.source, self._s), doc="Origin.")
    actor = property(lambda self: Actor(self._w.actor, self._s), doc="Who acted.")
    correlation = property(lambda self: Correlation(self._w.correlation, self._s), doc="Links.")
    outcome = _plain("outcome", "How it ended (`Outcome`).")
    attributes = property(
        lambda self: Pairs(self._w.attributes, self._batch.pairs, self._s),
        doc="Format-specific extras.",
    )
    facts = property(
        lambda self: Facts(self._w.facts, self._s, self._batch),
        doc="What the engine's enrichment stage knew at this event.",
    )

    @property
    def detail(self):
        """The kind-specific part: an `Http`, `DbOperation`, `KeyLifecycle` or `AuthDecision`."""
        d = self._w.detail
        view = _DETAILS[type(d)][0]
        if view is AuthDecision:
            return AuthDecision(d.value, self._s)
        return view(d.value, self._s, self._batch.pairs)

    def kind(self):
        """The event's kind (`EventKind`)."""
        return _DETAILS[type(self._w.detail)][1]

    def db(self):
        """The DB operation, if this is one; else None."""
        d = self._w.detail
        if isinstance(d, wire.Detail_DbOperation):
            return DbOperation(d.value, self._s, self._batch.pairs)
        return None

    def http(self):
        """The HTTP exchange, if this is one; else None."""
        d = self._w.detail
        if isinstance(d, wire.Detail_Http):
            return Http(d.value, self._s, self._batch.pairs)
        return None


def batch_events(batch):
    """The events of a wire batch as views, in order; the string table is decoded once."""
    strings = Strings(batch.strings, batch.offsets)
    return [Event(e, strings, batch) for e in batch.events]
