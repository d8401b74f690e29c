"""Assemble the Starlette app: routes from each area, auth and fault middleware, JSON errors."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import _routes_account, _routes_calls, _routes_core, _routes_extras, _routes_knowledge
from ._config import SandboxSettings
from ._middleware import AuthMiddleware, FaultMiddleware
from ._seed import seed
from ._state import Sandbox


async def health(request: Request) -> Response:
    """Public readiness probe with Kupe's shape; ``sandbox: true`` lets clients tell they're not in production."""
    sandbox: Sandbox = request.app.state.sandbox
    return JSONResponse(
        {
            "status": "healthy",
            "timestamp": sandbox.now(),
            "service": "milli-ai-backend",
            "database": "connected",
            "version": "1.0.0",
            "sandbox": True,
        }
    )


async def platform_status(request: Request) -> Response:
    return JSONResponse({"status": "running", "message": "Kupe voice platform (sandbox) is running"})


async def _http_error(request: Request, exc: Exception) -> Response:
    """Router 404/405s as FastAPI renders them: ``{"detail": "Not Found"}``."""
    assert isinstance(exc, HTTPException)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def _server_error(request: Request, exc: Exception) -> Response:
    return JSONResponse({"detail": "Internal Server Error"}, status_code=500)


def create_app(settings: SandboxSettings | None = None) -> Starlette:
    """A fresh, seeded sandbox app; its state object is ``app.state.sandbox``."""
    sandbox = Sandbox(settings or SandboxSettings())
    seed(sandbox)
    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/api/call/", platform_status, methods=["GET"]),
        *_routes_core.routes.routes,
        *_routes_calls.routes.routes,
        *_routes_knowledge.routes.routes,
        *_routes_account.routes.routes,
        *_routes_extras.routes.routes,
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(FaultMiddleware, sandbox=sandbox),
            Middleware(AuthMiddleware, sandbox=sandbox),
        ],
        exception_handlers={HTTPException: _http_error, 500: _server_error},
    )
    app.state.sandbox = sandbox
    return app
