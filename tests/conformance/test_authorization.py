"""The conformance suite's authorization-server scenarios against kupe-app-mcp's own OAuth server (issue 17).

`conformance authorization --url <issuer> --client-id <id> --resource <MCP URL> --port <p>` runs two scenarios:

- `authorization-server-metadata-endpoint`: GET `<issuer>/.well-known/oauth-authorization-server` must be 200 JSON
  whose `issuer` is exactly `--url`, with `authorization_endpoint`, `token_endpoint`, `response_types_supported`
  holding `code` and `code_challenge_methods_supported` holding `S256` (a warning without
  `client_id_metadata_document_supported: true`);
- `authorization-code-grant`: the suite listens on `http://127.0.0.1:<p>/callback`, prints an authorization URL (PKCE
  S256, `state`, `redirect_uri` that callback, `resource` = `--resource`) and waits up to five minutes for the browser
  to arrive there. It then redeems the code at the token endpoint (`client_id` in the body for a public client, with
  `code_verifier`, `redirect_uri` and `resource`) and needs 200, JSON, `Cache-Control: no-store`, `access_token` and
  `token_type`; an `iss` in the callback must equal the issuer.

So the test registers the suite's callback as a public client by Dynamic Client Registration, plays the person in the
browser (the sign-in page's form, with the sandbox's demo key) and delivers the redirect to the suite's callback
server. The server is multi-tenant HTTP (no key of its own), where OAuth is on; until issue 17 lands there is no
authorization server and the test skips.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx2
import pytest

from kupe_mcp.sandbox import DEMO_API_KEY, SandboxServer, SandboxSettings
from tests._node import node_binary
from tests.conformance import TOOLS, serving, suite_script
from tests.e2e.test_cli import free_port

pytestmark = pytest.mark.skipif(not TOOLS, reason="KUPE_NODE_TOOLS is unset (make test sets it)")

SCENARIOS = {"authorization-server-metadata-endpoint", "authorization-code-grant"}


class SignInForm(HTMLParser):
    """The sign-in page's form as a browser sees it: where it posts, its hidden fields, the key field, the first
    submit button (the primary action)."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}
        self.key_field = ""
        self.submit: tuple[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and not self.action:
            self.action = a.get("action", "")
        elif tag == "input" and a.get("type") == "hidden" and a.get("name"):
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "input" and a.get("type") == "password" and not self.key_field:
            self.key_field = a.get("name", "")
        elif tag == "button" and a.get("type", "submit") == "submit" and self.submit is None and a.get("name"):
            self.submit = (a["name"], a.get("value", ""))


def person_signs_in(authorization_url: str, key: str) -> str:
    """Open the authorization URL, sign in on the page with ``key``; the redirect back to the client (not followed)."""
    with httpx2.Client(timeout=15) as browser:
        url, page = authorization_url, browser.get(authorization_url)
        while page.status_code in (302, 303):
            url = urljoin(url, page.headers["location"])
            page = browser.get(url)
        assert page.status_code == 200, page.text[:2000]
        form = SignInForm()
        form.feed(page.text)
        assert form.key_field, f"no key field on the sign-in page:\n{page.text[:2000]}"
        data = {**form.fields, form.key_field: key, **dict([form.submit] if form.submit else [])}
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        answer = browser.post(urljoin(url, form.action or url), data=data, headers={"origin": origin})
        assert answer.status_code in (302, 303), answer.text[:2000]
        return str(answer.headers["location"])


def register_public_client(registration_endpoint: str, redirect_uri: str) -> str:
    """Dynamic Client Registration (RFC 7591) of the suite as a public client with PKCE; its client_id."""
    registered = httpx2.post(
        registration_endpoint,
        json={
            "client_name": "MCP conformance suite",
            "redirect_uris": [redirect_uri],
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        },
        timeout=15,
    )
    assert registered.status_code == 201, registered.text
    client_id: str = registered.json()["client_id"]
    return client_id


def lines_of(proc: subprocess.Popen[str]) -> tuple[queue.Queue[str], threading.Thread]:
    """The process's stdout, line by line, read on a thread (a plain readline could wait for ever)."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        with proc.stdout:
            for line in proc.stdout:
                lines.put(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    return lines, reader


def wait_for_line(lines: queue.Queue[str], prefix: str, seen: list[str], timeout_s: float = 60) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5).strip()
        except queue.Empty:
            continue
        seen.append(line)
        if line.startswith(prefix):
            return line
    raise AssertionError(f"the suite printed no line starting {prefix!r}:\n" + "\n".join(seen[-40:]))


def test_the_oauth_server_passes_the_suites_metadata_and_authorization_code_scenarios(tmp_path: Path) -> None:
    tools = Path(str(TOOLS))
    out = tmp_path / "results"
    with (
        SandboxServer(SandboxSettings(call_step_s=0)) as kupe_api,
        serving(tmp_path / "server.log", KUPE_BASE_URL=kupe_api.base_url) as mcp_url,
    ):
        issuer = mcp_url.removesuffix("/mcp")
        found = httpx2.get(f"{issuer}/.well-known/oauth-authorization-server", timeout=15)
        if found.status_code in (401, 404):
            pytest.skip(
                f"no OAuth authorization server (its metadata answers {found.status_code}): issue 17 adds one, and "
                "then this test runs the suite's authorization scenarios"
            )
        metadata = found.json()
        port = free_port()
        client_id = register_public_client(metadata["registration_endpoint"], f"http://127.0.0.1:{port}/callback")
        proc = subprocess.Popen(  # noqa: S603
            [
                str(node_binary(tools)), str(suite_script(tools)), "authorization",
                "--url", issuer, "--client-id", client_id, "--resource", mcp_url,
                "--port", str(port), "-o", str(out),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        seen: list[str] = []
        lines, reader = lines_of(proc)
        try:
            authorization_url = wait_for_line(lines, metadata["authorization_endpoint"] + "?", seen)
            redirect = person_signs_in(authorization_url, DEMO_API_KEY)
            assert redirect.startswith(f"http://127.0.0.1:{port}/callback?"), redirect
            delivered = httpx2.get(redirect, timeout=15)  # the browser arriving at the suite's callback server
            proc.wait(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            reader.join(timeout=30)
    assert delivered.status_code == 200
    checks = {
        path.parent.name.removeprefix("authorization-server-").rsplit("-", 6)[0]: json.loads(path.read_text())
        for path in out.glob("authorization-server-*/checks.json")
    }
    assert set(checks) == SCENARIOS, "\n".join(seen[-40:])
    not_passed = [c for scenario in checks.values() for c in scenario if c["status"] != "SUCCESS"]
    assert not not_passed, json.dumps(not_passed, indent=1)
    assert proc.returncode == 0, "\n".join(seen[-40:])
