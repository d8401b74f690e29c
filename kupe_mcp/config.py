"""Settings, read from the environment (and CLI flags) when asked, never at import time.

Secrets are ``SecretStr``: their repr is masked, and only the HTTP layer calls
``get_secret_value()`` to build a header.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Mapping
from datetime import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from kupe_mcp.errors import ConfigError

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_CALLING_HOURS",
    "DEFAULT_TOOLSETS",
    "Credentials",
    "Settings",
    "parse_calling_hours",
    "parse_destination_prefixes",
]

DEFAULT_BASE_URL = "https://api.kupe.in"
DEFAULT_TOOLSETS: tuple[str, ...] = ("account", "agents", "phone", "calls", "knowledge")

DEFAULT_CALLING_HOURS = "09:00-21:00"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


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


def _flag(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r} is not a yes/no value: use 1 or 0.")


def _csv(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


_ENV_NAMES = {
    "timeout_s": "KUPE_TIMEOUT_S",
    "max_upload_mb": "KUPE_MAX_UPLOAD_MB",
    "repeat_window_s": "KUPE_REPEAT_WINDOW_S",
    "max_calls_per_hour": "KUPE_MAX_CALLS_PER_HOUR",
    "allowed_hosts": "KUPE_ALLOWED_HOSTS",
    "allowed_origins": "KUPE_ALLOWED_ORIGINS",
    "max_response_mb": "KUPE_MAX_RESPONSE_MB",
}
_HOURS = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)\s*-\s*([01]?\d|2[0-4]):([0-5]\d)$")
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$")
_ORIGIN = re.compile(r"^https?://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?/?$")
_URL_PASSWORD = re.compile(r"(?<=://)([^/\s:@]*):([^/\s@]+)@")
_PREFIX = re.compile(r"^\+[1-9]\d{0,14}\*?$")


def parse_calling_hours(raw: str) -> tuple[time, time] | None:
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
    """E.164 numbers or prefixes (``+91``, ``+1415555``), spaces and dashes removed.

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
    sandbox: bool = False
    upload_roots: tuple[str, ...] = ()
    max_upload_mb: float = Field(default=25.0, gt=0, le=1024)
    default_region: str | None = None
    allowed_destinations: tuple[str, ...] = ()
    blocked_destinations: tuple[str, ...] = ()
    calling_hours: str = DEFAULT_CALLING_HOURS
    confirm_calls: bool = True
    repeat_window_s: float = Field(default=300.0, ge=0, le=7 * 86400)
    max_calls_per_hour: int = Field(default=20, ge=1, le=100_000)
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    max_response_mb: float = Field(default=16.0, gt=0, le=1024)

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for host in value:
            if not _HOST.match(host):
                raise ValueError(f"{host!r} is not a host name such as mcp.example.com or mcp.example.com:443")
        return tuple(h.lower() for h in value)

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for origin in value:
            if not _ORIGIN.match(origin):
                raise ValueError(f"{origin!r} is not an origin such as https://app.example.com")
        return tuple(o.lower().rstrip("/") for o in value)

    def __repr_args__(self) -> Any:
        # A password inside KUPE_BASE_URL (https://user:password@host) never reaches a repr.
        for name, value in super().__repr_args__():
            yield name, (_URL_PASSWORD.sub(r"\1:[redacted]@", value) if name == "base_url" else value)

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

    @field_validator("calling_hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        parse_calling_hours(value)
        return value.strip()

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: object) -> Settings:
        """Build settings from environment variables, then apply explicit overrides (CLI flags).

        Raises ConfigError with one sentence naming the variable at fault.
        """
        values: dict[str, object] = {}
        api_key = environ.get("KUPE_API_KEY", "").strip()
        bearer = environ.get("KUPE_BEARER_TOKEN", "").strip()
        values["credentials"] = Credentials(
            api_key=SecretStr(api_key) if api_key else None,
            bearer_token=SecretStr(bearer) if bearer else None,
        )
        if base := environ.get("KUPE_BASE_URL", "").strip():
            values["base_url"] = base
        if timeout := environ.get("KUPE_TIMEOUT_S", "").strip():
            try:
                values["timeout_s"] = float(timeout)
            except ValueError:
                raise ConfigError(f"KUPE_TIMEOUT_S={timeout!r} is not a number of seconds: use e.g. 30.") from None
        if toolsets := environ.get("KUPE_TOOLSETS", "").strip():
            values["toolsets"] = _csv(toolsets)
        if "KUPE_READ_ONLY" in environ:
            values["read_only"] = _flag("KUPE_READ_ONLY", environ["KUPE_READ_ONLY"])
        if excluded := environ.get("KUPE_EXCLUDE_TOOLS", "").strip():
            values["exclude_tools"] = _csv(excluded)
        if roots := environ.get("KUPE_UPLOAD_ROOTS", "").strip():
            values["upload_roots"] = _csv(roots.replace(os.pathsep, ","))
        if max_mb := environ.get("KUPE_MAX_UPLOAD_MB", "").strip():
            try:
                values["max_upload_mb"] = float(max_mb)
            except ValueError:
                raise ConfigError(f"KUPE_MAX_UPLOAD_MB={max_mb!r} is not a number: use e.g. 25.") from None
        if hosts := environ.get("KUPE_ALLOWED_HOSTS", "").strip():
            values["allowed_hosts"] = _csv(hosts)
        if origins := environ.get("KUPE_ALLOWED_ORIGINS", "").strip():
            values["allowed_origins"] = _csv(origins)
        if max_response := environ.get("KUPE_MAX_RESPONSE_MB", "").strip():
            try:
                values["max_response_mb"] = float(max_response)
            except ValueError:
                raise ConfigError(f"KUPE_MAX_RESPONSE_MB={max_response!r} is not a number: use e.g. 16.") from None
        if token := environ.get("KUPE_MCP_TOKEN", "").strip():
            values["mcp_token"] = SecretStr(token)
        values.update(_call_safety_from_env(environ))
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "settings"
            raise ConfigError(f"Invalid setting {_ENV_NAMES.get(field, field)}: {first['msg']}.") from None


def _call_safety_from_env(environ: Mapping[str, str]) -> dict[str, object]:
    """The call-safety variables (README "Call safety"), each checked with a sentence naming it."""
    values: dict[str, object] = {}
    if region := environ.get("KUPE_DEFAULT_REGION", "").strip():
        if not re.fullmatch(r"[A-Za-z]{2}", region):
            raise ConfigError(f"KUPE_DEFAULT_REGION={region!r} is not a region: use a code such as IN or US.")
        values["default_region"] = region.upper()
    for name, field in (
        ("KUPE_ALLOWED_DESTINATIONS", "allowed_destinations"),
        ("KUPE_BLOCKED_DESTINATIONS", "blocked_destinations"),
    ):
        if raw := environ.get(name, "").strip():
            for entry in _csv(raw):
                try:
                    parse_destination_prefixes([entry])
                except ValueError:
                    raise ConfigError(
                        f"{name} entry {entry!r} is not an E.164 number or prefix: use e.g. +91, +1415555* or "
                        "+14155552671."
                    ) from None
            values[field] = parse_destination_prefixes(_csv(raw))
    if hours := environ.get("KUPE_CALLING_HOURS", "").strip():
        try:
            parse_calling_hours(hours)
        except ValueError:
            raise ConfigError(
                f"KUPE_CALLING_HOURS={hours!r} is not a time window: use HH:MM-HH:MM (the destination's local time, "
                "e.g. 09:00-21:00) or off."
            ) from None
        values["calling_hours"] = hours
    if "KUPE_CONFIRM_CALLS" in environ:
        values["confirm_calls"] = _flag("KUPE_CONFIRM_CALLS", environ["KUPE_CONFIRM_CALLS"])
    if window := environ.get("KUPE_REPEAT_WINDOW_S", "").strip():
        try:
            values["repeat_window_s"] = float(window)
        except ValueError:
            raise ConfigError(f"KUPE_REPEAT_WINDOW_S={window!r} is not a number of seconds: use e.g. 300.") from None
    if cap := environ.get("KUPE_MAX_CALLS_PER_HOUR", "").strip():
        try:
            values["max_calls_per_hour"] = int(cap)
        except ValueError:
            raise ConfigError(f"KUPE_MAX_CALLS_PER_HOUR={cap!r} is not a whole number: use e.g. 20.") from None
    return values
