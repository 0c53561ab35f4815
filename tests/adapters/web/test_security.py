"""What the pages refuse: other circles, tampered, expired and revoked links, forms from other
sites or without their key; what every answer carries; and that no token reaches the logs."""

from __future__ import annotations

import base64
import json
import logging
from datetime import timedelta
from html import unescape

import aiohttp
import pytest

from tests.adapters.web.conftest import Site
from tests.conversation import Chat

DENIED = "Ce lien ne fonctionne pas"


async def get(site: Site, path: str) -> tuple[int, str, dict[str, str]]:
    async with aiohttp.ClientSession() as session, session.get(site.url + path) as answer:
        body = (await answer.read()).decode("utf-8", errors="replace")
        return answer.status, unescape(body), dict(answer.headers)


async def post(
    site: Site, token: str, form: dict[str, str], headers: dict[str, str]
) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{site.url}/c/{token}", data=form, headers=headers) as answer,
    ):
        return answer.status, unescape(await answer.text())


def form_key(site: Site, token: str) -> str:
    pages = site.runtime.core.pages
    assert pages is not None
    return pages.signer.form_key(token)


def with_circle(token: str, circle_id: int) -> str:
    """The same token pointed at another circle, keeping its (now wrong) signature."""
    body, mac = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload[0] = circle_id
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode() + "." + mac


async def planned_at(site: Site, number: int) -> object:
    async with site.runtime.database() as uow:
        circle = await uow.circles.by_channel(site.chat.channel)
        assert circle is not None
        seance = await uow.seances.by_number(circle.id, number)
        assert seance is not None
        return seance.planned_at


async def test_a_link_shows_its_own_circle_and_no_other(site: Site) -> None:
    other = Chat(
        site.runtime.database, channel="ailleurs", clock=site.chat.clock, core=site.chat.core
    )
    await other.say("zoe", "/cercle creer Cercle secret")
    zoe = await site.link("zoe", other)
    alice = await site.link("alice")

    status, page, _ = await get(site, f"/c/{zoe}")
    assert status == 200
    assert "Cercle secret" in page
    assert "Cercle ESS" not in page
    status, page, _ = await get(site, f"/c/{alice}")
    assert "Cercle ESS" in page
    assert "Cercle secret" not in page

    # alice's valid token re-pointed at zoe's circle (and the other way round): refused, and
    # the refusal is the very page any broken link gets
    _, garbage, _ = await get(site, "/c/not-a-token")
    for forged in (with_circle(alice, 2), with_circle(zoe, 1), with_circle(alice, 999)):
        for path in ("", "/calendrier", "/calendar.ics", "/recap/1.png", "/bilan"):
            status, page, _ = await get(site, f"/c/{forged}{path}")
            assert (status, page) == (403, garbage), path
    assert DENIED in garbage
    assert "Cercle" in garbage


async def test_tampered_expired_and_revoked_links_are_refused(site: Site) -> None:
    alice = await site.link("alice")
    assert (await get(site, f"/c/{alice}"))[0] == 200
    flipped = alice[:-1] + ("A" if alice[-1] != "A" else "B")
    for tampered in (flipped, alice[1:], alice + "x", alice.replace(".", "-"), "x" * 2000):
        assert (await get(site, f"/c/{tampered}"))[0] == 403

    # revoked: every link given before /lien revoquer, the calendar's too
    old = await site.link("bob")
    await site.chat.say("bob", "/lien revoquer")
    for path in ("", "/calendar.ics", "/calendrier"):
        assert (await get(site, f"/c/{old}{path}"))[0] == 403
    fresh = await site.link("bob")
    assert (await get(site, f"/c/{fresh}"))[0] == 200

    # expired: 90 days by default
    site.chat.clock.advance(timedelta(days=90))
    for token in (alice, fresh):
        status, page, _ = await get(site, f"/c/{token}/calendar.ics")
        assert status == 403
        assert DENIED in page


async def test_a_facilitators_form_moves_a_seance_and_the_calendar_follows(site: Site) -> None:
    anim = await site.link("anim")
    alice = await site.link("alice")
    _, before, _ = await get(site, f"/c/{alice}/calendar.ics")
    assert "SUMMARY:Cercle ESS — séance 2 : Déléguer" in before
    assert "DTSTART;TZID=Europe/Paris:20261217T140000" in before

    form = {"form_key": form_key(site, anim), "action": "move", "number": "2", "when": "18/12 9h"}
    status, page = await post(site, anim, form, {"Origin": site.url})
    assert status == 200
    assert "La séance 2 est déplacée au vendredi 18 décembre 2026 à 09:00 (heure de Paris)." in page
    assert site.channel_texts() == [
        "La séance 2 est déplacée au vendredi 18 décembre 2026 à 09:00 (heure de Paris)."
    ]
    _, after, _ = await get(site, f"/c/{alice}/calendar.ics")
    assert "DTSTART;TZID=Europe/Paris:20261218T090000" in after

    edits = [
        (
            {"action": "subject", "number": "2", "text": "Lâcher prise"},
            "Séance 2 : nouveau sujet, Lâcher prise.",
        ),
        ({"action": "protocol", "number": "2", "name": "codev"}, "Séance 2 : protocole codev."),
        (
            {"action": "plan", "when": "2027-01-07 14:00", "subject": "Bilan | fin"},
            "Séance 3 planifiée le jeudi 7 janvier 2027 à 14:00 (heure de Paris).",
        ),
        ({"action": "cancel", "number": "3"}, None),
    ]
    for fields, said in edits:
        status, page = await post(
            site,
            anim,
            {"form_key": form_key(site, anim), **fields},
            {"Sec-Fetch-Site": "same-origin"},
        )
        assert status == 200
        assert "C'est fait" in page, fields
        if said is not None:
            assert said in site.channel_texts()
    _, ics, _ = await get(site, f"/c/{alice}/calendar.ics")
    assert "Lâcher prise" in ics
    assert "STATUS:CANCELLED" in ics


async def test_forms_from_elsewhere_or_without_their_key_change_nothing(site: Site) -> None:
    anim = await site.link("anim")
    alice = await site.link("alice")
    when = await planned_at(site, 2)
    move = {"action": "move", "number": "2", "when": "18/12 9h"}
    good_key = {"form_key": form_key(site, anim)}
    refused = [
        (anim, {**good_key, **move}, {"Origin": "http://evil.example"}),
        (
            anim,
            {**good_key, **move},
            {"Origin": "http://evil.example", "Sec-Fetch-Site": "same-origin"},
        ),
        (anim, {**good_key, **move}, {"Sec-Fetch-Site": "cross-site"}),
        (anim, {**good_key, **move}, {"Origin": "null", "Sec-Fetch-Site": "same-site"}),
        (anim, {**good_key, **move}, {}),  # no word from the browser at all
        (anim, move, {"Origin": site.url}),  # no key
        (anim, {"form_key": form_key(site, alice), **move}, {"Origin": site.url}),  # alice's key
        (with_circle(anim, 2), {**good_key, **move}, {"Origin": site.url}),
    ]
    for token, form, headers in refused:
        status, page = await post(site, token, form, headers)
        assert status == 403, headers
        assert DENIED in page
    assert await planned_at(site, 2) == when
    assert site.told == []

    # a participant's own link and key: the chat's refusal, on the page
    form = {"form_key": form_key(site, alice), **move}
    status, page = await post(site, alice, form, {"Origin": site.url})
    assert status == 200
    assert "Rien n'a été changé" in page
    assert (
        "Seuls les animateurs et animatrices du cercle peuvent utiliser /seance deplacer." in page
    )
    assert await planned_at(site, 2) == when
    assert site.told == []


@pytest.mark.parametrize("path", ["", "/calendrier", "/bilan", "/calendar.ics", "/recap/1.png"])
async def test_every_answer_is_private_and_strict(site: Site, path: str) -> None:
    anim = await site.link("anim")
    for target, expected in ((f"/c/{anim}{path}", 200), (f"/c/bad{path}", 403)):
        status, _, headers = await get(site, target)
        assert status == expected
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["Content-Security-Policy"].startswith("default-src 'none';")
        assert "script-src" not in headers["Content-Security-Policy"]  # no script at all
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Cache-Control"] == "no-store"
    status, _, headers = await get(site, "/nowhere")
    assert status == 404
    assert headers["Content-Security-Policy"].startswith("default-src 'none';")


async def test_no_token_reaches_the_logs(site: Site, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    anim = await site.link("anim")
    alice = await site.link("alice")
    for path in ("", "/calendrier", "/calendar.ics", "/bilan", "/recap/1.png", "/recap/x.png"):
        await get(site, f"/c/{anim}{path}")
        await get(site, f"/c/{alice}{path}?lang=en")
    await get(site, f"/c/{with_circle(anim, 7)}")
    await post(site, anim, {"action": "move"}, {"Origin": "http://evil.example"})
    await post(
        site,
        anim,
        {"form_key": form_key(site, anim), "action": "move", "number": "2", "when": "x"},
        {"Origin": site.url},
    )
    logged = caplog.text
    assert "GET /c/…/calendar.ics 200" in logged  # the access log is there, without the token
    assert "POST /c/… 403" in logged
    for token in (anim, alice):
        for piece in token.split("."):
            assert piece not in logged
    assert form_key(site, anim) not in logged
