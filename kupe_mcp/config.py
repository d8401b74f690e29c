"""Settings, read from the environment (and CLI flags) when asked, never at import time.

Secrets are ``SecretStr``: their repr is masked, and only the HTTP layer calls
``get_secret_value()`` to build a header.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from kupe_mcp.errors import ConfigError

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_TOOLSETS", "Credentials", "Settings"]

DEFAULT_BASE_URL = "https://api.kupe.in"
DEFAULT_TOOLSETS: tuple[str, ...] = ("account", "agents", "phone", "calls", "knowledge")

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


def _flag(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r} is not a yes/no value: use 1 or 0.")


def _csv(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


class Settings(BaseModel):
    """Everything kupe-mcp can be configured with; see README "Configuration"."""

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
        if token := environ.get("KUPE_MCP_TOKEN", "").strip():
            values["mcp_token"] = SecretStr(token)
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "settings"
            raise ConfigError(f"Invalid setting {field}: {first['msg']}.") from None
