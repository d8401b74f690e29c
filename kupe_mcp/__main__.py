"""The ``kupe-app-mcp`` command: serve MCP (stdio or HTTP), or run the Kupe sandbox API alone.

stdout belongs to the stdio protocol: every human-readable line goes to stderr.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from kupe_mcp import __version__
from kupe_mcp.errors import ConfigError

if TYPE_CHECKING:
    from kupe_mcp.config import Setting

__all__ = ["main"]

SANDBOX_BASE_URL = "http://sandbox.kupe.local"
COMMANDS = ("serve", "sandbox-api", "demo", "install", "passkey")


def _serve_parser(parser: argparse.ArgumentParser) -> None:
    """One flag per row of the settings table that has one; its help says the variable and the default."""
    from kupe_mcp.config import SETTINGS

    for row in SETTINGS:
        if row.flag is None:
            continue
        where = [f"env {row.env}"] if row.env else []
        if row.default or row.shown_default:
            where.append(f"default {row.shown_default or row.default}")
        text = row.plain_meaning.replace("%", "%%") + (f" ({'; '.join(where)})" if where else "")
        if row.kind == "bool":
            parser.add_argument(row.flag, action="store_true", default=None, help=text)
        elif row.field is None:  # a CLI-only option: argparse parses it with the row's reader
            parser.add_argument(
                row.flag, type=functools.partial(_cli_value, row), default=row.read(row.default), help=text
            )
        else:  # read by Settings.from_env, so its error names the flag
            parser.add_argument(row.flag, dest=row.field, default=None, metavar=row.flag.lstrip("-").upper(), help=text)


def settings_help(width: int = 100) -> str:
    """Every row of the settings table for ``serve --help``: variable, flag, default, meaning."""
    import textwrap

    from kupe_mcp.config import SETTINGS

    lines = [
        "settings (environment variable, flag, default; a flag wins over its variable, an empty variable is unset):"
    ]
    for row in SETTINGS:
        names = ", ".join(name for name in (row.env, row.flag) if name)
        default = (row.shown_default or row.default).replace("`", "").replace("— ", "none ")
        head = f"{names}" + (f"  (default: {default})" if default else "") + ("  (secret)" if row.secret else "")
        lines += textwrap.wrap(head, width, initial_indent=" " * 2, subsequent_indent=" " * 6)
        lines += textwrap.wrap(row.plain_meaning, width, initial_indent=" " * 6, subsequent_indent=" " * 6)
    lines += ["", "The Kupe API key is read from the environment only: KUPE_API_KEY=<key> kupe-app-mcp"]
    return "\n".join(lines)


def _cli_value(row: Setting, raw: str) -> Any:
    try:
        return row.read(raw, row.flag)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


class _Parser(argparse.ArgumentParser):
    """A parser whose epilog is written only when help is shown (``serve``'s lists every setting)."""

    def __init__(self, *args: Any, epilog_from: Callable[[], str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.epilog_from = epilog_from

    def format_help(self) -> str:
        if self.epilog_from is not None:
            self.epilog = self.epilog_from()
        return super().format_help()


def _parser(*, serve_only: bool = False) -> argparse.ArgumentParser:
    """The command line; ``serve_only`` leaves out the other commands (and their imports) when serving."""
    parser = argparse.ArgumentParser(
        prog="kupe-app-mcp",
        description="MCP server for the Kupe App voice-agent platform (api.kupe.in).",
        epilog="Serving is the default command. Pass the Kupe API key in the environment:\n"
        "  KUPE_API_KEY=<key> kupe-app-mcp\n"
        "or try it without one: kupe-app-mcp --sandbox. `kupe-app-mcp serve --help` lists every setting\n"
        "with its environment variable, flag and default.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"kupe-app-mcp {__version__}")
    # The metavar names every command even when only serve's parser is built.
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="{" + ",".join(COMMANDS) + "}")
    _serve_parser(
        sub.add_parser(
            "serve",
            help="serve MCP (the default command)",
            epilog_from=settings_help,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
    )
    if serve_only:
        return parser
    sandbox = sub.add_parser("sandbox-api", help="serve the embedded Kupe sandbox REST API alone")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8766)
    sandbox.add_argument("--db", default=":memory:", help="SQLite file to persist state (default: in memory)")
    sandbox.add_argument("--call-step-s", type=float, default=2.0, help="seconds per simulated call status step")
    sub.add_parser("demo", help="a scripted tour through a real MCP client against the embedded sandbox")
    from kupe_mcp.dist.install import add_install_parser

    add_install_parser(sub)
    from kupe_mcp.dist.passkey import add_passkey_parser

    add_passkey_parser(sub)
    return parser


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    argv = list(argv)
    if not argv or argv[0] not in {*COMMANDS, "-h", "--help", "--version"}:
        argv.insert(0, "serve")
    return _parser(serve_only=argv[0] == "serve").parse_args(argv)


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        stream=sys.stderr,
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx2 logs full URLs at INFO; create_call's carries the callee's number.
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    # sse_starlette logs every SSE chunk, i.e. every tool result, at DEBUG: results are the person's
    # data (numbers, transcripts, a new key's secret), not the operator's log.
    logging.getLogger("sse_starlette").setLevel(logging.INFO)
    logging.getLogger("mcp.server.streamable_http").addFilter(_stateless_noise)
    from kupe_mcp.text.redact import install

    install()


def _stateless_noise(record: logging.LogRecord) -> bool:
    """The SDK logs ``Terminating session: None`` at INFO after every stateless request: a DEBUG line, not news."""
    if record.levelno == logging.INFO and record.getMessage() == "Terminating session: None":
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``kupe-app-mcp`` console script; returns the exit status."""
    args = _parse(sys.argv[1:] if argv is None else argv)
    try:
        if args.command == "demo":
            from kupe_mcp.dist.demo import main as demo

            return demo()
        if args.command == "install":
            from kupe_mcp.dist.install import run_install

            return run_install(args)
        if args.command == "passkey":
            from kupe_mcp.dist.passkey import run_passkey

            return run_passkey(args)
        if args.command == "sandbox-api":
            return _sandbox_api(args)
        return _serve(args)
    except ConfigError as exc:
        print(f"kupe-app-mcp: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _sandbox_api(args: argparse.Namespace) -> int:
    _configure_logging("INFO")
    from kupe_mcp.sandbox import SandboxSettings, serve

    serve(host=args.host, port=args.port, settings=SandboxSettings(db_path=args.db, call_step_s=args.call_step_s))
    return 0


def sandboxed_hours(settings: Any) -> Any:
    """With --sandbox nothing is dialled: calling hours are still evaluated, as notes saying what would be refused."""
    return settings.model_copy(update={"calling_hours_advisory": True}) if settings.sandbox else settings


def _serve(args: argparse.Namespace) -> int:
    from kupe_mcp.config import SETTINGS, Settings, unknown_variables

    for line in unknown_variables(os.environ):
        print(f"kupe-app-mcp: warning: {line}", file=sys.stderr, flush=True)

    cli = {row.field: getattr(args, row.field, None) for row in SETTINGS if row.flag and row.field}
    settings = sandboxed_hours(Settings.from_env(os.environ, cli=cli))
    _configure_logging(settings.log_level)
    http = args.transport == "http"
    multi_tenant = http and not settings.credentials and not settings.sandbox
    if not settings.credentials and not settings.sandbox and not http:
        raise ConfigError(
            "No Kupe credentials: set KUPE_API_KEY (or KUPE_BEARER_TOKEN), "
            "or pass --sandbox to try the embedded sandbox."
        )
    # The port is bound first: a taken one is said before anything starts (and closed if anything else fails).
    listening = listen(args.host, args.port) if http else None
    try:
        store = _state_store(settings, "http" if http else "stdio")
        client = _client(settings)
        from kupe_mcp.serve.server import create_server

        server = create_server(settings, client, multi_tenant=multi_tenant, state=store)
        # With fixed credentials, a wrong KUPE_BASE_URL or key is said at start-up, not as "404" on the first call.
        check = client.check_backend() if not settings.sandbox and not multi_tenant else None
        import anyio

        if listening is None:
            anyio.run(_run_stdio, server, check)
            return 0
        from kupe_mcp.serve.transports import http_app

        app = http_app(server, settings, host=args.host, multi_tenant=multi_tenant)
        port = listening.getsockname()[1]  # --port 0 takes a free one: say which
        anyio.run(
            _run_http, app, listening, lambda: _print_connect_help(args.host, port, settings, multi_tenant), check
        )
        return 0
    finally:
        if listening is not None:
            listening.close()


def listen(host: str, port: int) -> Any:
    """A socket bound to ``host:port`` for uvicorn, or ConfigError saying in one sentence what to do instead.

    Bound here rather than by uvicorn, whose refusal is a bare ``[Errno 98]`` after the app has started.
    """
    import errno
    import socket

    def bound(at: int) -> socket.socket:
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host.strip("[]"), at))
        except BaseException:
            sock.close()
            raise
        return sock

    try:
        sock = bound(port)
    except OSError as exc:
        if exc.errno == errno.EADDRNOTAVAIL or isinstance(exc, socket.gaierror):
            raise ConfigError(
                f"{host} is not an address of this machine: choose one with --host (e.g. 127.0.0.1, or 0.0.0.0 for "
                "every interface; make run HOST=…)."
            ) from None
        free = next((p for p in range(port + 1, min(port + 21, 65536)) if _free(bound, p)), None)
        other = f"--port {free} (make run PORT={free})" if free else "another --port (make run PORT=…)"
        if exc.errno == errno.EACCES:
            raise ConfigError(
                f"Port {port} on {host} needs privileges this user does not have: choose {other}."
            ) from None
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"Port {port} on {host} is already in use, perhaps by another kupe-app-mcp: stop it or choose {other}."
            ) from None
        raise ConfigError(f"Cannot listen on {host} port {port} ({exc.strerror}): choose {other}.") from None
    sock.set_inheritable(True)
    return sock


def _free(bound: Callable[[int], Any], port: int) -> bool:
    try:
        bound(port).close()
    except OSError:
        return False
    return True


def _state_store(settings: Any, transport: Any) -> Any:
    """Where call-safety state lives: KUPE_STATE_URL, else a SQLite file for stdio and memory for HTTP.

    The embedded sandbox forgets everything when it stops, so with --sandbox the default is memory too.
    Raises ConfigError (start-up refuses) for a shared store without KUPE_STATE_SECRET.
    """
    from kupe_mcp.safety.state import default_state_url, open_store

    url = settings.state_url or ("memory:" if settings.sandbox else default_state_url(transport, os.environ))
    store = open_store(
        url, secret_set=settings.state_secret is not None, retention_days=settings.approval_retention_days
    )
    logging.getLogger("kupe_mcp").info("Call-safety state: %s", store.describe())
    return store


def _client(settings: Any) -> Any:
    """The Kupe client: against the in-process sandbox with --sandbox, else against KUPE_BASE_URL."""
    from kupe_mcp.serve.server import build_client

    if not settings.sandbox:
        return build_client(settings)
    import httpx2
    from pydantic import SecretStr

    from kupe_mcp.config import Credentials
    from kupe_mcp.sandbox import DEMO_API_KEY, SandboxSettings, create_app

    sandboxed = settings.model_copy(
        update={"base_url": SANDBOX_BASE_URL, "credentials": Credentials(api_key=SecretStr(DEMO_API_KEY))}
    )
    logging.getLogger("kupe_mcp").info("Using the embedded Kupe sandbox (nothing is dialled, no account needed).")
    return build_client(sandboxed, transport=httpx2.ASGITransport(app=create_app(SandboxSettings())))


async def _run_stdio(server: Any, check: Any = None) -> None:
    """Serve over stdio; ``check`` (the start-up check) runs beside it just after the opening requests, so its
    verdict is logged at start without delaying ``initialize``."""
    import anyio

    # The server's lifespan (Runtime.serving) releases the Kupe client and the state store when stdio ends;
    # the approval page's listener outlives connections, so it stops here, with the process.
    try:
        async with anyio.create_task_group() as tasks:
            if check is not None:
                tasks.start_soon(_check_after_opening, check)
            await server.run_stdio_async()
            tasks.cancel_scope.cancel()
    finally:
        await server.runtime.aclose()


# How long the start-up check waits on stdio: a client opens with initialize and the lists in the first
# fraction of a second, and building the HTTP client (TLS trust store, connection pool) would delay them.
_CHECK_AFTER_S = 0.5


async def _check_after_opening(check: Any) -> None:
    """The start-up check, once the client's opening requests are answered.

    A tool call that comes sooner does not wait for this: the client's gate runs the check itself first.
    """
    import anyio

    await anyio.sleep(_CHECK_AFTER_S)
    await check.problem()


async def _run_http(app: Any, sock: Any, announce: Any, check: Any = None) -> None:
    """Serve on the bound ``sock`` until interrupted; ``announce`` runs once uvicorn has started.

    The app's lifespan closes the Kupe client. ``check`` (the start-up check) runs at once beside it.
    """
    import anyio
    import uvicorn

    if check is not None:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(check.problem)
            await _run_http(app, sock, announce)
            tasks.cancel_scope.cancel()
        return

    class Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            if self.started:
                announce()

    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
    await Server(config).serve(sockets=[sock])


def _print_connect_help(host: str, port: int, settings: Any, multi_tenant: bool) -> None:
    url = f"http://{host}:{port}/mcp"
    import shlex

    from kupe_mcp.dist.install import claude_code_add_http, mcp_remote_config
    from kupe_mcp.text.redact import redact_url

    backend = "the embedded Kupe sandbox" if settings.sandbox else redact_url(settings.base_url)
    oauth = multi_tenant and settings.oauth and not settings.mcp_token
    public = f"{settings.approval_base_url}/mcp" if oauth and settings.approval_base_url else url
    lines = [
        f"kupe-app-mcp {__version__}: MCP over streamable HTTP at {url} (Kupe backend: {backend})",
        "",
        "Connect with:",
    ]
    if oauth:
        lines += [
            f"  Claude Code:    {shlex.join(claude_code_add_http('kupe', public))}   "
            "then /mcp, pick kupe, Authenticate",
            f"  VS Code:        code --add-mcp '{json.dumps({'name': 'kupe', 'type': 'http', 'url': public})}'",
            f"  Cursor:         ~/.cursor/mcp.json {json.dumps({'mcpServers': {'kupe': {'url': public}}})}",
            "  Claude Desktop (claude_desktop_config.json):",
            "    " + json.dumps(mcp_remote_config("kupe", public)),
            f"  claude.ai / ChatGPT: a custom connector with the URL {public} (they connect from the internet: "
            "it must be public https)",
            f"  MCP Inspector:  npx @modelcontextprotocol/inspector  (transport 'Streamable HTTP', URL {public})",
            "Each opens a browser page of this server where the person signs in once with their Kupe App API key",
            "(Kupe App dashboard: Settings -> API keys). Clients that can set headers may send x-api-key instead.",
        ]
        if not settings.approval_base_url and not is_loopback_host(host):
            lines.append(
                "Behind a proxy or on a real hostname, set KUPE_APPROVAL_BASE_URL=https://<that host> so sign-in "
                "links and the OAuth issuer name it."
            )
    else:
        lines += [
            f"  MCP Inspector:  npx @modelcontextprotocol/inspector  (transport 'Streamable HTTP', URL {url})",
            f"  Claude Code:    {shlex.join(claude_code_add_http('kupe', url))}",
            "  Claude Desktop (claude_desktop_config.json):",
            "    " + json.dumps(mcp_remote_config("kupe", url)),
        ]
    if multi_tenant and not oauth:
        lines.append(
            "No server credentials: each client must send its own Kupe key as the x-api-key header "
            "(or as Authorization: Bearer <key>)."
        )
    elif settings.mcp_token:
        lines.append("Clients must send KUPE_MCP_TOKEN as 'Authorization: Bearer <token>'.")
    print("\n".join(lines), file=sys.stderr, flush=True)


def is_loopback_host(host: str) -> bool:
    from kupe_mcp.serve.transports import is_loopback

    return is_loopback(host)


if __name__ == "__main__":
    sys.exit(main())
