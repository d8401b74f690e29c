"""``kupe-app-mcp demo``: a scripted tour through a real MCP client against the embedded sandbox.

It does what an assistant would: create and configure an agent, give it a knowledge
file and search it, map a phone line, place a call (the "person" confirms through
MCP elicitation), follow it with progress to its transcript, and run a three-number
campaign. Every step prints readably; nothing leaves the machine and nothing is dialled.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import textwrap
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx2
import mcp_types as types
from mcp.client import Client
from mcp.client.session import ClientRequestContext
from pydantic import SecretStr

from kupe_mcp.config import Credentials, Settings
from kupe_mcp.sandbox import DEMO_API_KEY, SandboxSettings, create_app
from kupe_mcp.serve.server import KupeServer, build_client, create_server

__all__ = ["AGENT", "CALL", "CAMPAIGN", "FAQ", "RECIPIENTS", "main", "run_demo"]

Write = Callable[[str], None]

FAQ = """\
# Acme Dental — front desk facts
Opening hours: Monday to Saturday, 9am to 7pm. Closed on Sundays.
A routine cleaning costs 1,500 rupees and takes 40 minutes.
To reschedule, callers need their booking reference; changes are free up to 24 hours before.
"""

PROMPT = (
    "You are Asha, the front desk of Acme Dental. Greet {{name}} warmly, confirm their appointment on "
    "{{date}}, answer questions from the clinic's knowledge base, and offer to reschedule if needed."
)


# The tour's data, declared once: the README's screenshots (tests/browser/test_screenshots.py) show the same.
AGENT: dict[str, Any] = {
    "name": "Acme Dental front desk",
    "system_prompt": PROMPT,
    "welcome_message": "Hello {{name}}, this is Asha from Acme Dental.",
    "model_name": "gpt-4.1-mini",
    "temperature": 0.4,
    "tts_model_name": "bulbul:v2",
    "voice_name": "Anushka",
    "tts_language": "en-IN",
}
CALL: dict[str, Any] = {"phone_number": "+91 98765 43210", "variable_values": {"name": "Priya", "date": "Tuesday 10am"}}
CAMPAIGN = "Appointment reminders"
RECIPIENTS: list[dict[str, Any]] = [
    {"phone_number": "+91 98765 43211", "variables": {"name": "Ravi", "date": "Wed 11am"}},
    {"phone_number": "+91 98765 43212", "variables": {"name": "Meera", "date": "Wed 3pm"}},
    {"phone_number": "+91 98765 43213", "variables": {"name": "Arjun", "date": "Thu 9am"}},
]


class Tour:
    """Calls tools and prints each step; stops the tour on the first unexpected error."""

    def __init__(self, mcp: Client, write: Write) -> None:
        self.mcp = mcp
        self.write = write
        self.step = 0
        self.sizes: dict[str, int] = {}  # the largest result text of each tool, in bytes

    def say(self, text: str) -> None:
        self.write(textwrap.indent(text, "   "))

    async def call(self, tool: str, why: str, /, **args: Any) -> dict[str, Any]:
        self.step += 1
        shown = ", ".join(f"{k}={v!r}" if not isinstance(v, list | dict) else f"{k}=…" for k, v in args.items())
        self.write(f"\n{self.step:>2}. {why}\n   → {tool}({shown})")
        result = await self.mcp.call_tool(tool, args, progress_callback=self._progress)
        text = "".join(c.text for c in result.content if isinstance(c, types.TextContent))
        self.sizes[tool] = max(self.sizes.get(tool, 0), len(text.encode()))
        if result.is_error:
            raise RuntimeError(f"{tool} failed: {text}")
        return result.structured_content or {}

    async def _progress(self, progress: float, total: float | None, message: str | None) -> None:
        self.say(f"… {message or progress}")


def _confirming_person(write: Write) -> Callable[..., Any]:
    """The elicitation callback: show the question as a person would see it, then say yes."""

    async def answer(context: ClientRequestContext, params: types.ElicitRequestParams) -> types.ElicitResult:
        message = getattr(params, "message", "")
        if isinstance(params, types.ElicitRequestURLParams):
            # The client opens the approval page for the person (URL elicitation ranks before a form question).
            write(textwrap.indent(f"? The client opens the approval page:\n  {message}\n✓ They approve there.", "   "))
            await _approve_on_page(params.url)
            return types.ElicitResult(action="accept")
        write(
            textwrap.indent(f"? The server asks the person:\n{textwrap.indent(message, '  ')}\n✓ They confirm.", "   ")
        )
        return types.ElicitResult(action="accept", content={"confirm": True})

    return answer


async def _approve_on_page(url: str) -> None:
    """What the person's browser does on the approval page: open it (its cookie and form value), press Approve."""
    async with httpx2.AsyncClient(timeout=10) as http:
        page = await http.get(url)
        found = re.search(r"name='secret' value='([^']+)'", page.text)
        if found is None:
            raise RuntimeError(f"The approval page at {url} showed no answer form (HTTP {page.status_code}).")
        parts = urlsplit(url)
        await http.post(
            url,
            data={"secret": found.group(1), "answer": "approve"},
            headers={"origin": f"{parts.scheme}://{parts.netloc}"},
            follow_redirects=True,
        )


def server_on_sandbox(sandbox: SandboxSettings) -> KupeServer:
    """Every toolset on a fresh in-process sandbox, with the demo key; calling hours off, so it works at any hour.

    Approval proof is ``client``: the tour's person answers in-band, and nothing here can ring a phone (the transport
    is the in-process sandbox), which is the case ``--sandbox`` makes ``client`` the default for.
    """
    app = create_app(sandbox)
    # Calling hours are a rule for real calls; a passkey is the proof for real calls.
    settings = Settings(toolsets=("all",), calling_hours="off", approval_proof="client")
    client = build_client(
        settings.model_copy(
            update={
                "base_url": "http://sandbox.kupe.local",
                "credentials": Credentials(api_key=SecretStr(DEMO_API_KEY)),
            }
        ),
        transport=httpx2.ASGITransport(app=app),
    )
    return create_server(settings, client)


async def run_demo(write: Write, *, call_step_s: float = 0.5) -> dict[str, int]:
    """The tour, start to finish, on a fresh in-process sandbox; returns each tool's largest result in bytes."""
    # Request lines from httpx2 would drown the tour (and carry the callee's number).
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    server = server_on_sandbox(SandboxSettings(call_step_s=call_step_s))
    write("kupe-app-mcp demo — a real MCP client drives the server on the embedded Kupe sandbox (nothing is dialled)")
    async with Client(server, elicitation_callback=_confirming_person(write)) as mcp:
        tour = Tour(mcp, write)
        me = await tour.call("whoami", "Check who the server acts as")
        tour.say(f"user {me.get('email')} ({me.get('auth')})")

        models = await tour.call("list_providers", "Read the LLM catalog", kind="model", page_size=5)
        tour.say("models: " + ", ".join(str(r.get("model_name")) for r in models["items"]))

        agent = await tour.call("create_agent", "Create and configure a voice agent", **AGENT)
        agent_id = agent["agent"]["id"]
        config = agent["configurations"]
        tour.say(
            f"agent {agent_id}: {config['model_config']['model_name']}, "
            f"voice {config['tts_config']['voice_name']} ({config['tts_config']['tts_model_name']})"
        )

        uploaded = await tour.call(
            "upload_knowledge_file", "Upload the clinic's FAQ", content=FAQ, filename="acme-dental-faq.md"
        )
        file_id = uploaded["id"]
        tour.say(f"file {file_id}")
        await tour.call("attach_knowledge_file", "Let the agent search it", agent_id=agent_id, file_id=file_id)
        found = await tour.call(
            "search_knowledge", "Search as the agent would", agent_id=agent_id, query="how much is a cleaning"
        )
        for hit in found["hits"][:2]:
            tour.say(f"hit: {hit['text'][:100].strip()}…")

        lines = await tour.call("list_phone_numbers", "List the account's phone lines")
        line = lines["items"][0]
        tour.say(f"line {line['phone_number']} ({line['id']})")
        await tour.call(
            "map_phone", "Route inbound calls on it to the agent", phone_number_id=line["id"], agent_id=agent_id
        )

        started = await tour.call(
            "place_call",
            "Place an outbound call (the person confirms first)",
            agent_id=agent_id,
            phone_number_id=line["id"],
            **CALL,
        )
        request_id = started["request_id"]
        tour.say(f"placed: request_id {request_id}")
        outcome = await tour.call("wait_for_call", "Follow it to its outcome", request_id=request_id, timeout_s=60)
        tour.say(f"status {outcome.get('status')}, duration {outcome.get('duration')}s")
        tour.say("summary: " + str(outcome.get("summary")))
        transcript = await tour.call("get_call_transcript", "Read the transcript", request_id=request_id)
        for line_text in transcript["lines"][:6]:
            tour.say(line_text)
        calls = await tour.call("get_call_analytics", "List recent calls")
        tour.say(f"{calls['total']} call(s) in the log")

        batch = await tour.call(
            "create_batch",
            "Create a three-number campaign",
            name=CAMPAIGN,
            phone_number_id=line["id"],
            agent_id=agent_id,
            variable_names=["name", "date"],
        )
        batch_id = batch["id"]
        added = await tour.call(
            "add_batch_recipients",
            "Add recipients (every number is checked)",
            batch_id=batch_id,
            recipients=RECIPIENTS,
        )
        tour.say(f"submitted {added.get('submitted')}, rejected {len(added.get('rejected') or [])}")
        await tour.call("start_batch", "Start the campaign (the person confirms first)", batch_id=batch_id)
        final = await tour.call("wait_for_batch", "Follow the campaign to the end", batch_id=batch_id, timeout_s=120)
        tour.say(f"batch {final.get('status')}: {json.dumps(final.get('status_counts'))}")
        rows = await tour.call("list_batch_recipients", "Who was reached", batch_id=batch_id)
        tour.say(", ".join(f"{r['to_phonenumber']} {r['status']}" for r in rows["items"]))
        catalog = await tour.call("list_providers", "Read the whole catalog", kind="all")
        tour.say(f"{catalog['total']} catalog rows, {len(catalog['items'])} on this page")
    await server.runtime.aclose()  # the approval page's listener outlives the connection
    write("\nDone. Try it yourself: `make run` and connect any MCP client.")
    return tour.sizes


def main() -> int:
    """Run the tour, printing to stdout."""

    def write(text: str) -> None:
        print(text, flush=True)

    try:
        anyio.run(run_demo, write)
    except RuntimeError as exc:
        print(f"demo stopped: {exc}", file=sys.stderr)
        return 1
    return 0
