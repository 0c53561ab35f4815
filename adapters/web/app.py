"""The circle's pages on aiohttp.web: routes, templates, and the forms (presence, the plan).

Every page is reached through a member's private link, `/c/<token>/…`. The token is checked by
the core (`bot.pages.service.Pages`) at each request; anything it does not open gets the same
plain 403 page. The web layer reads and acts only through the core, like the chat adapters.
Templates are Jinja2 with autoescaping; every word comes from the catalogs.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from adapters.web.security import (
    form_key_matches,
    origin_of,
    same_site_post,
    secure_headers,
)
from bot.app import CercleCore
from bot.domain.circle import LANGUAGES
from bot.effects import Effect, Reply
from bot.pages.links import LinkIssuer
from bot.pages.model import ActResult, CirclePage
from bot.pages.service import Pages
from bot.views.wording import of_name

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
Deliver = Callable[[list[Effect]], Awaitable[None]]
MAX_FORM_BYTES = 16 * 1024
FORM_FIELDS = ("when", "subject", "question", "number", "text", "name", "answer")
ANSWERED = "presence"  # the query a recorded answer redirects to: ?presence=<séance number>

CORE: web.AppKey[CercleCore] = web.AppKey("core", CercleCore)
PAGES: web.AppKey[Pages] = web.AppKey("pages", Pages)
ISSUER: web.AppKey[LinkIssuer] = web.AppKey("issuer", LinkIssuer)
TEMPLATES: web.AppKey[Environment] = web.AppKey("templates", Environment)
DELIVER: web.AppKey[Deliver] = web.AppKey("deliver", object)  # type: ignore[arg-type]
STYLESHEET: web.AppKey[bytes] = web.AppKey("stylesheet", bytes)
CHANNEL_TOLD: web.AppKey[bool] = web.AppKey("channel_told", bool)


def _templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def _lang(request: web.Request, fallback: str) -> str:
    asked = request.query.get("lang")
    return asked if asked in LANGUAGES else fallback


def _render(
    request: web.Request, name: str, lang: str, status: int = 200, **values: Any
) -> web.Response:
    tr = request.app[CORE].translator

    other = "en" if lang == "fr" else "fr"

    def t(key: str, **fields: Any) -> str:
        return tr.text(lang, key, **fields)

    def t_other(key: str, **fields: Any) -> str:
        return tr.text(other, key, **fields)

    html = (
        request.app[TEMPLATES]
        .get_template(name)
        .render(
            t=t,
            t_other=t_other,
            of_name=lambda name: of_name(lang, name),
            lang=lang,
            other_lang=other,
            Markup=Markup,
            **values,
        )
    )
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


def _denied(request: web.Request) -> web.Response:
    """The one answer to a link that does not open a circle, whatever the reason."""
    return _render(request, "denied.html", "fr", status=403)


async def home(request: web.Request) -> web.Response:
    return _render(request, "home.html", _lang(request, "fr"))


async def stylesheet(request: web.Request) -> web.Response:
    return web.Response(
        body=request.app[STYLESHEET],
        content_type="text/css",
        charset="utf-8",
        headers={"Cache-Control": "public, max-age=3600"},
    )


async def circle_page(request: web.Request) -> web.Response:
    return await _show_circle(request, None)


async def _show_circle(
    request: web.Request, result: ActResult | None, fields: Mapping[str, str] | None = None
) -> web.Response:
    token = request.match_info["token"]
    pages = request.app[PAGES]
    page = await pages.circle_page(token, request.query.get("lang"))
    if page is None:
        return _denied(request)
    if result is None:
        result = _answered(request, page)
    return _render(
        request,
        "circle.html",
        page.lang,
        status=200,
        page=page,
        base=f"/c/{token}",
        form_key=pages.signer.form_key(token),
        result=result,
        fields=fields or {},
        title=page.circle_name,
        active="circle",
    )


async def act(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    pages = request.app[PAGES]
    issuer = request.app[ISSUER]
    if not same_site_post(request, origin_of(issuer.base_url)):
        log.warning("web: a form from another site was refused")
        return _denied(request)
    if (request.content_length or 0) > MAX_FORM_BYTES:
        return _denied(request)
    form = await request.post()
    if not form_key_matches(pages.signer.form_key(token), _one(form, "form_key")):
        log.warning("web: a form without a valid form key was refused")
        return _denied(request)
    fields = {key: _one(form, key) or "" for key in FORM_FIELDS}
    action = _one(form, "action") or ""
    result = await pages.act(token, action, fields)
    if result is None:
        return _denied(request)
    if not result.refused and result.public:
        told = tuple(e.text for e in result.public if isinstance(e, Reply) and not e.private)
        if not request.app[CHANNEL_TOLD]:
            tr, lang = request.app[CORE].translator, _lang(request, "fr")
            told += (tr.text(lang, "web.channel_not_told"),)
        result = ActResult(False, result.messages + told, result.public)
        try:
            await request.app[DELIVER](list(result.public))
        except Exception:  # done and committed: the page says so even if a post failed
            log.exception("web: the channel could not be told")
    if action == "rsvp" and not result.refused:
        # post, redirect, get: reloading the page does not answer again
        number = fields["number"] if fields["number"].isdigit() else ""
        query = {ANSWERED: number}
        if request.query.get("lang") in LANGUAGES:
            query = {"lang": request.query["lang"], **query}
        target = request.app.router["circle"].url_for(token=token).with_query(query)
        return web.Response(status=303, headers={"Location": str(target)})
    return await _show_circle(request, result, fields if result.refused else None)


def _answered(request: web.Request, page: CirclePage) -> ActResult | None:
    """After a recorded answer (post, redirect, get): the member's answer as it now stands."""
    number = request.query.get(ANSWERED, "")
    line = next((s for s in page.plan if str(s.number) == number), None)
    if line is None or line.coming is None or line.coming.mine is None:
        return None
    tr = request.app[CORE].translator
    answer = tr.text(page.lang, f"rsvp.label.{line.coming.mine}")
    return ActResult(False, (tr.text(page.lang, "rsvp.yours", number=line.number, answer=answer),))


def _one(form: Mapping[str, Any], key: str) -> str | None:
    value = form.get(key)
    return value if isinstance(value, str) else None


async def calendar_page(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    pages = request.app[PAGES]
    page = await pages.circle_page(token, request.query.get("lang"))
    if page is None:
        return _denied(request)
    issuer = request.app[ISSUER]
    return _render(
        request,
        "calendar.html",
        page.lang,
        page=page,
        base=f"/c/{token}",
        webcal=issuer.webcal_url(token),
        ics=issuer.calendar_url(token),
        title=page.circle_name,
        active="calendar",
    )


async def calendar_file(request: web.Request) -> web.Response:
    data = await request.app[PAGES].calendar(request.match_info["token"])
    if data is None:
        return _denied(request)
    return web.Response(
        body=data,
        content_type="text/calendar",
        charset="utf-8",
        headers={"Content-Disposition": 'inline; filename="cercle.ics"'},
    )


async def recap_chart(request: web.Request) -> web.Response:
    number = request.match_info["number"]
    if not number.isdigit() or len(number) > 6:
        return _denied(request)
    png = await request.app[PAGES].recap_chart(
        request.match_info["token"], int(number), request.query.get("lang")
    )
    if png is None:
        return _denied(request)
    return web.Response(body=png, content_type="image/png")


async def report_page(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    pages = request.app[PAGES]
    report = await pages.report(token, request.query.get("lang"))
    page = await pages.circle_page(token, request.query.get("lang")) if report else None
    if report is None or page is None:
        return _denied(request)
    return _render(
        request,
        "report.html",
        page.lang,
        page=page,
        report=report,
        base=f"/c/{token}",
        title=page.circle_name,
        active="report",
    )


async def report_chart(request: web.Request) -> web.Response:
    png = await request.app[PAGES].report_chart(
        request.match_info["token"], request.query.get("lang")
    )
    if png is None:
        return _denied(request)
    return web.Response(body=png, content_type="image/png")


def create_app(core: CercleCore, deliver: Deliver, *, channel_told: bool = True) -> web.Application:
    """The pages of every circle of `core`; `deliver` posts what a form tells the channel
    (`channel_told=False`: it cannot, and the page says so)."""
    if core.pages is None or core.links is None:
        raise ValueError("the core gives no links: web pages need a link secret")
    app = web.Application(middlewares=[secure_headers], client_max_size=MAX_FORM_BYTES)
    app[CORE] = core
    app[PAGES] = core.pages
    app[ISSUER] = core.links
    app[TEMPLATES] = _templates()
    app[DELIVER] = deliver
    app[CHANNEL_TOLD] = channel_told
    app[STYLESHEET] = (HERE / "static" / "cercle.css").read_bytes()
    app.router.add_get("/", home)
    app.router.add_get("/static/cercle.css", stylesheet)
    app.router.add_get("/c/{token}", circle_page, name="circle")
    app.router.add_post("/c/{token}", act)
    app.router.add_get("/c/{token}/calendrier", calendar_page)
    app.router.add_get("/c/{token}/calendar.ics", calendar_file)
    app.router.add_get("/c/{token}/recap/{number}.png", recap_chart)
    app.router.add_get("/c/{token}/bilan", report_page)
    app.router.add_get("/c/{token}/bilan.png", report_chart)
    return app
