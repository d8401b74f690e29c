"""Passkeys: the one proof of a person a model holding MCP tools cannot produce (KUPE_APPROVAL_PROOF=passkey).

A passkey is a WebAuthn credential enrolled for one tenant (the Kupe account behind the server's
or request's credentials). With ``passkey`` proof, the only thing that moves an approval from
pending to approved is an assertion verified here:

* it carries user verification (the authenticator checked a fingerprint, face or PIN);
* it was made by a passkey enrolled for the approval's tenant (looked up by credential id
  among that tenant's passkeys only; the sign count must go up);
* it signs a single-use challenge issued for exactly this approval id and the digest of what
  will be dialled: the challenge is stored under a keyed digest, ``take``-n once on
  verification, and must name the same approval and digest (a replayed assertion, or one
  made for another approval, finds no challenge or the wrong one).

The cryptography (CBOR, COSE keys, signatures, client data and authenticator data checks) is the
``webauthn`` library's; this module only decides which challenge, which credential and which
origin are expected.

Enrolment needs something a model with MCP tools does not have: the Kupe API key typed on the
enrolment page (checked against ``/api/v1/me``), or a one-time code (``kupe-app-mcp passkey add``
prints one in the person's terminal; an OAuth sign-in can mint one with ``enrolment_code`` for
a tenant it already authenticated). Credentials (public key, sign count, name) live in the
call-safety ``StateStore`` under the tenant, so replicas sharing Redis share them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from kupe_mcp.safety.approvals import Approval, ApprovalProblem
from kupe_mcp.safety.clock import Clock, from_json, listed_time, to_json, utc_now
from kupe_mcp.safety.state import StateKeys, StateStore

__all__ = [
    "PASSKEY_NONE",
    "Passkey",
    "Passkeys",
    "RelyingParty",
    "key_checker",
    "relying_party",
]

_CHALLENGES = "passkey-challenges"  # namespace of single-use challenges and enrolment codes (keyed digests only)
_CHALLENGE_TTL = timedelta(minutes=5)
_CODE_TTL = timedelta(minutes=10)
_KEEP = timedelta(days=3650)  # passkeys stay until revoked
_MAX_PER_TENANT = 20
PASSKEY_NONE = (
    "No passkey is enrolled for this Kupe account, so nothing can be approved yet: enrol one first "
    "(run kupe-app-mcp passkey add in a terminal, or open /approvals/passkeys/enrol on this server)."
)


@dataclass(frozen=True)
class RelyingParty:
    """Who the passkeys belong to: the RP ID (a domain: ``localhost`` on stdio) and the page's exact origin."""

    rp_id: str
    origin: str


def relying_party(base_url: str) -> RelyingParty | None:
    """The relying party of the page served at ``base_url``; None when its host is an IP address (WebAuthn needs
    a domain: stdio links use ``localhost``, HTTP needs KUPE_APPROVAL_BASE_URL naming a host)."""
    parts = urlsplit(base_url)
    host = (parts.hostname or "").lower()
    if not host or host.replace(".", "").isdigit() or ":" in host:
        return None
    return RelyingParty(host, f"{parts.scheme}://{parts.netloc}".lower())


@dataclass(frozen=True)
class Passkey:
    """One enrolled credential. ``public_key`` is the COSE key (base64url); nothing here is secret."""

    id: str  # credential id, base64url
    public_key: str
    sign_count: int
    name: str
    created_at: datetime
    last_used_at: datetime | None = None

    def shown(self) -> dict[str, Any]:
        """What the CLI and the page list: never the key material."""
        return {
            "id": self.id,
            "name": self.name,
            "created_at": listed_time(self.created_at),
            "last_used_at": listed_time(self.last_used_at) if self.last_used_at is not None else None,
        }

    def to_json(self) -> dict[str, Any]:
        used = to_json(self.last_used_at) if self.last_used_at is not None else None
        return {**asdict(self), "created_at": to_json(self.created_at), "last_used_at": used}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Passkey:
        """A kept passkey; its times may be epoch seconds (as versions before ISO 8601 kept them)."""
        used = from_json(raw["last_used_at"]) if raw.get("last_used_at") is not None else None
        return cls(**{**raw, "created_at": from_json(raw["created_at"]), "last_used_at": used})


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _expected(challenge: str, rp: RelyingParty) -> dict[str, Any]:
    """What both ceremonies hold a browser's answer to: our challenge, our relying party and origin, and a
    verified user (fingerprint, face or PIN), never mere presence."""
    return {
        "expected_challenge": _unb64(challenge),
        "expected_rp_id": rp.rp_id,
        "expected_origin": rp.origin,
        "require_user_verification": True,
    }


def _client_challenge(credential: dict[str, Any]) -> str:
    """The challenge the browser signed, read from clientDataJSON (the library re-checks it against ours)."""
    try:
        client_data = json.loads(_unb64(str(credential["response"]["clientDataJSON"])))
        return str(client_data["challenge"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ApprovalProblem("Refused: that is not a passkey answer this page asked for.") from exc


@dataclass
class Passkeys:
    """Passkeys per tenant and their single-use challenges, over the call-safety state store."""

    state: StateStore
    keys: StateKeys
    clock: Clock = utc_now

    def _digest(self, kind: str, value: str) -> str:
        return hmac.new(self.keys.secret, f"passkey-{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:40]

    # -- the tenant's passkeys ------------------------------------------------------------------------

    async def enrolled(self, tenant: str) -> list[Passkey]:
        raw = await self.state.get(tenant, "passkeys", now=self.clock()) or {"items": []}
        return [Passkey.from_json(item) for item in raw.get("items") or []]

    async def _save(self, tenant: str, items: list[Passkey]) -> None:
        value = {"items": [p.to_json() for p in items]}
        await self.state.put(tenant, "passkeys", value, expires=self.clock() + _KEEP)

    async def rename(self, tenant: str, passkey_id: str, name: str) -> Passkey:
        items = await self.enrolled(tenant)
        for i, item in enumerate(items):
            if item.id == passkey_id:
                items[i] = replace(item, name=_name(name))
                await self._save(tenant, items)
                return items[i]
        raise ApprovalProblem(f"No passkey {passkey_id!r} is enrolled for this account: list them to see the ids.")

    async def revoke(self, tenant: str, passkey_id: str) -> None:
        items = await self.enrolled(tenant)
        kept = [p for p in items if p.id != passkey_id]
        if len(kept) == len(items):
            raise ApprovalProblem(f"No passkey {passkey_id!r} is enrolled for this account: list them to see the ids.")
        await self._save(tenant, kept)

    # -- enrolment ----------------------------------------------------------------------------------

    async def enrolment_code(self, tenant: str, *, then: str | None = None) -> str:
        """A one-time code that enrols one passkey for ``tenant`` (for a person already known to be that tenant:
        the terminal of ``kupe-app-mcp passkey add``, or an OAuth sign-in). Stored only as a keyed digest.

        ``then`` is where the page sends the person once done (an OAuth sign-in's redirect back to its app, which
        carries the authorization code): kept sealed under a key only the code itself opens, so the page can
        follow nothing but the URL handed over with the code, and a copy of the store holds no usable URL."""
        code = "-".join(secrets.token_hex(3).upper() for _ in range(3))
        expires = self.clock() + _CODE_TTL
        record: dict[str, Any] = {"tenant": tenant}
        if then:
            record["then"] = self._seal_then(code, then)
        await self.state.put(_CHALLENGES, f"code:{self._digest('code', code)}", record, expires=expires)
        return code

    async def tenant_of_code(self, code: str) -> str | None:
        """The tenant a one-time code enrols for, using the code up; None for an unknown or used code."""
        redeemed = await self.redeem_code(code)
        return redeemed[0] if redeemed else None

    async def redeem_code(self, code: str) -> tuple[str, str | None] | None:
        """(tenant, where to go afterwards) for a one-time code, using the code up; None for an unknown or used
        code. The second part is the ``then`` the code was minted with (None when it had none)."""
        clean = code.strip().upper()
        raw = await self.state.take(_CHALLENGES, f"code:{self._digest('code', clean)}", now=self.clock())
        if not raw:
            return None
        sealed = raw.get("then")
        return str(raw["tenant"]), self._open_then(clean, str(sealed)) if sealed else None

    def _then_key(self, code: str) -> bytes:
        return hmac.new(self.keys.secret, f"passkey-then:{code}".encode(), hashlib.sha256).digest()

    def _seal_then(self, code: str, then: str) -> str:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = secrets.token_bytes(12)
        return _b64(nonce + AESGCM(self._then_key(code)).encrypt(nonce, then.encode(), b"passkey-then"))

    def _open_then(self, code: str, sealed: str) -> str | None:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        try:
            raw = _unb64(sealed)
            return AESGCM(self._then_key(code)).decrypt(raw[:12], raw[12:], b"passkey-then").decode()
        except (InvalidTag, ValueError):
            return None

    # -- challenges: each ceremony's options name a challenge kept once, briefly, with what it is for -------

    def _challenge_key(self, challenge: str) -> str:
        return f"challenge:{self._digest('challenge', challenge)}"

    async def _offer(self, options: Any, record: dict[str, Any]) -> dict[str, Any]:
        """Keep ``record`` under the options' challenge and hand the options to the page as JSON."""
        from webauthn import options_to_json

        key = self._challenge_key(_b64(options.challenge))
        await self.state.put(_CHALLENGES, key, record, expires=self.clock() + _CHALLENGE_TTL)
        out: dict[str, Any] = json.loads(options_to_json(options))
        return out

    async def _redeem(self, credential: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
        """The challenge the browser signed and its record, taken so it cannot be used again (None: unknown)."""
        challenge = _client_challenge(credential)
        record = await self.state.take(_CHALLENGES, self._challenge_key(challenge), now=self.clock())
        return challenge, record

    async def registration_options(self, tenant: str, rp: RelyingParty, name: str) -> dict[str, Any]:
        """Options for ``navigator.credentials.create`` (user verification required), bound to ``tenant``."""
        from webauthn import generate_registration_options
        from webauthn.helpers.structs import (
            AuthenticatorSelectionCriteria,
            PublicKeyCredentialDescriptor,
            ResidentKeyRequirement,
            UserVerificationRequirement,
        )

        known = await self.enrolled(tenant)
        options = generate_registration_options(
            rp_id=rp.rp_id,
            rp_name="Kupe call approvals",
            user_name=f"Kupe {tenant}",
            user_id=hashlib.sha256(f"kupe-tenant:{tenant}".encode()).digest()[:16],
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.PREFERRED,
                user_verification=UserVerificationRequirement.REQUIRED,
            ),
            exclude_credentials=[PublicKeyCredentialDescriptor(id=_unb64(p.id)) for p in known],
        )
        record = {"purpose": "enrol", "tenant": tenant, "name": _name(name), "origin": rp.origin}
        return await self._offer(options, record)

    async def finish_registration(self, credential: dict[str, Any], rp: RelyingParty) -> tuple[str, Passkey]:
        """Verify a new credential against its single-use challenge and keep it: (tenant, passkey)."""
        from webauthn import verify_registration_response
        from webauthn.helpers.exceptions import WebAuthnException

        challenge, record = await self._redeem(credential)
        if not record or record.get("purpose") != "enrol" or record.get("origin") != rp.origin:
            raise ApprovalProblem("Refused: this enrolment expired or was already used; start again.")
        try:
            verified = verify_registration_response(credential=credential, **_expected(challenge, rp))
        except WebAuthnException as exc:
            raise ApprovalProblem(f"Refused: the passkey could not be verified ({exc}).") from None
        tenant = str(record["tenant"])
        items = await self.enrolled(tenant)
        if len(items) >= _MAX_PER_TENANT:
            raise ApprovalProblem(f"Refused: this account already has {_MAX_PER_TENANT} passkeys; revoke one first.")
        passkey = Passkey(
            id=_b64(verified.credential_id),
            public_key=_b64(verified.credential_public_key),
            sign_count=verified.sign_count,
            name=str(record.get("name") or "passkey"),
            created_at=self.clock(),
        )
        await self._save(tenant, [*[p for p in items if p.id != passkey.id], passkey])
        return tenant, passkey

    # -- approving ----------------------------------------------------------------------------------

    async def assertion_options(self, approval: Approval, rp: RelyingParty) -> dict[str, Any]:
        """Options for ``navigator.credentials.get``: the tenant's passkeys, user verification required, and a
        challenge good once, for this approval and this digest only."""
        from webauthn import generate_authentication_options
        from webauthn.helpers.structs import PublicKeyCredentialDescriptor, UserVerificationRequirement

        known = await self.enrolled(approval.tenant)
        if not known:
            raise ApprovalProblem(PASSKEY_NONE)
        options = generate_authentication_options(
            rp_id=rp.rp_id,
            allow_credentials=[PublicKeyCredentialDescriptor(id=_unb64(p.id)) for p in known],
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        record = {
            "purpose": "approve",
            "approval_id": approval.id,
            "digest": approval.digest,
            "tenant": approval.tenant,
            "origin": rp.origin,
        }
        return await self._offer(options, record)

    async def verify_assertion(self, approval: Approval, credential: dict[str, Any], rp: RelyingParty) -> Passkey:
        """The passkey that approved ``approval``, or ApprovalProblem (nothing approved) for anything else."""
        from webauthn import verify_authentication_response
        from webauthn.helpers.exceptions import WebAuthnException

        challenge, record = await self._redeem(credential)
        if (
            not record
            or record.get("purpose") != "approve"
            or record.get("approval_id") != approval.id
            or record.get("tenant") != approval.tenant
            or not hmac.compare_digest(str(record.get("digest")), approval.digest)
            or record.get("origin") != rp.origin
        ):
            raise ApprovalProblem("Refused: this passkey answer is not for this approval (or was already used).")
        items = await self.enrolled(approval.tenant)
        passkey = next((p for p in items if p.id == str(credential.get("id") or credential.get("rawId"))), None)
        if passkey is None:
            raise ApprovalProblem("Refused: that passkey is not enrolled for this Kupe account.")
        try:
            verified = verify_authentication_response(
                credential=credential,
                credential_public_key=_unb64(passkey.public_key),
                credential_current_sign_count=passkey.sign_count,
                **_expected(challenge, rp),
            )
        except WebAuthnException as exc:
            raise ApprovalProblem(f"Refused: the passkey answer could not be verified ({exc}).") from None
        used = replace(passkey, sign_count=verified.new_sign_count, last_used_at=self.clock())
        fresh = await self.enrolled(approval.tenant)
        await self._save(approval.tenant, [used if p.id == used.id else p for p in fresh])
        return used


def _name(name: str) -> str:
    clean = " ".join(str(name).split())[:60]
    return clean or "passkey"


def key_checker(base_url: str, timeout_s: float = 10.0) -> Callable[[str], Awaitable[str | None]]:
    """``check(api_key)``: the tenant (``user:<id>`` from ``GET /api/v1/me``) a Kupe API key belongs to, or None.

    A fresh client per check: the stdio page runs in its own thread and event loop.
    """

    async def check(api_key: str) -> str | None:
        from pydantic import SecretStr

        from kupe_mcp.client import KupeClient
        from kupe_mcp.config import Credentials
        from kupe_mcp.errors import KupeError

        key = api_key.strip()
        if not key:
            return None
        client = KupeClient(base_url=base_url, credentials=Credentials(api_key=SecretStr(key)), timeout_s=timeout_s)
        try:
            return f"user:{(await client.me()).user_id}"
        except KupeError:
            return None
        finally:
            await client.aclose()

    return check
