"""The dashboard's FastAPI app: server-rendered pages, their JSON API and the static files they use.

Mounted by Airflow's api-server under :data:`~invoice_hub.dashboard.URL_PREFIX`; every route needs
Airflow's login (see :mod:`invoice_hub.dashboard.access`). Pages and API answer errors in their
own way: the API with JSON (``{"detail": ...}``, as Airflow's API), pages with a page, and a page
without a session links to Airflow's login.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from invoice_hub.dashboard import api, pages
from invoice_hub.dashboard.access import UserDep, login_url
from invoice_hub.dashboard.templating import render

STATIC = Path(__file__).with_name("static")
_STATIC_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}

#: The pages' own policy: their script and style only (no inline script), frames and objects only
#: from here (the PDF viewer), embeddable by Airflow's UI (same origin) and nothing else.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'self'; frame-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'self'"
)


def create_app() -> FastAPI:
    app = FastAPI(title="invoice hub dashboard", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(api.router, prefix="/api")
    app.include_router(pages.router)

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str, user: UserDep) -> Response:
        path = STATIC / name
        if path.suffix not in _STATIC_TYPES or path.parent != STATIC or not path.is_file():
            raise HTTPException(404, f"no static file {name!r}")
        return Response(path.read_bytes(), media_type=_STATIC_TYPES[path.suffix])

    @app.middleware("http")
    async def headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Content-Security-Policy", PAGE_POLICY)
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Cache-Control", "private, no-store")
        return response

    @app.exception_handler(StarletteHTTPException)
    async def errors(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        login = login_url(request) if exc.status_code == 401 else None
        titles = {401: "not logged in", 403: "not allowed", 404: "not found"}
        return render(
            request,
            "error.html",
            {
                "status_code": exc.status_code,
                "title": titles.get(exc.status_code, "error"),
                "detail": exc.detail,
                "login": login,
            },
            status_code=exc.status_code,
        )

    return app


def _wants_json(request: Request) -> bool:
    return "/api/" in request.url.path or "application/json" in request.headers.get("accept", "")
