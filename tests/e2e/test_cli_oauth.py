"""The command in multi-tenant HTTP mode: OAuth is on by default, and the banner says how each client signs in."""

from __future__ import annotations

import httpx2

from tests.e2e.test_cli import Served


def serve(**env: str) -> tuple[str, dict[str, object], int]:
    """Start ``kupe-app-mcp --transport http`` without credentials; (banner, AS metadata, status of a bare POST)."""
    with Served("--transport", "http", env=env) as served:
        base = f"http://127.0.0.1:{served.port}"
        metadata = httpx2.get(f"{base}/.well-known/oauth-authorization-server", timeout=5)
        bare = httpx2.post(f"{base}/mcp", json={}, timeout=5)
    body = metadata.json() if metadata.status_code == 200 else {}
    return served.err.decode(), body, bare.status_code


def test_a_server_without_credentials_offers_oauth_and_its_banner_gives_the_sign_in_steps() -> None:
    banner, metadata, bare = serve()
    port = str(metadata["issuer"]).rsplit(":", 1)[1]
    url = f"http://127.0.0.1:{port}/mcp"
    assert bare == 401
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert f"claude mcp add --transport http kupe {url}   then /mcp, pick kupe, Authenticate" in banner
    assert "signs in once with their Kupe App API key" in banner
    assert "each client must send its own Kupe key" not in banner


def test_kupe_oauth_off_keeps_the_header_only_banner() -> None:
    banner, metadata, bare = serve(KUPE_OAUTH="off")
    assert metadata == {}
    assert bare == 401
    assert "each client must send its own Kupe key as the x-api-key header" in banner
    assert "signs in once" not in banner
