"""Private links to the circle's page: given by /lien, scoped, expiring and revocable."""

from __future__ import annotations

import base64
import json
import re
from datetime import timedelta

import pytest

from bot.app import CercleCore
from bot.effects import Reply
from bot.pages.links import LinkIssuer, LinkSigner
from bot.pages.service import Pages
from bot.timing.clock import ManualClock
from tests.conversation import START, Chat
from tests.fakes import MemoryDatabase

SECRET = b"a test secret of enough length"
BASE = "https://cercle.example.org"


def linked_chat(
    db: MemoryDatabase, channel: str = "salon", clock: ManualClock | None = None
) -> Chat:
    clock = clock or ManualClock(START)
    core = CercleCore(db, clock, links=LinkIssuer(LinkSigner(SECRET), BASE))
    return Chat(db, channel=channel, clock=clock, core=core)


def pages(chat: Chat) -> Pages:
    assert chat.core.pages is not None
    return chat.core.pages


async def link_of(chat: Chat, name: str) -> str:
    await chat.say(name, "/lien")
    assert chat.refused is None, chat.text
    [reply] = [e for e in chat.last if isinstance(e, Reply)]
    assert reply.private
    assert reply.confidential
    assert reply.to is not None
    assert reply.to.id == name
    found = re.search(re.escape(BASE) + r"/c/([A-Za-z0-9_.-]+)\n", reply.text)
    assert found, reply.text
    assert f"webcal://cercle.example.org/c/{found[1]}/calendar.ics" in reply.text
    return found[1]


async def test_a_link_opens_the_members_own_circle_and_nothing_else() -> None:
    db = MemoryDatabase()
    ess = linked_chat(db)
    await ess.say("anim", "/cercle creer Cercle ESS")
    await ess.say("bob", "/aide")
    other = linked_chat(db, channel="ailleurs", clock=ess.clock)
    await other.say("zoe", "/cercle creer Secret")
    token = await link_of(ess, "bob")
    page = await pages(ess).circle_page(token, None)
    assert page is not None
    assert (page.circle_name, page.viewer_name, page.facilitator) == ("Cercle ESS", "bob", False)
    assert await pages(ess).report(token, None) is None  # the bilan is for facilitators

    # the same payload pointed at the other circle, with the old signature: refused
    body, mac = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload[0] = 2
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    assert await pages(ess).circle_page(f"{forged}.{mac}", None) is None
    # signed with another secret: refused
    stranger = Pages(ess.core, LinkSigner(b"another secret, as long as it is"))
    assert await stranger.circle_page(token, None) is None
    for broken in ("", "x", token + "A", token.replace(".", ""), "a.b.c", "%%%.%%%"):
        assert await pages(ess).circle_page(broken, None) is None


async def test_links_expire_after_the_circles_lifetime() -> None:
    chat = linked_chat(MemoryDatabase())
    await chat.say("anim", "/cercle creer Cercle ESS")
    await chat.say("anim", "/lien duree 10")
    assert chat.public() == ["Les nouveaux liens vers la page du cercle valent désormais 10 jours."]
    await chat.say("anim", "/lien duree 400")
    assert chat.refused == "link.bad_days"
    await chat.say("bob", "/lien duree 20")
    assert chat.refused == "permission.facilitator_only"
    token = await link_of(chat, "anim")
    chat.clock.advance(timedelta(days=10) - timedelta(seconds=1))
    assert await pages(chat).circle_page(token, None) is not None
    chat.clock.advance(timedelta(seconds=1))
    assert await pages(chat).circle_page(token, None) is None


async def test_revoking_and_forgetting_turn_every_link_off() -> None:
    chat = linked_chat(MemoryDatabase())
    await chat.say("anim", "/cercle creer Cercle ESS")
    first, second = await link_of(chat, "bob"), await link_of(chat, "bob")
    anim = await link_of(chat, "anim")
    await chat.say("bob", "/lien revoquer")
    assert chat.private_to("bob") == [
        "Tous les liens vers la page du cercle qui vous ont été donnés sont désactivés, "
        "abonnement au calendrier compris. /lien en donne un nouveau."
    ]
    assert await pages(chat).circle_page(first, None) is None
    assert await pages(chat).calendar(second) is None
    assert await pages(chat).circle_page(anim, None) is not None  # only bob's links
    third = await link_of(chat, "bob")
    assert await pages(chat).circle_page(third, None) is not None

    await chat.say("bob", "/oubli confirmer")
    assert chat.refused is None
    assert await pages(chat).circle_page(third, None) is None
    await chat.say("bob", "/aide")  # back in the roster: old links still do not open it
    assert await pages(chat).circle_page(third, None) is None


async def test_a_link_carries_the_lower_of_its_role_and_the_members_role() -> None:
    chat = linked_chat(MemoryDatabase())
    await chat.say("anim", "/cercle creer Cercle ESS")
    bob_before = await link_of(chat, "bob")  # given while bob was a participant
    await chat.say("anim", "/cercle animateur @bob")
    assert chat.refused is None, chat.text
    bob_after = await link_of(chat, "bob")
    before = await pages(chat).circle_page(bob_before, None)
    after = await pages(chat).circle_page(bob_after, None)
    assert before is not None
    assert not before.facilitator
    assert after is not None
    assert after.facilitator
    assert await pages(chat).report(bob_after, None) is not None


async def test_without_web_pages_lien_says_so(chat: Chat) -> None:
    await chat.say("anim", "/cercle creer Cercle ESS")
    await chat.say("anim", "/lien")
    assert chat.refused == "link.disabled"


@pytest.mark.parametrize(
    ("command", "answer"),
    [
        ("/seance sujet 1 Déléguer", "Séance 1 : nouveau sujet, Déléguer."),
        (
            "/seance question 1 Que gardez-vous ?",
            "Séance 1 : nouvelle question de préparation, Que gardez-vous ?",
        ),
        ("/seance sujet 1 -", "Séance 1 : sujet effacé."),
        ("/seance protocole 1 codev", "Séance 1 : protocole codev."),
    ],
)
async def test_a_planned_seance_can_be_edited(chat: Chat, command: str, answer: str) -> None:
    await chat.say("anim", "/cercle creer Cercle ESS")
    await chat.say("anim", "/seance planifier 10/12 14h | Sujet | Question ?")
    await chat.say("anim", command)
    assert chat.public() == [answer]


async def test_editing_refuses_what_chat_refuses(chat: Chat) -> None:
    await chat.say("anim", "/cercle creer Cercle ESS")
    await chat.say("anim", "/seance sujet 4 Rien")
    assert chat.refused == "seance.unknown_number"
    await chat.say("anim", "/seance planifier 10/12 14h")
    await chat.say("anim", "/seance protocole 1 inconnu")
    assert chat.refused == "seance_edit.unknown_protocol"
    await chat.say("bob", "/seance sujet 1 Pirate")
    assert chat.refused == "permission.facilitator_only"


async def test_leaving_the_cycle_turns_the_members_links_off() -> None:
    chat = linked_chat(MemoryDatabase())
    await chat.say("anim", "/cercle creer Cercle ESS")
    await chat.say("anim", "/seance planifier 10/12 14h")
    eva = await link_of(chat, "eva")
    bob = await link_of(chat, "bob")
    await chat.say("anim", "/cercle depart @eva")
    assert chat.refused is None, chat.text
    assert await pages(chat).circle_page(eva, None) is None
    assert await pages(chat).calendar(eva) is None
    assert await pages(chat).act(eva, "rsvp", {"answer": "yes", "number": "1"}) is None
    assert await pages(chat).circle_page(bob, None) is not None  # only hers


async def test_in_the_console_the_link_says_how_to_serve_the_pages() -> None:
    """Trying Cercle in the console, nothing serves the pages: the link comes with the command
    that does, instead of opening nothing."""
    from adapters.config import parse_config
    from adapters.web.links import link_issuer

    db = MemoryDatabase()
    clock = ManualClock(START)
    console = parse_config({}, {"CERCLE_WEB_SECRET": "s" * 32})
    issuer = link_issuer(console)
    assert issuer is not None
    assert issuer.served_elsewhere
    chat = Chat(db, clock=clock, core=CercleCore(db, clock, links=issuer))
    await chat.say("alice", "/cercle creer Essai")
    await chat.say("alice", "/lien")
    assert chat.text.endswith(
        "Ici, dans la console, les pages ne sont pas servies : pour les ouvrir, lancez « cercle "
        "web » dans un autre terminal (même dossier de données)."
    )
    served = parse_config({"web": {"enabled": True}}, {"CERCLE_WEB_SECRET": "s" * 32})
    served_issuer = link_issuer(served)
    assert served_issuer is not None
    assert not served_issuer.served_elsewhere
