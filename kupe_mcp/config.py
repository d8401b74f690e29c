"""Settings: ONE table (``SETTINGS``) declares each, and everything else is derived from it.

To add a setting: add one ``Setting(...)`` row to ``SETTINGS`` below and a ``Settings`` field of the row's ``field``
name, then run ``python -m kupe_mcp.dist.docs`` (README table, server.json). Env parsing, error sentences, CLI flags and
``--help`` follow from the row (a special value such as ``off`` or a minimum length: ``reader=`` and ``expects=``);
``tests/test_settings_table.py`` fails if the row and the field disagree.

Values are read from the environment (and CLI flags) when asked, never at import time. Secrets are ``SecretStr``:
their repr is masked, and only the HTTP layer calls ``get_secret_value()`` to build a header.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from kupe_mcp.errors import ConfigError

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_CALLING_HOURS",
    "DEFAULT_TOOLSETS",
    "SETTINGS",
    "TOOL_VARIABLES",
    "CallingWindow",
    "Credentials",
    "Setting",
    "Settings",
    "parse_calling_hours",
    "parse_destination_prefixes",
    "setting",
    "unknown_variables",
]

DEFAULT_BASE_URL = "https://api.kupe.in"
DEFAULT_TOOLSETS: tuple[str, ...] = ("account", "agents", "phone", "calls", "knowledge")

DEFAULT_CALLING_HOURS = "09:00-21:00"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class Credentials(BaseModel):
    """How requests authenticate to Kupe: an API key (``x-api-key``) or a session JWT (Bearer)."""

    model_config = ConfigDict(frozen=True)

    api_key: SecretStr | None = None
    bearer_token: SecretStr | None = None

    @property
    def kind(self) -> Literal["api_key", "bearer", "none"]:
        """Which form these credentials take; a Bearer session wins when both are set."""
        if self.bearer_token is not None:
            return "bearer"
        if self.api_key is not None:
            return "api_key"
        return "none"

    def headers(self) -> dict[str, str]:
        """The one auth header Kupe expects (API keys go without a Bearer prefix)."""
        if self.bearer_token is not None:
            return {"Authorization": f"Bearer {self.bearer_token.get_secret_value()}"}
        if self.api_key is not None:
            return {"x-api-key": self.api_key.get_secret_value()}
        return {}

    def __bool__(self) -> bool:
        return self.kind != "none"

    def secrets(self) -> tuple[str, ...]:
        """The secret values (for redaction only: never to be shown)."""
        return tuple(s.get_secret_value() for s in (self.api_key, self.bearer_token) if s is not None)

    def fingerprint(self) -> str:
        """A short one-way digest that tells tenants apart (binding confirmation tokens) without holding the secret."""
        secret = self.bearer_token or self.api_key
        raw = f"{self.kind}:{secret.get_secret_value() if secret else ''}"
        return hashlib.sha256(raw.encode()).hexdigest()[:16]


_HOURS = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)\s*-\s*([01]?\d|2[0-4]):([0-5]\d)$")
_PREFIX = re.compile(r"^\+[1-9]\d{0,14}\*?$")
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$")
_ORIGIN = re.compile(r"^https?://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?/?$")
_URL_PASSWORD = re.compile(r"(?<=://)([^/\s:@]*):([^/\s@]+)@")


CallingWindow = tuple[time, time]
"""Calling hours as (start, end) local times; the end may be before the start (a window over midnight)."""


def parse_calling_hours(raw: str) -> CallingWindow | None:
    """``"09:00-21:00"`` as (start, end) local times; ``off`` is None. A window may wrap midnight (``21:00-09:00``).

    Raises ValueError when ``raw`` is neither.
    """
    value = raw.strip().lower()
    if value in {"off", "none", "0", "false", "no"}:
        return None
    match = _HOURS.match(value)
    if not match:
        raise ValueError(f"{raw!r} is not a time window such as 09:00-21:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start = time(h1, m1)
    end = time(23, 59, 59, 999999) if (h2, m2) >= (24, 0) else time(h2, m2)
    if (h2, m2) > (24, 0) or start == end:
        raise ValueError(f"{raw!r} is an empty or impossible time window")
    return start, end


def parse_destination_prefixes(items: Iterable[str]) -> tuple[str, ...]:
    """E.164 numbers or prefixes (``+91``, ``+1415555``, ``+1415555*``), spaces and dashes removed.

    Raises ValueError naming the first entry that is not one.
    """
    out: list[str] = []
    for item in items:
        compact = re.sub(r"[\s\-().]", "", item)
        if not compact:
            continue
        if not _PREFIX.match(compact):
            raise ValueError(f"{item!r} is not an E.164 number or prefix such as +91, +1415555* or +14155552671")
        out.append(compact)
    return tuple(out)


# --- readers: a raw string from the environment or a flag -> the Settings value -------------------------------------
#
# Each raises ValueError on a bad value; the caller turns it into the setting's one sentence.

Kind = Literal["text", "secret", "url", "bool", "int", "float", "csv", "paths", "hours", "prefixes", "region", "choice"]


def _all_match(values: tuple[str, ...], pattern: re.Pattern[str], example: str) -> None:
    """Refuse the first entry of a list setting that ``pattern`` does not match, showing what one looks like."""
    for value in values:
        if not pattern.match(value):
            raise ValueError(f"{value!r} is not {example}")


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(raw)


def _csv(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _paths(raw: str) -> tuple[str, ...]:
    return _csv(raw.replace(os.pathsep, ","))


def _hours(raw: str) -> CallingWindow | None:
    return parse_calling_hours(raw)


def _prefixes(raw: str) -> tuple[str, ...]:
    return parse_destination_prefixes(_csv(raw))


def _url(raw: str) -> str:
    if not raw.strip().startswith(("http://", "https://")):
        raise ValueError(raw)
    return raw.strip()


def _region(raw: str) -> str:
    if not re.fullmatch(r"[A-Za-z]{2}", raw.strip()):
        raise ValueError(raw)
    return raw.strip().upper()


def _int_or_off(raw: str) -> int | None:
    value = raw.strip().lower()
    return None if value in {"off", "0", "none"} else int(value)


def _state_secret(raw: str) -> SecretStr:
    if len(raw.strip()) < 16:
        raise ValueError("too short")
    return SecretStr(raw.strip())


def _previous_secrets(raw: str) -> tuple[SecretStr, ...]:
    return tuple(_state_secret(part) for part in raw.split(",") if part.strip())


# kind -> (reader, what a good value is, the registry's `format`)
_READERS: dict[str, tuple[Callable[[str], Any], str, str]] = {
    "text": (str.strip, "text", "string"),
    "secret": (lambda raw: SecretStr(raw.strip()), "a secret", "string"),
    "url": (_url, "an http(s) URL", "string"),
    "bool": (_bool, "a yes/no value", "boolean"),
    "int": (int, "a whole number", "number"),
    "float": (float, "a number", "number"),
    "csv": (_csv, "a comma list", "string"),
    "paths": (_paths, "a list of folders", "string"),
    "hours": (_hours, "a time window", "string"),
    "prefixes": (_prefixes, "a comma list of E.164 numbers or prefixes", "string"),
    "region": (_region, "a region", "string"),
    "choice": (str.strip, "one of the choices", "string"),
}


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting, declared once: where it is read from, how, its default and what it means."""

    env: str | None
    """Environment variable, or None for a command-line-only option."""
    field: str | None
    """The ``Settings`` field it fills (``credentials.api_key`` nests), or None when only the CLI uses it."""
    kind: Kind
    meaning: str
    """One line for README, ``--help``, server.json and the bundle (Markdown backticks allowed)."""
    default: str = ""
    """The default as one would type it ('' = none); must agree with the Settings field's default."""
    flag: str | None = None
    example: str = ""
    """The ``use ...`` part of the error sentence for a bad value."""
    shown_default: str | None = None
    """What the README shows when ``default`` alone would mislead (e.g. ``working directory``)."""
    choices: tuple[str, ...] = ()
    reader: Callable[[str], Any] | None = None
    """A reader of its own (raise ValueError on a bad value) instead of the kind's, e.g. ``off`` -> None."""
    expects: str | None = None
    """What a good value is, for the error sentence, when the kind's phrase does not fit the reader."""

    @property
    def secret(self) -> bool:
        return self.kind == "secret"

    @property
    def name(self) -> str:
        """How a person refers to it: the variable, else the flag."""
        return self.env or self.flag or str(self.field)

    @property
    def expect(self) -> str:
        return self.expects or _READERS[self.kind][1]

    @property
    def format(self) -> str:
        """The MCP registry's ``format`` of the value."""
        return _READERS[self.kind][2]

    @property
    def plain_meaning(self) -> str:
        return self.meaning.replace("`", "")

    def read(self, raw: str, source: str | None = None) -> Any:
        """Parse ``raw`` (from ``source``, the variable or flag); ConfigError with one sentence when it is bad."""
        try:
            value = (self.reader or _READERS[self.kind][0])(raw)
            if self.choices and str(value).upper() not in {c.upper() for c in self.choices}:
                raise ValueError(raw)
        except ValueError:
            use = self.example or (", ".join(self.choices) if self.choices else "")
            raise ConfigError(
                f"{self.described(source, raw)} is not {self.expect}" + (f": use {use}." if use else ".")
            ) from None
        return value

    def described(self, source: str | None, raw: object) -> str:
        """``NAME='value'``, or just ``NAME`` for a secret (its value is never repeated)."""
        source = source or self.name
        if self.secret or raw is None or raw is True:
            return source
        return f"{source}={raw!r}"


# The table. Order is the README's order. Settings with a `field` must have a Settings field of that name.
SETTINGS: tuple[Setting, ...] = (
    Setting("KUPE_API_KEY", "credentials.api_key", "secret", "Kupe API key, sent as `x-api-key` (no Bearer prefix)"),
    Setting(
        "KUPE_BEARER_TOKEN",
        "credentials.bearer_token",
        "secret",
        "Kupe dashboard session JWT, sent as `Authorization: Bearer`; needed for admin tools and billing writes",
    ),
    Setting(
        "KUPE_BASE_URL", "base_url", "url", "Kupe API origin", DEFAULT_BASE_URL, example="e.g. https://api.kupe.in"
    ),
    Setting(
        "KUPE_TIMEOUT_S",
        "timeout_s",
        "float",
        "deadline of each attempt at a request, seconds: connecting, sending and reading the whole answer "
        "(connect timeout is 5 s)",
        "30",
        example="e.g. 30 (seconds)",
    ),
    Setting(
        "KUPE_TOOLSETS",
        "toolsets",
        "csv",
        "comma list of toolsets, or `all`",
        ",".join(DEFAULT_TOOLSETS),
        flag="--toolsets",
    ),
    Setting(
        "KUPE_READ_ONLY",
        "read_only",
        "bool",
        "`1` removes every tool not annotated read-only, whatever else is configured",
        "0",
        flag="--read-only",
        example="1 or 0",
    ),
    Setting("KUPE_EXCLUDE_TOOLS", "exclude_tools", "csv", "comma list of tools to leave out", flag="--exclude-tools"),
    Setting(
        "KUPE_UPLOAD_ROOTS",
        "upload_roots",
        "paths",
        "folders `upload_knowledge_file(path=…)` may read (comma or `:` separated); symlinks and `..` are resolved "
        "first",
        shown_default="working directory",
    ),
    Setting("KUPE_MAX_UPLOAD_MB", "max_upload_mb", "float", "largest local file uploaded, MB", "25", example="e.g. 25"),
    Setting(
        "KUPE_DEFAULT_REGION",
        "default_region",
        "region",
        "region (e.g. `IN`, `US`) for numbers typed without a country code",
        example="a code such as IN or US",
    ),
    Setting(
        "KUPE_ALLOWED_DESTINATIONS",
        "allowed_destinations",
        "prefixes",
        "comma list of E.164 numbers or prefixes (`+91`, `+1415555*`); when set, the only numbers that may be "
        "called. A valid full number matches only itself; `*` or a shorter entry is a prefix",
        example="e.g. +91, +1415555* or +14155552671",
        shown_default="— (any)",
    ),
    Setting(
        "KUPE_BLOCKED_DESTINATIONS",
        "blocked_destinations",
        "prefixes",
        "comma list of E.164 numbers or prefixes never to call (every entry blocks all numbers starting with it); "
        "wins over the allow-list",
        example="e.g. +91 or +14155552671",
    ),
    Setting(
        "KUPE_CALLING_HOURS",
        "calling_hours",
        "hours",
        "`HH:MM-HH:MM` in the destination's local time (may wrap midnight), or `off`",
        DEFAULT_CALLING_HOURS,
        example="HH:MM-HH:MM (the destination's local time, e.g. 09:00-21:00) or off",
    ),
    Setting(
        "KUPE_CONFIRM_CALLS",
        "confirm_calls",
        "bool",
        "`0` skips the person's confirmation for allow-listed destinations only",
        "1",
        example="1 or 0",
    ),
    Setting(
        "KUPE_REPEAT_WINDOW_S",
        "repeat_window_s",
        "float",
        "calling a number again within this many seconds needs a fresh confirmation",
        "300",
        example="e.g. 300 (seconds)",
    ),
    Setting(
        "KUPE_MAX_CALLS_PER_HOUR",
        "max_calls_per_hour",
        "int",
        "calls each tenant (Kupe account) may place per rolling hour (a batch counts its rows)",
        "20",
        example="e.g. 20",
    ),
    Setting(
        "KUPE_MAX_CALLS_PER_HOUR_TOTAL",
        "max_calls_per_hour_total",
        "int",
        "calls the whole server (every tenant, every replica sharing the state store) may place per rolling hour",
        example="e.g. 500, or off",
        shown_default="off",
        reader=_int_or_off,
        expects="a whole number or off",
    ),
    Setting(
        "KUPE_STATE_URL",
        "state_url",
        "text",
        "where call-safety state lives: `memory:`, `sqlite:///path/file.sqlite3`, or `redis://host:6379/0` "
        "(shared by replicas; `pip install 'kupe-app-mcp[redis]'`)",
        shown_default="stdio: `$XDG_STATE_HOME/kupe-app-mcp/call-safety.sqlite3` (or `~/.local/state/…`); "
        "HTTP and sandbox: `memory:`",
    ),
    Setting(
        "KUPE_STATE_SECRET",
        "state_secret",
        "secret",
        "key for confirmation tokens, idempotency keys, OAuth grants (the sealed Kupe keys) and the SDK's sealed "
        "`requestState`; required with `redis://`, the same on every replica, never logged",
        shown_default="random per process",
        reader=_state_secret,
        expects="a secret of at least 16 characters",
        example="32 random characters, e.g. from openssl rand -hex 32",
    ),
    Setting(
        "KUPE_STATE_SECRET_PREVIOUS",
        "state_secret_previous",
        "secret",
        "earlier `KUPE_STATE_SECRET`s (comma list) while rotating: still read (OAuth sign-ins, idempotency keys, "
        "confirmation tokens stay valid), never written; drop them once their records expired (30 days)",
        reader=_previous_secrets,
        expects="a comma list of secrets of at least 16 characters each",
        example="the secret being replaced, e.g. KUPE_STATE_SECRET_PREVIOUS=<old secret>",
    ),
    Setting(
        "KUPE_CONFIRM_FALLBACK",
        "confirm_fallback",
        "choice",
        "how a person approves when the client cannot ask them (no form/URL elicitation, no MCP Apps): "
        "`link` (an approval page), `token` (a token the model passes back: it can fake the yes) or `off` (refuse)",
        "link",
        choices=("link", "token", "off"),
    ),
    Setting(
        "KUPE_APPROVAL_PROOF",
        "approval_proof",
        "choice",
        "what approves a real dial: `passkey` (only a verified WebAuthn assertion of a passkey enrolled for the "
        "tenant) or `client` (an in-band answer, a card click or a page POST: a model with an HTTP tool can fake it)",
        "",
        choices=("passkey", "client"),
        shown_default="`passkey`; `client` with --sandbox",
    ),
    Setting(
        "KUPE_ELICITATION_TIMEOUT_S",
        "elicitation_timeout_s",
        "float",
        "longest wait for a client to answer an elicitation before the tool returns the approval pending, seconds",
        "30",
        example="e.g. 30 (seconds)",
    ),
    Setting(
        "KUPE_APPROVAL_TTL_S",
        "approval_ttl_s",
        "float",
        "an approval not answered (or not used) within this many seconds expires",
        "600",
        example="e.g. 600 (seconds)",
    ),
    Setting(
        "KUPE_APPROVAL_PORT",
        "approval_port",
        "int",
        "stdio: loopback port of the approval page (started on first need)",
        "",
        shown_default="a free port",
        example="e.g. 8790",
    ),
    Setting(
        "KUPE_APPROVAL_BASE_URL",
        "approval_base_url",
        "url",
        "public origin of the server behind a proxy: approval and OAuth sign-in pages and the OAuth issuer use it "
        "(their POSTs must come from it)",
        "",
        shown_default="the request's own address",
        example="e.g. https://mcp.example.com",
    ),
    Setting(
        "KUPE_APPROVAL_RETENTION_DAYS",
        "approval_retention_days",
        "float",
        "how long approval records (asked, approved/declined/expired, dialled) are kept in the state store, days",
        "30",
        example="e.g. 30 (days)",
    ),
    Setting(
        "KUPE_MCP_TOKEN",
        "mcp_token",
        "secret",
        "Bearer token HTTP clients must present when the server holds credentials",
    ),
    Setting(
        "KUPE_OAUTH",
        "oauth",
        "bool",
        "multi-tenant HTTP: `on` makes the server its own OAuth 2.1 sign-in (people paste their Kupe App API key "
        "once on its page); static keys (`x-api-key`) keep working either way",
        "on",
        example="on or off",
    ),
    Setting(
        "KUPE_ALLOWED_HOSTS",
        "allowed_hosts",
        "csv",
        "HTTP: extra `Host` names the server answers (`host` or `host:port`), for a real hostname behind a proxy; "
        "loopback names and the bind address are always allowed",
        example="e.g. mcp.example.com",
    ),
    Setting(
        "KUPE_ALLOWED_ORIGINS",
        "allowed_origins",
        "csv",
        "HTTP: extra browser `Origin`s allowed (`https://app.example.com`); requests without Origin are unaffected",
        example="e.g. https://app.example.com",
    ),
    Setting(
        "KUPE_MAX_RESPONSE_MB",
        "max_response_mb",
        "float",
        "largest answer read from Kupe, MB; a bigger one is cut off with an error, never returned",
        "16",
        example="e.g. 16",
    ),
    Setting(
        "KUPE_SANDBOX",
        "sandbox",
        "bool",
        "use the embedded Kupe sandbox in-process (no account needed, nothing is dialled)",
        "0",
        flag="--sandbox",
        example="1 or 0",
    ),
    Setting(
        "KUPE_LOG_LEVEL",
        "log_level",
        "choice",
        "log level (logs go to stderr only)",
        "INFO",
        flag="--log-level",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
    ),
    Setting(None, None, "choice", "`stdio` or `http`", "stdio", flag="--transport", choices=("stdio", "http")),
    Setting(None, None, "text", "HTTP bind address", "127.0.0.1", flag="--host"),
    Setting(None, None, "int", "HTTP port", "8765", flag="--port", example="e.g. 8765"),
)


TOOL_VARIABLES = ("KUPE_EXT_APPS", "KUPE_MCPB", "KUPE_NODE", "KUPE_NODE_TOOLS")
"""``KUPE_*`` variables that are not settings: where the Node tools are, set by ``make test`` for the tests that start
the MCP Inspector, the conformance suite and mcpb, and that run the views in the official MCP Apps host. The server
never reads them, and start-up does not warn about them, since a developer's shell may keep them."""


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """One sentence per ``KUPE_*`` variable in ``environ`` that is no setting, naming the closest setting if any.

    A misspelt variable is otherwise silently ignored: a toolsets variable missing its last letter serves the
    default toolsets.
    """
    known = {row.env for row in SETTINGS if row.env} | set(TOOL_VARIABLES)
    strays = sorted(name for name in environ if name.startswith("KUPE_") and name not in known)
    if not strays:
        return []
    import difflib

    names = [row.env for row in SETTINGS if row.env]
    out = []
    for name in strays:
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.7)
        hint = f"did you mean {close[0]}?" if close else "`kupe-app-mcp serve --help` lists every setting."
        out.append(f"{name} is not a kupe-app-mcp setting and is ignored: {hint}")
    return out


def setting(name: str) -> Setting:
    """The row for a variable, flag or field name (KeyError if there is none)."""
    for row in SETTINGS:
        if name in {row.env, row.flag, row.field}:
            return row
    raise KeyError(name)


def _nest(values: dict[str, Any], path: str, value: Any) -> None:
    head, _, tail = path.partition(".")
    if tail:
        _nest(values.setdefault(head, {}), tail, value)
    else:
        values[head] = value


class Settings(BaseModel):
    """Everything kupe-app-mcp can be configured with; see README "Configuration"."""

    model_config = ConfigDict(frozen=True)

    credentials: Credentials = Field(default_factory=Credentials)
    base_url: str = DEFAULT_BASE_URL
    timeout_s: float = Field(default=30.0, gt=0, le=600)
    connect_timeout_s: float = Field(default=5.0, gt=0, le=120)
    toolsets: tuple[str, ...] = DEFAULT_TOOLSETS
    read_only: bool = False
    exclude_tools: tuple[str, ...] = ()
    mcp_token: SecretStr | None = None
    oauth: bool = True
    sandbox: bool = False
    upload_roots: tuple[str, ...] = ()
    max_upload_mb: float = Field(default=25.0, gt=0, le=1024)
    default_region: str | None = None
    allowed_destinations: tuple[str, ...] = ()
    blocked_destinations: tuple[str, ...] = ()
    calling_hours: CallingWindow | None = parse_calling_hours(DEFAULT_CALLING_HOURS)
    confirm_calls: bool = True
    repeat_window_s: float = Field(default=300.0, ge=0, le=7 * 86400)
    max_calls_per_hour: int = Field(default=20, ge=1, le=100_000)
    # Not a variable on purpose: only the --sandbox path sets it (nothing is dialled there), so calling
    # hours become a note in the preview; against the real API they always refuse.
    calling_hours_advisory: bool = False
    max_calls_per_hour_total: int | None = Field(default=None, ge=1, le=10_000_000)
    state_url: str | None = None
    state_secret: SecretStr | None = None
    state_secret_previous: tuple[SecretStr, ...] = ()
    confirm_fallback: Literal["link", "token", "off"] = "link"
    approval_proof: Literal["passkey", "client"] | None = None
    elicitation_timeout_s: float = Field(default=30.0, gt=0, le=3600)
    approval_ttl_s: float = Field(default=600.0, ge=10, le=86400)
    approval_port: int | None = Field(default=None, ge=1, le=65535)
    approval_base_url: str | None = None
    approval_retention_days: float = Field(default=30.0, gt=0, le=3650)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    max_response_mb: float = Field(default=16.0, gt=0, le=1024)

    def __repr_args__(self) -> Any:
        # A password inside KUPE_BASE_URL (https://user:password@host) never reaches a repr.
        for name, value in super().__repr_args__():
            yield name, (_URL_PASSWORD.sub(r"\1:[redacted]@", value) if name == "base_url" else value)

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        _all_match(value, _HOST, "a host name such as mcp.example.com or mcp.example.com:443")
        return tuple(h.lower() for h in value)

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        _all_match(value, _ORIGIN, "an origin such as https://app.example.com")
        return tuple(o.lower().rstrip("/") for o in value)

    @property
    def state_keys_secrets(self) -> tuple[str | None, tuple[str, ...]]:
        """(KUPE_STATE_SECRET, the earlier ones still read) as plain text, for ``StateKeys.from_secret``."""
        current = self.state_secret.get_secret_value() if self.state_secret else None
        return current, tuple(p.get_secret_value() for p in self.state_secret_previous)

    @property
    def proof(self) -> Literal["passkey", "client"]:
        """What approves a real dial: KUPE_APPROVAL_PROOF, else ``passkey`` unless nothing can ring (--sandbox)."""
        if self.approval_proof is not None:
            return self.approval_proof
        return "client" if self.sandbox else "passkey"

    @field_validator("confirm_fallback", "approval_proof", mode="before")
    @classmethod
    def _fallback(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _level(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("default_region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().upper()
        if not re.fullmatch(r"[A-Z]{2}", value):
            raise ValueError("must be a two-letter region code such as IN or US")
        return value

    @field_validator("allowed_destinations", "blocked_destinations")
    @classmethod
    def _prefixes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return parse_destination_prefixes(value)

    @field_validator("calling_hours", mode="before")
    @classmethod
    def _hours(cls, value: object) -> object:
        """Parsed here, once: the rules read the window, never the text (``"off"`` is None)."""
        return parse_calling_hours(value) if isinstance(value, str) else value

    @field_validator("base_url", "approval_base_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str], cli: Mapping[str, object] | None = None, **overrides: object
    ) -> Settings:
        """Build settings from environment variables, then command-line values, then explicit overrides.

        ``cli`` maps a field name to what argparse got (a raw string, or True for a switch); it wins over the
        environment and errors name the flag. ``overrides`` are typed values (tests, embedding). An empty
        variable counts as unset. Raises ConfigError with one sentence naming the variable or flag at fault.
        """
        values: dict[str, Any] = {}
        origin: dict[str, tuple[Setting, str, object]] = {}  # field -> (row, source name, raw) for error sentences
        for row in SETTINGS:
            if row.field is None:
                continue
            raw = environ.get(row.env, "").strip() if row.env else ""
            source = row.env
            given = (cli or {}).get(row.field)
            if given is not None:
                raw, source = ("1" if given is True else str(given)), row.flag or row.field
            if raw:
                _nest(values, row.field, row.read(raw, source))
                origin[row.field.split(".")[0] if row.secret else row.field] = (row, str(source), raw)
        for field, value in overrides.items():
            if value is not None:
                values[field] = value
                origin.pop(field, None)
        if values.get("state_secret_previous") and not values.get("state_secret"):
            raise ConfigError(
                "KUPE_STATE_SECRET_PREVIOUS is set but KUPE_STATE_SECRET is not: set the new secret too (earlier "
                "secrets are only read, never written)."
            )
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"][:1]) or "settings"
            message = str(first["msg"]).removeprefix("Value error, ")
            if field in origin:
                at, source, given = origin[field]
                where = at.described(source, given)
            else:
                try:
                    where = setting(field).name
                except KeyError:
                    where = field
            raise ConfigError(f"{where} is not allowed: {message[:1].lower()}{message[1:]}.") from None
