"""A person's yes through a channel the model cannot fake, for clients that cannot ask in-band.

The channel is chosen per request from what the client declares (README "Approval channels"),
in this order; with KUPE_APPROVAL_PROOF=passkey none of them approves, they bring the person to
the page where the passkey does:

1. ``app``: an MCP Apps host renders a confirmation card whose buttons call an app-only tool
   (its Approve opens the page through the host's open-link request under ``passkey``);
2. ``url``: URL elicitation. The client opens the approval page for the person itself (on
   2026-07-28 an ``InputRequiredResult`` carrying ``ElicitRequestURLParams``; on 2025-11-25
   the SDK's ``elicit_url``). The model sees neither the link nor its secret;
3. form elicitation, with KUPE_APPROVAL_PROOF=client only (handled before this module, by the
   tools' confirmation resolvers in ``ask``); a client that does not answer it in time, or
   declines or dismisses it, gets a ``link`` approval left open instead;
4. ``link`` (KUPE_CONFIRM_FALLBACK=link, the default): the result carries a link to the
   approval page for the model to show the person;
5. ``token`` (KUPE_CONFIRM_FALLBACK=token only): today's redeemable confirmation_token;
   ``off`` refuses, saying how to enable a channel.

Every approval is a record in the server's ``ApprovalStore`` bound to the tenant and the
digest of what will be dialled; ``seek_approval`` returns either an answer for the model
(nothing dialled yet) or the id of the approval it just redeemed.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
import mcp_types as types
from mcp.server.apps import client_supports_apps
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types.version import is_version_at_least

from kupe_mcp.errors import CallRefused
from kupe_mcp.safety.approvals import Approval, ApprovalProblem, Channel, new_approval
from kupe_mcp.safety.context import approvals_of, server_of, settings_of
from kupe_mcp.text import redact as _redact

if TYPE_CHECKING:  # built on the call path only: the server imports this module at start-up, not the outcomes
    from kupe_mcp.safety.outcomes import ApprovalPending, BatchOutcome, CallOutcome, Declined

__all__ = [
    "CARD_META_KEY",
    "DIALLERS",
    "RESULT_META",
    "URL_INPUT_KEY",
    "Sought",
    "UrlApprovalRequired",
    "answer_from_card",
    "client_channel",
    "declined",
    "dialler",
    "human_channel",
    "seek_approval",
    "tenant_of",
    "wait_decided",
]

URL_INPUT_KEY = "kupe_approval"
CARD_META_KEY = "kupe/approval"
# ``KupeServer.call_tool`` puts a fresh dict here for each call and copies it into the result's ``_meta``: what the
# MCP Apps card needs (the approval's secret) rides there, where hosts give it to the view and not to the model.
RESULT_META: ContextVar[dict[str, Any] | None] = ContextVar("kupe_result_meta", default=None)
INPUT_REQUIRED_VERSION = "2026-07-28"
POLL_S = 0.25


class UrlApprovalRequired(ToolError):
    """Raised by a tool body on 2026-07-28: ``KupeServer.call_tool`` answers with an InputRequiredResult instead."""

    def __init__(self, params: types.ElicitRequestURLParams) -> None:
        super().__init__("The person must approve this on the approval page.")
        self.params = params

    def input_required(self) -> types.InputRequiredResult:
        return types.InputRequiredResult(input_requests={URL_INPUT_KEY: types.ElicitRequest(params=self.params)})


@dataclass(frozen=True)
class Sought:
    """``answer`` for the model (nothing dialled yet), or the ``approval_id`` just redeemed for this dial."""

    answer: ApprovalPending | Declined | None = None
    approval_id: str | None = None


def _modern(ctx: Context) -> bool:
    version = ctx.protocol_version
    return version is not None and is_version_at_least(version, INPUT_REQUIRED_VERSION)


def client_channel(ctx: Context) -> Channel | None:
    """The client's own way to the person that outranks form elicitation: the Apps card, else URL elicitation the
    transport can carry (2026-07-28 rounds, or a 2025-11-25 session that can send requests); None otherwise."""
    if client_supports_apps(ctx):  # the card is what Apps hosts (claude.ai) really show; its Approve opens the page
        return "app"
    caps = ctx.client_capabilities
    elicitation = caps.elicitation if caps is not None else None
    if elicitation is not None and elicitation.url is not None and (_modern(ctx) or ctx.session.can_send_request):
        return "url"
    return None


def human_channel(ctx: Context) -> Channel | None:
    """The way to reach the person when form elicitation does not ask them: the client's card or URL elicitation,
    else KUPE_CONFIRM_FALLBACK's; None when there is none."""
    channel = client_channel(ctx)
    if channel is not None:
        return channel
    fallback = settings_of(ctx).confirm_fallback
    if fallback == "off":
        return None
    if fallback == "token" and settings_of(ctx).proof == "passkey":
        return "link"  # a token the model passes back proves nothing; the page asks for the passkey
    return fallback


async def tenant_of(ctx: Context) -> str:
    """Who is asking: the Kupe account behind the credential (tenants never see each other's approvals)."""
    return await server_of(ctx).tenant_of(ctx)


def _request_of(ctx: Context) -> Any:
    return getattr(ctx.request_context, "request", None)


async def wait_decided(ctx: Context, approval_id: str, timeout_s: float, *, progress: bool = False) -> Approval | None:
    """Poll the store (any replica may answer) until the approval leaves ``pending`` or ``timeout_s`` passes."""
    store = approvals_of(ctx).store
    start = time.monotonic()
    step = 0
    while True:
        record = await store.get(approval_id)
        if record is None or record.status != "pending":
            return record
        waited = time.monotonic() - start
        if waited >= timeout_s:
            return record
        if progress and step % 4 == 0:
            await ctx.report_progress(waited, timeout_s, f"waiting for the person's answer ({waited:.0f} s)")
        step += 1
        await anyio.sleep(min(POLL_S, max(timeout_s - waited, 0.01)))


def declined(reason: str, nothing_done: str) -> Declined:
    """A person's no (or nobody's yes in time), worded so the model does not try again on its own."""
    from kupe_mcp.safety.outcomes import Declined

    return Declined(reason=f"{reason}; {nothing_done}. Do not try again unless the user asks.")


async def _pending_answer(ctx: Context, record: Approval, tool: str) -> ApprovalPending:
    channel = record.channel
    if channel == "token":  # a token is never an approval record: the gate issues it without one
        raise ValueError(f"approval {record.id} has channel token")
    again = f"then call wait_for_approval(approval_id={record.id!r}) or repeat this {tool} request unchanged"
    url = None
    if channel == "link":
        url = approvals_of(ctx).link(record.id, _request_of(ctx))
        how = "approve there with their passkey" if settings_of(ctx).proof == "passkey" else "approve there"
        next_step = (
            f"Ask the person to open approval_url and {how}; {again}. "
            "Nothing is dialled until they approve on that page; never open or answer it yourself."
        )
    elif channel == "app":
        holder = RESULT_META.get()
        if holder is not None:
            # A fresh nonce per render, in the card's _meta only (hosts give _meta to the view, not the model);
            # the store keeps its keyed digest.
            nonce = secrets.token_urlsafe(24)
            _redact.remember(nonce)
            await approvals_of(ctx).store.issue_card(record.id, server_of(ctx).state_keys.digest("card", nonce))
            card: dict[str, Any] = {"approval_id": record.id, "secret": nonce}
            if settings_of(ctx).proof == "passkey":
                card["approval_url"] = approvals_of(ctx).link(record.id, _request_of(ctx))
            holder[CARD_META_KEY] = card
        next_step = f"The person sees an approval card with Approve and Decline; {again}."
    else:
        next_step = f"The person was sent to the approval page by the client; {again}."
    from kupe_mcp.safety.outcomes import ApprovalPending

    return ApprovalPending(
        approval_id=record.id,
        channel=channel,
        expires_in_s=max(0, int((record.expires_at - approvals_of(ctx).clock()).total_seconds())),
        preview=record.facts,
        next=next_step,
        approval_url=url,
    )


async def _by_url(ctx: Context, record: Approval) -> tuple[Approval, str | None]:
    """Send the person to the page through the client; the record once they answered, or the still-pending record
    and why the client gave up. Every wait on the client is bounded by KUPE_ELICITATION_TIMEOUT_S."""
    desk = approvals_of(ctx)
    url = desk.link(record.id, _request_of(ctx))
    message = "Approve or decline this call on the Kupe approval page (it shows exactly what will be dialled)."
    remaining = max((record.expires_at - desk.clock()).total_seconds(), 0.0)
    timeout = settings_of(ctx).elicitation_timeout_s
    if _modern(ctx):
        response = (ctx.input_responses or {}).get(URL_INPUT_KEY)
        if response is None:
            raise UrlApprovalRequired(types.ElicitRequestURLParams(message=message, url=url))
        action = getattr(response, "action", "cancel")
    else:
        with anyio.move_on_after(timeout) as waited:
            result = await ctx.session.elicit_url(
                message=message, url=url, elicitation_id=record.id, related_request_id=ctx.request_id
            )
        if waited.cancelled_caught:
            return record, f"The client did not answer within {timeout:g} s (KUPE_ELICITATION_TIMEOUT_S)"
        action = result.action
    if action != "accept":
        return record, "The client declined or dismissed the request (the person may never have seen it)"
    decided = await wait_decided(ctx, record.id, min(remaining, timeout), progress=True)
    return (decided if decided is not None else record), None


async def seek_approval(
    ctx: Context,
    channel: Channel,
    *,
    tenant: str,
    tool: str,
    digest: str,
    arguments: dict[str, Any],
    facts: Callable[[], Awaitable[dict[str, Any]]],
    nothing_done: str,
    note: str | None = None,
) -> Sought:
    """Find or open the tenant's approval for ``digest``; redeem it when the person approved.

    ``note`` says why the client's own question got no answer (form elicitation timed out, declined or dismissed):
    the pending answer carries it. Raises CallRefused when an approval cannot be redeemed (it was used or changed
    meanwhile).
    """
    desk = approvals_of(ctx)
    record = await desk.store.find(tenant, digest)
    if record is None:
        fresh = new_approval(
            tenant=tenant,
            digest=digest,
            tool=tool,
            arguments=arguments,
            facts=await facts(),
            channel=channel,
            now=desk.clock(),
            ttl_s=desk.ttl_s,
        )
        record = await desk.store.open_or_reuse(fresh)
    if record.status == "pending" and record.channel == "url":
        record, note = await _by_url(ctx, record)
    if record.status == "declined":
        return Sought(answer=declined("The person declined on the approval page", nothing_done))
    if record.status == "expired":
        return Sought(answer=declined("Nobody approved in time", nothing_done))
    if record.status == "approved":
        try:
            used = await desk.store.redeem(record.id, tenant=tenant, digest=digest)
        except ApprovalProblem as exc:
            raise CallRefused(str(exc)) from None
        return Sought(approval_id=used.id)
    answer = await _pending_answer(ctx, record, tool)
    if note is not None:
        # Nobody said no: the approval stays answerable on its page until it expires, for a person who never saw
        # the question.
        answer.note = f"{note}; nothing was dialled and the approval stays open on its page until it expires."
        answer.approval_url = desk.link(record.id, _request_of(ctx))
    if settings_of(ctx).proof == "passkey" and desk.passkeys is not None and not await desk.passkeys.enrolled(tenant):
        answer.passkey = (
            "No passkey is enrolled for this Kupe account yet, so nothing can be approved: ask the person to run "
            f"kupe-app-mcp passkey add in a terminal, or to open {desk.base_url(_request_of(ctx))}"
            "/approvals/passkeys/enrol and enrol one with their Kupe API key."
        )
    return Sought(answer=answer)


async def my_approval(ctx: Context, approval_id: str) -> Approval:
    """The caller's own approval by id; another tenant's is as unknown as a made-up id."""
    record = await approvals_of(ctx).store.get(approval_id)
    if record is None or record.tenant != await tenant_of(ctx):
        raise ToolError(f"No approval {approval_id!r} is known for you: use an approval_id from place_call's result.")
    return record


Dialler = Callable[[Context, dict[str, Any]], Awaitable["CallOutcome | BatchOutcome"]]
DIALLERS: dict[str, Dialler] = {}
"""tool name -> how to dial its approved arguments through the same gate as the tool itself (registered by the
call tools with ``dialler``): wait_for_approval never calls back into the server's tool dispatch."""


def dialler(tool: str) -> Callable[[Dialler], Dialler]:
    def register(fn: Dialler) -> Dialler:
        DIALLERS[tool] = fn
        return fn

    return register


async def follow_approval(ctx: Context, approval_id: str, timeout_s: float) -> dict[str, Any]:
    """wait_for_approval's body: wait for the person, then dial the approved request once through its own tool."""
    record = await my_approval(ctx, approval_id)
    decided = await wait_decided(ctx, record.id, timeout_s, progress=True) or record
    out: dict[str, Any] = {"approval_id": decided.id, "status": decided.status, "tool": decided.tool}
    if decided.status == "pending":
        out["next"] = "The person has not answered yet: call wait_for_approval again, or ask them to."
        return out
    if decided.status != "approved":
        out["outcome"] = decided.outcome
        out["next"] = {
            "declined": "The person declined: do not try again unless they ask.",
            "expired": "Nobody approved in time and nothing was dialled: ask the person whether to try again.",
            "used": "This approval was already used to dial; it cannot dial again.",
        }.get(decided.status, "")
        return out
    dial = DIALLERS.get(decided.tool)
    if dial is None:
        out["next"] = f"Repeat the {decided.tool} request unchanged to dial it."
        return out
    # The tool's typed outcome, as the JSON its own result would carry (a null field is an absent one).
    out["result"] = (await dial(ctx, dict(decided.arguments))).model_dump(mode="json", exclude_none=True)
    return out


async def answer_from_card(ctx: Context, approval_id: str, secret: str, approve: bool) -> dict[str, Any]:
    """The app-only tool behind the card's buttons: the person's answer, checked against the card's nonce."""
    if not client_supports_apps(ctx):
        raise ToolError("Refused: answer_call_approval is for an MCP Apps approval card; this client shows none.")
    record = await my_approval(ctx, approval_id)
    if record.channel != "app":
        raise ToolError("This approval is not answered from a card: use the channel it was sent through.")
    if approve and settings_of(ctx).proof == "passkey":
        raise ToolError(
            "Refused: approving needs the person's passkey on the approval page (the card's Approve opens it); "
            "nothing was approved."
        )
    try:
        digest = server_of(ctx).state_keys.digest("card", secret)
        answered = await approvals_of(ctx).store.answer(approval_id, digest, approve=approve, via="approval card")
    except ApprovalProblem as exc:
        raise ToolError(str(exc)) from None
    return {"approval_id": answered.id, "status": answered.status}
