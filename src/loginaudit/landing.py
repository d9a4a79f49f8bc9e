"""The landing page at `/` and the raw spec files at `/specs/<file>`."""

from __future__ import annotations

import html
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .mocking.journal import JOURNAL
from .quickstart import card
from .registry import ROUTED, spec_dir
from .storage import current


def _quickstart(root: str) -> str:
    """Per vendor: its credentials and a curl line to copy; the store's counts and clock; the journal."""
    with current().session() as s:
        store_card = card(s, root)
    blocks = []
    for c in store_card.vendors:
        creds = "".join(f"<tr><td>{html.escape(kind)}</td><td><code>{html.escape(secret)}</code></td></tr>"
                        for kind, secret in c.credentials)
        example = f"<pre>{html.escape(c.example)}</pre>" if c.example else ""
        mounts = "".join(f"<p><code>{html.escape(root + api.base_path)}</code> · "
                         f"<a href='{api.base_path}/ui/'>docs</a></p>" for api in c.vendor.apis)
        blocks.append(f"<section id='{c.vendor.name}'><h3>{html.escape(c.vendor.title)}</h3>{mounts}"
                      f"<table border='1' cellpadding='3'>{creds}</table>{example}</section>")
    n = store_card.counts
    clock_note = " (frozen)" if store_card.frozen else ""
    recent = "".join(f"<li><code>{html.escape(e.method)} {html.escape(e.path)}</code> → {e.status} "
                     f"({html.escape(e.vendor or 'other')})</li>" for e in JOURNAL.entries(None, 10))
    return (f"<h2>The store</h2><p id='store'>{n['tenants']} tenants, {n['people']} people, {n['credentials']} "
            f"credentials, {n['login_events']:,} events, {n['api_tokens']} tokens; clock "
            f"{html.escape(store_card.now.isoformat(timespec='seconds'))}{clock_note}</p>"
            f"<h2>Try it</h2>{''.join(blocks)}"
            f"<h2>Last requests</h2><ul id='journal'>{recent or '<li>none yet</li>'}</ul>")


def _page(root: str) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(v.name)}</td><td>{html.escape(v.title)}</td>"
        f"<td><code>{html.escape(v.base_path)}</code></td>"
        f'<td><a href="{v.base_path}/ui/">docs</a></td>'
        f'<td><a href="{v.base_path}/openapi.json">openapi.json</a></td>'
        f'<td><a href="/specs/{v.spec_file}">{v.spec_file}</a>'
        + (" (client documents: " + ", ".join(f'<a href="/specs/{c}">{c}</a>' for c in v.client_specs) + ")"
           if v.client_specs else "")
        + "</td></tr>"
        for v in ROUTED
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>loginaudit</title></head><body>"
        "<h1>loginaudit</h1><p>Stateful emulators of vendor login-audit APIs over one shared store.</p>"
        "<table border='1' cellpadding='4'><tr><th>vendor</th><th>API</th><th>base path</th>"
        f"<th colspan='3'>documents</th></tr>{rows}</table>{_quickstart(root)}</body></html>"
    )


def install(app: Any) -> None:
    files = {f for v in ROUTED for f in (v.spec_file, *v.client_specs)}

    async def index(request: Request) -> Response:
        root = f"{request.url.scheme}://{request.url.netloc}"
        return Response(_page(root), 200, {"Content-Type": "text/html; charset=utf-8"})

    async def spec(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in files:
            return Response("not found", 404, {"Content-Type": "text/plain; charset=utf-8"})
        text = (spec_dir() / name).read_text(encoding="utf-8")
        return Response(text, 200, {"Content-Type": "application/yaml"})

    async def favicon(request: Request) -> Response:
        """Browsers ask for it on the landing page: nothing to show, and no problem document."""
        return Response(b"", 204)

    app.add_url_rule("/", "landing", index)
    app.add_url_rule("/favicon.ico", "favicon", favicon)
    app.add_url_rule("/specs/{name}", "spec_file", spec)
