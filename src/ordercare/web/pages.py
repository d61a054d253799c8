"""One HTML page, as both the customers' pages and the agents' console serve them."""

from __future__ import annotations

import html

from fastapi.responses import HTMLResponse


def page(title: str, body: str, style: str, lang: str = "en", header: str = "") -> HTMLResponse:
    """A whole page: ``title`` (escaped) as its title and heading, ``header`` (HTML) above the
    heading, then ``body`` (HTML, escaped by the caller)."""
    return HTMLResponse(
        f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{style}</style></head>"
        f"<body>{header}<h1>{html.escape(title)}</h1>{body}</body></html>")
