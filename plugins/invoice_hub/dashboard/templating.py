"""The pages' templates: Jinja2 with autoescaping on everything (partner data is never markup)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from invoice_hub.model import decimal_text

TEMPLATES = Path(__file__).with_name("templates")


def _amount(value: Decimal | None) -> str:
    return "" if value is None else decimal_text(value)


def _when(value: dt.datetime | dt.date | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return value.isoformat()


_environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _basename(path: str | None) -> str:
    return (path or "").rstrip("/").rsplit("/", 1)[-1]


_environment.filters.update(amount=_amount, when=_when, basename=_basename)


def render(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    """``template`` with ``context``, plus ``root`` (the app's URL prefix, for links that work
    wherever Airflow mounts the app) and the user's name when there is one."""
    user = context.get("user")
    page = _environment.get_template(template).render(
        root=request.scope.get("root_path", "").rstrip("/"),
        user_name=user.get_name() if user is not None else "",
        **context,
    )
    return HTMLResponse(page, status_code=status_code)
