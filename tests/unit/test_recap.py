"""The recap: numbers from the séance that produced them, in both languages and three layouts."""

from __future__ import annotations

import io
import re
import struct
from datetime import timedelta
from html import unescape

import pytest
from PIL import Image

from bot.domain.seance import AttendanceStatus, Seance, TurnOutcome
from bot.effects import RecapPost
from bot.i18n.catalog import CatalogTranslator
from tests.conversation import Chat, start_circle, user
from tests.fakes import MemoryDatabase

TR = CatalogTranslator()


async def run_seance(chat: Chat, lang: str = "fr") -> None:
    """A séance of the `meteo` protocol: a check-in round, the open floor, items recorded."""
    await chat.say("anim", "/cercle creer Cercle ESS")
    if lang == "en":
        await chat.say("anim", "/cercle langue en")
    for name in ("alice", "bob", "carla", "dan"):
        await chat.say(name, "/aide")  # joins the roster
    await chat.say("anim", "/seance")
    await chat.say("anim", "/seance planifier 2026-12-17 14:00 | Déléguer | Que lâcher ?")
    await chat.say("dan", "/excuse")
    await chat.say("alice", "/present")
    await chat.say("bob", "/present")
    await chat.say("anim", "/seance phase suivante")  # check-in round: anim, alice, bob
    await chat.say("anim", "/passe")
    await chat.say("alice", "/tour sereine")  # shares her word by giving it with /tour
    await chat.wait(seconds=95)
    await chat.say("alice", "/fini")
    await chat.wait(seconds=42)
    await chat.say("bob", "/fini")  # bob shares nothing: nothing of his is in the check-in
    await chat.say("anim", "/seance phase suivante")  # open floor
    await chat.say("alice", "/tour")
    await chat.say("bob", "/tour")
    await chat.wait(seconds=125)
    await chat.say("alice", "/fini")
    await chat.wait(seconds=61)
    await chat.say("anim", "/suivant")
    await chat.say("alice", "/tour")
    await chat.wait(seconds=30)
    await chat.say("alice", "/fini")
    await chat.say("alice", "/note Garder une heure par semaine pour le stratégique")
    await chat.say("anim", "/decision On se revoit dans deux semaines")
    await chat.say("bob", "/action @alice Appeler la fédération échéance 2027-01-15")
    await chat.say("bob", "/action Relire les statuts")
    await chat.say("anim", "/seance fin")


def posts(chat: Chat) -> list[RecapPost]:
    return [e for e in chat.effects if isinstance(e, RecapPost)]


def the_seance(db: MemoryDatabase, number: int = 1) -> Seance:
    return next(s for s in db.store.seances.values() if s.number == number)


def expected_speakers(seance: Seance, lang: str) -> dict[str, tuple[str, int]]:
    """Speaking time (as the bot writes it) and counted turns, computed from the turns."""
    out: dict[str, tuple[timedelta, int]] = {}
    for turn in seance.turns:
        assert turn.ended_at is not None
        spent, count = out.get(turn.user.id, (timedelta(0), 0))
        spent += turn.ended_at - turn.started_at - turn.paused
        out[turn.user.id] = (spent, count + (turn.outcome is not TurnOutcome.PASSED))
    return {name: (TR.duration_text(lang, spent), n) for name, (spent, n) in out.items()}


EXPECTED = {
    "fr": {
        "title": "Récapitulatif — Cercle ESS, séance 1/2",
        "speakers": [
            "alice : 4 min 10 s (3 tours)",
            "bob : 1 min 43 s (2 tours)",
            "anim (animation) : n'a pas pris la parole",
        ],
        "attendance": [
            "Présent·es (3) : anim, alice, bob",
            "Excusé·es (1) : dan",
            "Absent·es (1) : carla",
        ],
        "share": "Part équitable (participant·es présent·es) : 2 min 56 s",
        "phases": ["Météo : 15 min 00 s / 2 min 17 s (14:00–14:02)"],
        "texts": [
            "#3 Appeler la fédération — responsable : alice, échéance : vendredi 15 janvier 2027",
            "#4 Relire les statuts — responsable : bob",
            "#2 On se revoit dans deux semaines",
            "#1 Garder une heure par semaine pour le stratégique",
            "alice : « sereine »",
            "Prochaine séance (n° 2) : jeudi 17 décembre 2026 à 14:00.",
            "Question de préparation : Que lâcher ?",
            "jeudi 3 décembre 2026 à 14:00 – 14:05 (5 min 53 s)",
        ],
    },
    "en": {
        "title": "Recap — Cercle ESS, session 1/2",
        "speakers": [
            "alice: 4 min 10 s (3 turns)",
            "bob: 1 min 43 s (2 turns)",
            "anim (facilitator): did not speak",
        ],
        "attendance": ["Present (3): anim, alice, bob", "Excused (1): dan", "Absent (1): carla"],
        "share": "Fair share (participants present): 2 min 56 s",
        "phases": ["Check-in: 15 min 00 s / 2 min 17 s (14:00–14:02)"],
        "texts": [
            "#3 Appeler la fédération — owner: alice, due: Friday 15 January 2027",
            "#4 Relire les statuts — owner: bob",
            "#2 On se revoit dans deux semaines",
            "#1 Garder une heure par semaine pour le stratégique",
            "alice: “sereine”",
            "Next session (#2): Thursday 17 December 2026 at 14:00.",
            "Preparation question: Que lâcher ?",
            "Thursday 3 December 2026 at 14:00 – 14:05 (5 min 53 s)",
        ],
    },
}


@pytest.mark.parametrize("lang", ["fr", "en"])
async def test_recap_numbers_match_the_seance_in_every_layout(
    memory_db: MemoryDatabase, lang: str
) -> None:
    chat = Chat(memory_db)
    await run_seance(chat, lang)
    (post,) = posts(chat)
    seance = the_seance(memory_db, 1)
    assert post.channel == chat.channel
    assert not post.private
    assert post.to is None
    assert post.number == 1
    assert post.filename == "recap-cercle-ess-1"
    expected = EXPECTED[lang]

    # The expected figures are those of the séance's own turns and marks, to the second.
    assert expected_speakers(seance, lang) == {
        "alice": (TR.duration_text(lang, timedelta(seconds=95 + 125 + 30)), 3),
        "bob": (TR.duration_text(lang, timedelta(seconds=42 + 61)), 2),
        "anim": ("0 s", 0),  # anim passed the round: time counted (none), not a turn
    }
    assert seance.attendance == {
        user("anim"): AttendanceStatus.PRESENT,
        user("alice"): AttendanceStatus.PRESENT,
        user("bob"): AttendanceStatus.PRESENT,
        user("carla"): AttendanceStatus.ABSENT,
        user("dan"): AttendanceStatus.EXCUSED,
    }
    assert round((250 + 103) / 2) == 176  # the fair share: 2 min 56 s

    md, html, embed = post.markdown, unescape(post.html), post.embed
    assert embed is not None
    fields = "\n".join(f.value for f in embed.fields)
    assert md.splitlines()[0] == f"## {expected['title']}"
    assert f"<h2>{expected['title']}</h2>" in html
    assert embed.title == expected["title"]
    for line in expected["speakers"] + expected["phases"]:
        assert f"\n- {line}\n" in md, line
        assert f"<li>{line}</li>" in html, line
        assert f"• {line}\n" in fields + "\n", line
    speaking = md.split("\n- ", 1)[1]
    order = [speaking.index(line) for line in expected["speakers"]]
    assert order == sorted(order)  # the longest first
    for line in expected["attendance"]:
        assert f"\n- {line}\n" in md, line
        assert f"<li>{line}</li>" in html, line
        assert f"• {line}" in embed.description, line
    assert f"\n\n{expected['share']}\n" in md
    assert f"<p>{expected['share']}</p>" in html
    assert expected["share"] in fields
    for text in expected["texts"]:
        assert text in md, text
        assert text in html, text
        assert text in embed.description + fields, text
    assert "bob : «" not in md
    assert "bob: “" not in md


async def test_the_chart_is_a_png_of_sensible_size_and_its_alt_text_has_the_numbers(
    chat: Chat,
) -> None:
    await run_seance(chat)
    (post,) = posts(chat)
    chart = post.chart
    assert chart is not None
    assert chart.filename == "recap-cercle-ess-1.png"
    png = chart.png
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert 600 <= width <= 1600
    assert 200 <= height <= 1200
    assert 5_000 < len(png) < 300_000
    with Image.open(io.BytesIO(png)) as image:
        image.verify()
    assert post.embed is not None
    assert post.embed.image == "attachment://recap-cercle-ess-1.png"
    # The text alternative lists the same people, times and turns as the recap, in order.
    speaking = post.markdown.split("### Temps de parole\n", 1)[1].split("\n\n", 1)[0]
    in_recap = re.findall(r"^- (.+) : (.+) \((\d+) tours?\)$", speaking, re.MULTILINE)
    in_alt = re.findall(r"(?:: | ; )([^;:]+?) (\d+ (?:min \d+ )?s) \((\d+) tours?\)", chart.alt)
    assert in_recap
    assert in_alt == in_recap
    share = re.search(r"Part équitable \(participant·es présent·es\) : (.+)$", post.markdown, re.M)
    assert share is not None
    assert chart.alt.endswith(f"Part équitable (participant·es présent·es) : {share.group(1)}.")


async def test_no_chart_when_nobody_spoke(chat: Chat) -> None:
    await chat.say("anim", "/cercle creer Circle")
    await chat.say("anim", "/circle language en")
    await chat.say("anim", "/session")
    await chat.say("alice", "/here")
    await chat.say("anim", "/session end")
    (post,) = posts(chat)
    assert post.markdown.splitlines()[0] == "## Recap — Circle, session 1/1"
    assert "- Present (2): anim, alice" in post.markdown
    assert "- Nobody took the floor." in post.markdown
    assert post.chart is None
    assert post.embed is not None
    assert post.embed.image is None


async def test_recap_holds_nothing_said_in_the_channel(chat: Chat) -> None:
    await start_circle(chat, "alice", protocol="libre")
    await chat.say("anim", "/seance phase suivante")
    await chat.say("alice", "/tour mon souci avec le conseil d'administration")
    await chat.say("anim", "/seance fin")
    (post,) = posts(chat)
    for text in (post.markdown, post.html, post.chart.alt if post.chart else ""):
        assert "conseil" not in text
    assert post.embed is not None
    assert "conseil" not in repr(post.embed)


async def test_check_in_words_are_opt_in_and_can_be_taken_back(chat: Chat) -> None:
    await start_circle(chat, "alice", "bob", "carla")
    await chat.say("anim", "/seance phase suivante")
    await chat.say("bob", "/meteo fatigué mais content")
    assert chat.private_to("bob") == [
        "Votre météo « fatigué mais content » figurera dans le récapitulatif "
        "(pour la retirer : /meteo retirer)."
    ]
    await chat.say("carla", "/meteo orageux")
    await chat.say("carla", "/meteo retirer")
    assert chat.private_to("carla") == [
        "C'est fait : votre météo ne figurera pas dans le récapitulatif."
    ]
    await chat.say("carla", "/meteo")
    assert chat.private_to("carla")[0].startswith("Vous n'avez pas partagé de météo")
    await chat.say("alice", "/meteo " + "x" * 61)
    assert chat.refused == "checkin.too_long"
    await chat.say("anim", "/seance phase suivante")
    await chat.say("alice", "/tour une question sur le budget")  # open floor: not a check-in
    await chat.say("anim", "/seance fin")
    (post,) = posts(chat)
    assert "### Météo\n- bob : « fatigué mais content »\n" in post.markdown
    assert "orageux" not in post.markdown
    assert "budget" not in post.markdown


async def test_a_recap_goes_only_to_its_own_circle(memory_db: MemoryDatabase) -> None:
    north = Chat(memory_db, channel="nord")
    south = Chat(memory_db, channel="sud", clock=north.clock, core=north.core)
    await start_circle(north, "alice")
    await start_circle(south, "bob")
    await north.say("alice", "/note au nord seulement")
    await south.say("bob", "/note au sud seulement")
    await north.say("anim", "/seance fin")
    await south.say("anim", "/seance fin")
    (n_post,) = posts(north)[:1]
    s_post = posts(south)[-1]
    assert n_post.channel == north.channel
    assert "au nord" in n_post.markdown
    assert "au sud" not in n_post.markdown
    assert s_post.channel == south.channel
    assert "au sud" in s_post.markdown
    assert "au nord" not in s_post.markdown


async def test_approval_mode_shows_a_draft_to_facilitators_then_publishes(chat: Chat) -> None:
    await chat.say("anim", "/cercle creer Test")
    await chat.say("anim", "/cercle animateur @co")
    await chat.say("anim", "/cercle approbation oui")
    assert chat.public() == [
        "Désormais, chaque récapitulatif est d'abord montré à l'animation, "
        "qui le publie avec /recap publier."
    ]
    await chat.say("anim", "/seance")
    await chat.say("alice", "/present")
    await chat.say("alice", "/note Ma situation personnelle, à ne pas diffuser")
    await chat.say("alice", "/note Une ressource : le guide de la fédération")
    await chat.say("anim", "/seance fin")
    drafts = [e for e in chat.last if isinstance(e, RecapPost)]
    assert {(d.to, d.private) for d in drafts} == {(user("anim"), True), (user("co"), True)}
    assert "Séance 1 : le récapitulatif sera publié après relecture par l'animation." in (
        chat.public()
    )
    assert drafts[0].markdown.splitlines()[3].startswith("> Brouillon, visible par l'animation")
    assert "#1 Ma situation personnelle" in drafts[0].markdown

    await chat.say("alice", "/recap publier")
    assert chat.refused == "permission.facilitator_only"
    await chat.say("alice", "/recap")
    assert chat.refused == "recap.not_published"
    await chat.say("anim", "/recap retirer 1")
    assert chat.private_to("anim") == ["L'élément n° 1 est retiré du récapitulatif de la séance 1."]
    (draft,) = [e for e in chat.last if isinstance(e, RecapPost)]
    assert draft.private
    assert draft.to == user("anim")
    assert "### Retiré du récapitulatif" in draft.markdown
    await chat.say("anim", "/recap publier")
    (published,) = [e for e in chat.last if isinstance(e, RecapPost)]
    assert not published.private
    assert published.to is None
    assert "Ma situation personnelle" not in published.markdown
    assert "Retiré" not in published.markdown
    assert "Brouillon" not in published.markdown
    assert "#2 Une ressource : le guide de la fédération" in published.markdown
    await chat.say("anim", "/recap publier")
    assert chat.refused == "recap.nothing_pending"
    await chat.say("anim", "/recap remettre 1")
    assert chat.refused == "recap.already_published"
    await chat.say("alice", "/recap 1")  # a participant sees the published recap again
    (again,) = [e for e in chat.last if isinstance(e, RecapPost)]
    assert again.to == user("alice")
    assert "Ma situation" not in again.markdown


async def test_without_approval_the_recap_is_published_at_once(chat: Chat) -> None:
    await start_circle(chat, "alice")
    await chat.say("alice", "/note à garder")
    await chat.say("anim", "/seance fin")
    (post,) = posts(chat)
    assert not post.private
    await chat.say("anim", "/recap retirer 1")
    assert chat.refused == "recap.already_published"


async def test_an_action_is_marked_done_by_its_owner(chat: Chat) -> None:
    await start_circle(chat, "alice", "bob")
    await chat.say("alice", "/action @bob Écrire au maire")
    await chat.say("alice", "/note pas une action")
    await chat.say("carla", "/action fait 1")
    assert chat.refused == "action.not_yours"
    await chat.say("bob", "/action fait 2")
    assert chat.refused == "action.unknown"
    await chat.say("bob", "/action fait 1")
    assert chat.public() == ["Action n° 1 faite : Écrire au maire (bob)."]
    await chat.say("bob", "/action fait 1")
    assert chat.private_to("bob") == ["L'action n° 1 est déjà faite."]
    await chat.say("anim", "/seance fin")
    assert "#1 Écrire au maire — responsable : bob — faite" in posts(chat)[0].markdown


async def test_what_people_typed_is_escaped_in_html_and_the_embed_stays_within_limits(
    chat: Chat,
) -> None:
    await start_circle(chat, "alice", protocol="libre")
    await chat.say("alice", "/note <script>alert('x')</script> & <b>gras</b>")
    for n in range(120):
        await chat.say("alice", f"/note Note {n} : " + "une idée longue à garder " * 6)
    await chat.say("anim", "/seance fin")
    (post,) = posts(chat)
    assert "<script>" not in post.html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &lt;b&gt;gras&lt;/b&gt;" in (
        post.html
    )
    assert "- #1 <script>alert('x')</script> & <b>gras</b>" in post.markdown
    assert "- #121 Note 119" in post.markdown  # the Markdown keeps everything
    embed = post.embed
    assert embed is not None
    assert embed.truncated
    assert len(embed.fields) <= 25
    assert all(len(f.value) <= 1024 and len(f.name) <= 256 for f in embed.fields)
    total = len(embed.title) + len(embed.description) + len(embed.footer)
    total += sum(len(f.name) + len(f.value) for f in embed.fields)
    assert total <= 6000
    assert embed.fields[-1].value == (
        "La suite ne tient pas ici : voir le fichier joint ou /export md."
    )


async def test_a_seance_closed_by_itself_posts_its_draft_with_the_chart(chat: Chat) -> None:
    await chat.say("anim", "/cercle creer Cercle ESS")
    await chat.say("anim", "/cercle protocole libre")
    await chat.say("anim", "/cercle approbation oui")
    await chat.say("anim", "/cercle rappels fermeture 30m")
    await chat.say("anim", "/seance")
    await chat.say("anim", "/seance phase suivante")
    await chat.say("alice", "/tour")
    await chat.wait(minutes=3)
    await chat.say("alice", "/fini")
    await chat.wait(hours=3)  # libre has no time box: two hours expected, then the grace
    drafts = [e for e in chat.effects if isinstance(e, RecapPost)]
    assert [(d.to, d.private) for d in drafts] == [(user("anim"), True)]
    assert drafts[0].chart is not None
    assert "alice 3 min 00 s (1 tour)" in drafts[0].chart.alt
