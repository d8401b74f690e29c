"""Pydantic models for the Kupe responses the tools read field by field.

Field names are spelled exactly as the API spells them. Every model keeps unknown
fields (``extra="allow"``): the live API returns more than the spec documents, and a
tool must not silently drop what Kupe sent. Shapes the spec leaves open
(``ArbitraryJson``) stay plain ``dict``s.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["KupeModel", "Me"]


class KupeModel(BaseModel):
    """Base for Kupe payloads: unknown fields kept, names as the API spells them."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    def to_json(self) -> dict[str, Any]:
        """The payload as JSON-ready data, unknown fields included, unset fields left out."""
        return self.model_dump(mode="json", exclude_unset=True, by_alias=True)


class Me(KupeModel):
    """``GET /api/v1/me``: who the credentials belong to."""

    user_id: str
    auth: str | None = None
    email: str | None = None
    phone: str | None = None
    full_name: str | None = None
    profile_image_url: str | None = None
    user_metadata: dict[str, Any] | None = None
