"""The console's web app: routes, who is asking, and one way to render a page.

Pages are server-rendered (Jinja2, autoescaped) from *blocks*: facts, tables, charts, logs,
forms, buttons and trusted pictures. ``console.js`` enhances them a little: it draws charts
with Plotly (the copy the ``plotly`` package ships, served from ``/static``: no CDN), follows
logs, refreshes what is live. Every page works without it, but for the charts.

Who asks: a bearer token (``Authorization``) or the cookie ``/login`` sets, checked by
``access.Tokens`` on every request; on loopback with no token set, the local user. A GET
needs ``read``; each POST names its action (``operate``, ``invoke``, ``approve``), and a
principal without it gets 403.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from importlib import resources
from urllib.parse import quote, urlencode

from raymaker.errors import AuthError, RaymakerError

log = logging.getLogger("raymaker.console")
COOKIE = "raymaker_token"
PAGE_SIZE = 50
NAV = [("/", "Home"), ("/jobs", "Jobs"), ("/endpoints", "Endpoints"), ("/models", "Models"),
       ("/pipelines", "Pipelines"), ("/monitors", "Monitors"),
       ("/experiments", "Experiments"), ("/data", "Data")]  # fmt: skip


@dataclass
class Page:
    """What a handler returns: a title, its blocks, and where it sits in the navigation."""

    title: str
    blocks: list[dict] = field(default_factory=list)
    section: str = "/"
    subtitle: str | None = None
    live: str | None = None  # a JSON URL the page polls for its live facts

    def add(self, kind: str, **block) -> Page:
        self.blocks.append({"type": kind, **block})
        return self


@dataclass
class Console:
    """What every handler gets: the session, the index, and who asks."""

    session: object
    index: object
    principal: object = None
    required: bool = False


def date(value) -> str:
    if not value:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(value)))


def duration(seconds) -> str:
    if seconds is None:
        return "-"
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, s = divmod(int(seconds), 60)
    return f"{minutes} min {s} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def cell(value) -> str:
    """A table cell's text: dates stay dates, floats short, lists joined."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.4g}"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={cell(v)}" for k, v in value.items())
    return str(value)


def link(path: str, **params) -> str:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return f"{path}?{query}" if query else path


def q(value) -> str:
    """A path segment, quoted."""
    return quote(str(value), safe="")


def store_href(key: str) -> str:
    """The console's address of a store object (read-only, ``/store/<key>``)."""
    return "/store/" + quote(key, safe="/")


def row_links(block: dict) -> None:
    """Each table row's links, from the block's ``{column: template}``: a template that is a
    whole ``{field}`` takes the row's value as an address; otherwise values are quoted."""
    templates = block.get("links") or {}
    for row in block.get("rows") or []:
        hrefs = {}
        for column, template in templates.items():
            if row.get(column) in (None, "", "-"):
                continue
            whole = template[1:-1] if template.startswith("{") and template.endswith("}") else None
            try:
                hrefs[column] = (
                    str(row[whole])
                    if whole
                    else template.format(
                        **{k: q(v) for k, v in row.items() if not isinstance(v, dict | list)}
                    )
                )
            except (KeyError, IndexError):
                continue
        row["_links"] = hrefs


def _environment():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("raymaker.console", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(date=date, duration=duration, cell=cell, tojson_attr=_json_attr)
    env.globals.update(nav=NAV)
    return env


def _json_attr(value) -> str:
    return json.dumps(value, default=str, separators=(",", ":"))


_env = None


def render(page: Page, console: Console, *, status: int = 200):
    from starlette.responses import HTMLResponse

    global _env
    if _env is None:
        _env = _environment()
    for block in page.blocks:
        if block["type"] == "table":
            row_links(block)
    body = _env.get_template("page.html").render(page=page, who=console.principal)
    return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "same-origin",
    # no inline script and nothing from elsewhere: the pages load /static only. 'unsafe-eval':
    # Plotly's WebGL traces (parallel coordinates) build their shaders with ``new Function``
    "Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-src 'self'",
}


def error_page(exc: RaymakerError, console: Console):
    page = Page(f"{type(exc).__name__}")
    if isinstance(exc, AuthError) and exc.http_status == 401:
        page.add("login", message=str(exc))
    else:
        page.add("error", message=str(exc))
    return render(page, console, status=exc.http_status)


def build(session, *, required: bool, index=None):
    """The Starlette app of one session's store. ``required``: every request needs a token
    (beyond loopback, or when ``RAYMAKER_SERVE_TOKEN`` is set)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, RedirectResponse, Response
    from starlette.routing import Route

    from raymaker.console import routes
    from raymaker.console.index import Index

    session = type(session)(settings=session.settings)  # the console's own, as set below
    session.jobs.start_cluster = False  # looking at a page never starts a Ray head
    index = index or Index(session.store, background=True)
    tokens = session.tokens

    def principal(request: Request):
        header = request.headers.get("authorization")
        if not header and request.cookies.get(COOKIE):
            header = f"Bearer {request.cookies[COOKIE]}"
        return tokens.authenticate(header, required=required)

    def wrap(handler, action: str, kind: str):
        async def endpoint(request: Request):
            import anyio

            console = Console(session, index, required=required)
            try:
                console.principal = principal(request)
                console.principal.require(action)
                if request.method == "POST":
                    _same_origin(request)
                form = await _form(request) if request.method == "POST" else {}
                args = {**request.path_params}
                result = await anyio.to_thread.run_sync(
                    lambda: handler(console, request.query_params, form, **args)
                )
            except RaymakerError as exc:
                if kind == "api":
                    return JSONResponse(exc.to_dict(), status_code=exc.http_status)
                return error_page(exc, console)
            except Exception as exc:  # noqa: BLE001 - a bug: say so, never a stack in the page
                log.exception("console %s %s", request.method, request.url.path)
                err = RaymakerError(f"the console failed on this page ({type(exc).__name__}); "
                                    "the console's log has the details")  # fmt: skip
                if kind == "api":
                    return JSONResponse(err.to_dict(), status_code=500)
                return error_page(err, console)
            if isinstance(result, Page):
                return render(result, console)
            if isinstance(result, Response):
                return result
            if isinstance(result, str) and result.startswith("/"):
                return RedirectResponse(result, status_code=303)
            return JSONResponse(result, headers={"Cache-Control": "no-store"})

        return endpoint

    table = [
        Route(path, wrap(handler, action, kind), methods=[method])
        for method, path, action, kind, handler in routes.ROUTES
    ]

    async def login(request: Request):
        console = Console(session, index, required=required)
        if request.method == "GET":
            return render(Page("Sign in").add("login", message=""), console)
        form = await _form(request)
        token = str(form.get("token") or "").strip()
        try:
            tokens.authenticate(f"Bearer {token}", required=True)
        except AuthError as exc:
            return render(Page("Sign in").add("login", message=str(exc)), console, status=401)
        answer = RedirectResponse(_local_path(str(form.get("next") or "/")), status_code=303)
        answer.set_cookie(COOKIE, token, httponly=True, samesite="strict",
                          secure=request.url.scheme == "https")  # fmt: skip
        return answer

    async def logout(request: Request):
        answer = RedirectResponse("/login", status_code=303)
        answer.delete_cookie(COOKIE)
        return answer

    async def static(request: Request):
        return _static(request.path_params["file"])

    async def report_plotly(request: Request):
        # a store page's Plotly (``assets/plotly.min.js`` beside it): its sandboxed page asks
        # from an opaque origin, which sends no cookie; the library is public, and this is
        # the console's own copy, never the store's bytes
        return _static("plotly.min.js")

    async def ping(request: Request):
        return Response(b"", status_code=200)

    async def favicon(request: Request):
        return Response(b"", status_code=204)

    return Starlette(
        routes=[
            Route("/login", login, methods=["GET", "POST"]),
            Route("/logout", logout, methods=["POST"]),
            Route("/ping", ping),
            Route("/favicon.ico", favicon),
            Route("/static/{file}", static),
            Route("/store/{prefix:path}/plotly.min.js", report_plotly),
            *table,
        ]
    )


async def _form(request) -> dict[str, str]:
    """A posted form (``application/x-www-form-urlencoded``: what the pages send), at most
    1 MB. Raises SpecError."""
    from urllib.parse import parse_qsl

    from raymaker.errors import SpecError

    kind = request.headers.get("content-type", "").split(";")[0].strip()
    body = await request.body()
    if not body:
        return {}
    if kind != "application/x-www-form-urlencoded":
        raise SpecError(f"send the form as application/x-www-form-urlencoded, not {kind!r}")
    if len(body) > 1 << 20:
        raise SpecError("the form is over 1 MB")
    return dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))


def _same_origin(request) -> None:
    """A form posted from another site (the cookie is SameSite=Strict; this is the second
    lock). Raises AuthError."""
    from urllib.parse import urlsplit

    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.url.netloc:
        raise AuthError(f"a form from {origin} may not act on this console")


def _local_path(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else "/"


_STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


def _static(name: str):
    from starlette.responses import Response

    headers = {"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"}
    if name == "plotly.min.js":  # the copy the plotly package ships: no CDN, works offline
        from plotly.offline import get_plotlyjs

        return Response(get_plotlyjs(), media_type="text/javascript", headers=headers)
    suffix = name[name.rfind(".") :] if "." in name else ""
    if suffix not in _STATIC_TYPES or "/" in name:
        return Response(b"not found", status_code=404)
    try:
        data = resources.files("raymaker.console").joinpath("static", name).read_bytes()
    except (FileNotFoundError, OSError):
        return Response(b"not found", status_code=404)
    return Response(data, media_type=_STATIC_TYPES[suffix], headers=headers)
