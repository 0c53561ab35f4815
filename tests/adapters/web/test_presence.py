"""Saying whether one comes, on the page: every member's form runs `/presence` as them, so the
page, the chat and the séance's excuses agree; and a participant's link still opens no
facilitator's action."""

from __future__ import annotations

import logging
from datetime import timedelta
from html import unescape

import aiohttp
import pytest

from bot.domain.seance import AttendanceStatus
from tests.adapters.web.conftest import Site
from tests.adapters.web.test_security import DENIED, form_key, get, post


async def answer(
    site: Site, token: str, value: str, number: str = "2", lang: str | None = None
) -> tuple[int, str | None]:
    """POST the presence form as a browser of this site would; the status and the Location."""
    form = {"form_key": form_key(site, token), "action": "rsvp", "number": number, "answer": value}
    query = f"?lang={lang}" if lang else ""
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{site.url}/c/{token}{query}",
            data=form,
            headers={"Origin": site.url},
            allow_redirects=False,
        ) as reply,
    ):
        return reply.status, reply.headers.get("Location")


async def excused(site: Site, number: int) -> list[str]:
    async with site.runtime.database() as uow:
        circle = await uow.circles.by_channel(site.chat.channel)
        assert circle is not None
        seance = await uow.seances.by_number(circle.id, number)
        assert seance is not None
        return sorted(
            circle.name_of(u)
            for u, status in seance.attendance.items()
            if status is AttendanceStatus.EXCUSED
        )


async def rsvp_count(site: Site) -> int:
    async with site.runtime.database() as uow:
        circle = await uow.circles.by_channel(site.chat.channel)
        assert circle is not None
        return len(await uow.rsvps.for_circle(circle.id))


def between(page: str, start: str, end: str) -> str:
    return page.split(start, 1)[1].split(end, 1)[0]


async def test_a_member_answers_on_the_page_and_the_chat_agrees(site: Site) -> None:
    alice = await site.link("alice")
    status, page, _ = await get(site, f"/c/{alice}")
    assert status == 200
    assert "Vous êtes sur la page d'alice." in unescape(page)  # elided, not "de alice"
    assert "Qui vient ?" in page
    assert "Personne n'a encore dit s'il ou elle vient." in page
    assert "Serez-vous là à la séance 2 ?" in page
    assert "Vous n'avez pas encore répondu." in page
    assert "Sans réponse" not in page  # who has not answered: for facilitators only

    # "non" through the form: post, redirect, get; the séance counts it as an excuse
    status, location = await answer(site, alice, "no")
    assert (status, location) == (303, f"/c/{alice}?presence=2")
    status, page, _ = await get(site, str(location))
    assert status == 200
    result = between(page, 'role="status">', "</div>")
    assert "C'est fait" in result
    assert "Votre réponse pour la séance 2 : non." in result
    assert "<strong>Non, excusé·es (1) :</strong> alice" in page
    assert "<strong>Oui (0) :</strong> —" in page
    assert await excused(site, 2) == ["alice"]

    # the chat says the same, to her and to the facilitators
    await site.chat.say("alice", "/presence")
    assert site.chat.text == "Votre réponse pour la séance 2 : non."
    await site.chat.say("anim", "/presence")
    assert "- non : 1 (alice)" in site.chat.text
    assert "- oui : 0 (—)" in site.chat.text

    # changing her mind lifts the excuse, like /presence oui in the chat
    assert (await answer(site, alice, "yes", lang="en")) == (303, f"/c/{alice}?lang=en&presence=2")
    _, page, _ = await get(site, f"/c/{alice}?lang=en&presence=2")
    assert "Your answer for session 2: yes." in page
    assert "<strong>Yes (1):</strong> alice" in page
    assert "Who is coming?" in page
    assert await excused(site, 2) == []

    # an answer given in the chat shows on the page; a facilitator also sees who is silent
    await site.chat.say("bob", "/presence peut-etre")
    anim = await site.link("anim")
    _, page, _ = await get(site, f"/c/{anim}")
    assert "<strong>Oui (1) :</strong> alice" in page
    assert "<strong>Peut-être (1) :</strong> bob" in page
    assert "Sans réponse (3) : anim, carla, dan" in page
    # nothing was posted in the channel for any of it
    assert site.channel_texts() == []


async def test_the_form_gets_the_chats_refusals_and_changes_nothing(site: Site) -> None:
    alice = await site.link("alice")
    before = await rsvp_count(site)
    # séance 1 is over: the chat's own refusal, word for word, shown on the page
    await site.chat.say("alice", "/presence oui 1")
    assert site.chat.refused == "rsvp.not_planned"
    refusal = site.chat.text
    assert refusal == "La séance 1 n'est plus à venir : on ne peut plus y répondre."
    form = {"form_key": form_key(site, alice), "action": "rsvp", "number": "1", "answer": "yes"}
    status, page = await post(site, alice, form, {"Origin": site.url})
    assert status == 200
    assert "Rien n'a été changé" in page
    assert refusal in page
    # an answer that is not one of the three, or a séance that does not exist
    for number, value in (("2", "perhaps"), ("2", ""), ("9", "yes")):
        form = {"form_key": form_key(site, alice), "action": "rsvp", "number": number}
        status, page = await post(site, alice, {**form, "answer": value}, {"Origin": site.url})
        assert status == 200
        assert "Rien n'a été changé" in page, (number, value)
    assert await rsvp_count(site) == before
    assert await excused(site, 2) == []


async def test_presence_forms_from_elsewhere_or_without_their_key_are_refused(site: Site) -> None:
    alice = await site.link("alice")
    bob = await site.link("bob")
    fields = {"action": "rsvp", "number": "2", "answer": "no"}
    refused = [
        (alice, {"form_key": form_key(site, alice), **fields}, {"Origin": "http://evil.example"}),
        (alice, {"form_key": form_key(site, alice), **fields}, {"Sec-Fetch-Site": "cross-site"}),
        (alice, {"form_key": form_key(site, alice), **fields}, {}),
        (alice, fields, {"Origin": site.url}),
        (alice, {"form_key": form_key(site, bob), **fields}, {"Origin": site.url}),
    ]
    for token, form, headers in refused:
        status, page = await post(site, token, form, headers)
        assert status == 403, headers
        assert DENIED in page
    # a revoked link, then an expired one, with their own keys and this site's word
    await site.chat.say("bob", "/lien revoquer")
    assert await answer(site, bob, "no") == (403, None)
    site.chat.clock.advance(timedelta(days=90))
    assert await answer(site, alice, "no") == (403, None)
    assert await rsvp_count(site) == 0
    assert await excused(site, 2) == []


async def test_no_token_in_the_logs_of_an_answer(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    alice = await site.link("alice")
    status, location = await answer(site, alice, "maybe")
    assert status == 303
    await get(site, str(location))
    await answer(site, alice, "perhaps")
    logged = caplog.text
    assert "POST /c/… 303" in logged
    assert "GET /c/… 200" in logged
    for piece in (*alice.split("."), form_key(site, alice)):
        assert piece not in logged


async def test_a_participants_link_opens_no_facilitator_action(site: Site) -> None:
    alice = await site.link("alice")
    key = {"form_key": form_key(site, alice)}
    attempts = [
        {"action": "plan", "when": "2027-01-07 14:00", "subject": "Pris en main"},
        {"action": "cancel", "number": "2"},
        {"action": "subject", "number": "2", "text": "Autre chose"},
        {"action": "protocol", "number": "2", "name": "codev"},
    ]
    for fields in attempts:
        status, page = await post(site, alice, {**key, **fields}, {"Origin": site.url})
        assert status == 200
        assert "Rien n'a été changé" in page
        assert "Seuls les animateurs et animatrices du cercle peuvent utiliser /seance" in page
    # nothing happened: no séance 3, séance 2 as it was, the channel told nothing
    _, ics, _ = await get(site, f"/c/{alice}/calendar.ics")
    assert ics.count("BEGIN:VEVENT") == 2
    assert "STATUS:CANCELLED" not in ics
    assert "Autre chose" not in unescape(ics)
    assert site.told == []
    # and her page has the presence form, but none of the plan's
    _, page, _ = await get(site, f"/c/{alice}")
    assert page.count("<form ") == 1
    assert 'value="rsvp"' in page
    assert 'value="plan"' not in page


async def test_each_planned_seance_has_its_own_answer(site: Site) -> None:
    await site.chat.say("anim", "/seance planifier 2027-01-07 14:00 | Bilan")
    assert site.chat.refused is None, site.chat.text
    alice = await site.link("alice")
    _, page, _ = await get(site, f"/c/{alice}")
    assert "Serez-vous là à la séance 2 ?" in page
    assert "Serez-vous là à la séance 3 ?" in page
    assert page.count('name="action" value="rsvp"') == 2

    assert await answer(site, alice, "no", number="3") == (303, f"/c/{alice}?presence=3")
    _, page, _ = await get(site, f"/c/{alice}?presence=3")
    assert "Votre réponse pour la séance 3 : non." in page
    assert "Vous n'avez pas encore répondu." in page  # still nothing for séance 2
    assert await excused(site, 3) == ["alice"]
    assert await excused(site, 2) == []
    # the chat's answer for séance 3 replaces the page's, and lifts the excuse
    await site.chat.say("alice", "/presence peut-etre 3")
    assert site.chat.refused is None, site.chat.text
    _, page, _ = await get(site, f"/c/{alice}")
    assert "Votre réponse pour la séance 3 : peut-être." in page
    assert await excused(site, 3) == []
    # a cancelled séance is no longer on the plan, and no longer answered
    await site.chat.say("anim", "/seance annuler 3")
    _, page, _ = await get(site, f"/c/{alice}")
    assert "Serez-vous là à la séance 3 ?" not in page
    status, _ = await answer(site, alice, "yes", number="3")
    assert status == 200  # refused on the page, as in the chat
