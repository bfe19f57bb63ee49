"""A rule's options, as its pack declares them in `pack.toml` (`[config]`, with defaults) and a
user overrides them (`--rule-config`): the Python counterpart of the Rust SDK's `config.rs`. The
host checks names and types; a rule checks ranges and says what it expects by raising
`ConfigError`, which refuses the pack with that message."""


class ConfigError(ValueError):
    """An option's value a rule does not accept; the message names the option and what was
    expected."""


def _describe(value):
    return f"{type(value).__name__}({value!r})"


class Config:
    """The options a rule receives in `Rule.configure`."""

    __slots__ = ("_options",)

    def __init__(self, options=None):
        """Options from a `{name: value}` dict (tests, native use)."""
        self._options = dict(options or {})

    @staticmethod
    def from_wire(entries):
        """Options from the contract's `config-entry` list."""
        return Config({e.name: e.value.value for e in entries})

    def get(self, name):
        """The value of option `name`, or None when unset."""
        return self._options.get(name)

    def count(self, name, default):
        """A non-negative integer option, or `default` when unset."""
        value = self._options.get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"option `{name}` is {_describe(value)}: expected a whole number")
        if value < 0:
            raise ConfigError(f"option `{name}` is {value}: expected 0 or more")
        return value

    def duration_ms(self, name, default_ms):
        """A duration option in milliseconds (`default_ms` when unset), returned in nanoseconds."""
        return self.count(name, default_ms) * 1_000_000

    def flag(self, name, default):
        """A boolean option, or `default` when unset."""
        value = self._options.get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise ConfigError(f"option `{name}` is {_describe(value)}: expected true or false")
        return value

    def texts(self, name, default):
        """A list-of-strings option, or `default` when unset."""
        value = self._options.get(name)
        if value is None:
            return list(default)
        if not isinstance(value, list):
            raise ConfigError(f"option `{name}` is {_describe(value)}: expected a list of strings")
        return list(value)
