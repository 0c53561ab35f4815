"""Arguments that forgive: the words people use, a city for a time zone, the current value
when the argument is left out, and extra words taken as what they naturally mean."""

from __future__ import annotations

import pytest

from bot.timing.places import zones_for
from tests.conversation import Chat


@pytest.mark.parametrize(
    ("typed", "zones"),
    [
        ("Paris", ("Europe/Paris",)),
        ("Montréal", ("America/Montreal",)),
        ("montreal", ("America/Montreal",)),
        ("Dakar", ("Africa/Dakar",)),
        ("Bruxelles", ("Europe/Brussels",)),
        ("Brussels", ("Europe/Brussels",)),
        ("Genève", ("Europe/Zurich",)),
        ("Trois-Rivières", ("America/Montreal",)),
        ("heure de Paris", ("Europe/Paris",)),
        ("Tokyo", ("Asia/Tokyo",)),
        ("New York", ("America/New_York",)),
        ("europe/paris", ("Europe/Paris",)),
        ("America/Argentina/Buenos_Aires", ("America/Argentina/Buenos_Aires",)),
        ("Nulle-Part", ()),
        ("x" * 300, ()),
        ("../etc/passwd", ()),
    ],
)
def test_places_name_their_zones(typed: str, zones: tuple[str, ...]) -> None:
    assert zones_for(typed) == zones


def test_a_country_with_several_zones_gives_them_all() -> None:
    assert len(zones_for("Canada")) > 1
    assert set(zones_for("Saint-Denis")) == {"Indian/Reunion", "Europe/Paris"}


async def test_a_city_sets_the_time_zone_and_the_answer_says_so(chat: Chat) -> None:
    await chat.say("anim", "/cercle creer Essai")
    await chat.say("anim", "/cercle fuseau Montréal")
    assert chat.refused is None
    assert chat.public() == [
        "Fuseau horaire du cercle : America/Montreal (heure de Montréal ; il y est 08:00). "
        "Les dates des séances se lisent désormais à cette heure-là."
    ]
    await chat.say("anim", "/cercle fuseau Abidjan")
    assert "(heure d'Abidjan ; il y est 13:00)" in chat.public()[0]


async def test_an_ambiguous_place_offers_a_short_list(chat: Chat) -> None:
    await chat.say("anim", "/cercle creer Essai")
    await chat.say("anim", "/cercle fuseau Canada")
    assert chat.refused == "circle.timezone_choose"
    assert chat.text.startswith("« Canada » a plusieurs fuseaux horaires : America/Halifax")
    assert chat.text.endswith("Choisissez le vôtre, par exemple : /cercle fuseau America/Halifax")
    await chat.say("anim", "/cercle fuseau")
    assert "Europe/Paris" in chat.text  # nothing changed


async def test_an_unknown_place_says_what_to_type(chat: Chat) -> None:
    await chat.say("anim", "/circle create Trial")
    await chat.say("anim", "/circle language english")
    await chat.say("anim", "/circle timezone Atlantis")
    assert chat.refused == "circle.bad_timezone"
    assert "/circle timezone Paris" in chat.text


async def test_the_time_zone_left_out_shows_the_current_one(chat: Chat) -> None:
    await chat.say("anim", "/cercle creer Essai")
    await chat.say("anim", "/cercle fuseau")
    assert chat.refused is None
    assert chat.text == (
        "Fuseau horaire du cercle : Europe/Paris (heure de Paris ; il y est 14:00). "
        "Pour le changer, donnez une ville ou un fuseau : /cercle fuseau Montréal, "
        "/cercle fuseau Europe/Paris."
    )
    await chat.say("anim", "/cercle langue en")
    await chat.say("anim", "/circle timezone")
    assert chat.text.startswith("The circle's time zone: Europe/Paris (Paris time; it is 14:00")


@pytest.mark.parametrize("word", ["anglais", "english", "English", "en", "Anglais"])
async def test_languages_by_the_words_people_use(chat: Chat, word: str) -> None:
    await chat.say("anim", "/cercle creer Essai")
    await chat.say("anim", f"/cercle langue {word}")
    assert chat.public() == ["The circle now speaks English."]
    await chat.say("anim", "/circle language français")
    assert chat.public() == ["Le cercle parle désormais français."]


async def test_settings_left_out_show_the_current_value_and_how_to_change_it(
    chat: Chat,
) -> None:
    await chat.say("anim", "/cercle creer Essai")
    replies = {}
    for command in ("langue", "ordre", "inscriptions", "animateur"):
        await chat.say("anim", f"/cercle {command}")
        assert chat.refused is None, command
        replies[command] = chat.text
    assert replies["langue"] == (
        "Le cercle parle français. Pour qu'il parle anglais : /cercle langue anglais"
    )
    assert replies["ordre"].endswith("/cercle ordre equitable, ou /cercle ordre arrivee.")
    assert replies["inscriptions"].startswith("Les inscriptions sont ouvertes")
    assert replies["animateur"] == (
        "Animation du cercle : anim. Pour ajouter une personne : /cercle animateur @nom"
    )
    await chat.say("anim", "/cercle langue anglais")
    await chat.say("anim", "/circle language")
    assert chat.text.endswith("To have it speak French: /circle language french")
    await chat.say("anim", "/circle order")
    assert chat.text.endswith("/circle order fair, or /circle order arrival.")


async def test_an_excuse_with_a_reason_goes_to_the_facilitators(chat: Chat) -> None:
    await chat.say("anim", "/cercle creer Essai")
    await chat.say("anim", "/cercle animateur @camille")
    await chat.say("anim", "/seance cycle 2 1sem jeudi 10 décembre 14h")
    await chat.say("alice", "/excuse 2 je serai en déplacement")
    assert chat.refused is None
    assert chat.private_to("alice") == [
        "C'est noté : vous êtes excusé·e pour la séance 2.",
        "Votre raison (« je serai en déplacement ») est transmise à l'animation seulement.",
    ]
    note = "alice s'excuse pour la séance 2 : « je serai en déplacement »"
    assert chat.private_to("anim") == [note]
    assert chat.private_to("camille") == [note]
    assert chat.public() == []
    await chat.say("anim", "/seance liste")
    assert "   excusé·es : alice (je serai en déplacement)" in chat.text
    await chat.say("alice", "/seance liste")
    assert "excusé·es" not in chat.text  # the reason is for the facilitators only


async def test_an_excuse_reason_without_a_number_and_in_english(chat: Chat) -> None:
    await chat.say("anim", "/circle create Trial")
    await chat.say("anim", "/circle language en")
    await chat.say("anim", "/session cycle 2 every week from December 10 2pm")
    await chat.say("bob", "/excuse for session 2: my daughter's school play")
    assert chat.refused is None
    assert chat.private_to("bob")[0] == "Noted: you are excused from session 2."
    assert chat.private_to("anim") == [
        "bob sends apologies for session 2: 'my daughter's school play'"
    ]
    await chat.say("eve", "/excuse I am ill")
    assert chat.private_to("eve")[0] == "Noted: you are excused from session 1."
    assert chat.private_to("anim") == ["eve sends apologies for session 1: 'I am ill'"]


async def test_a_turn_keeps_its_topic_for_the_facilitators(chat: Chat) -> None:
    await chat.say("anim", "/cercle creer Essai")
    await chat.say("anim", "/seance")
    await chat.say("anim", "/seance phase libre")
    await chat.say("anim", "/tour")
    await chat.say("alice", "/tour je voudrais réagir sur le budget")
    assert chat.refused is None
    assert chat.private_to("alice") == [
        "C'est noté : vous êtes n° 1 dans la file, pour « je voudrais réagir sur le budget » "
        "(l'animation le voit dans /file)."
    ]
    assert "budget" not in (chat.status() or "")  # the channel's status keeps it private
    await chat.say("anim", "/file")
    assert "File : 1. alice (je voudrais réagir sur le budget)" in chat.text
    await chat.say("alice", "/file")
    assert "budget" not in chat.text
    await chat.say("anim", "/cercle langue en")
    await chat.say("bob", "/turn the hiring budget")
    assert chat.private_to("bob") == [
        "Noted: you are number 2 in the queue, about 'the hiring budget' "
        "(facilitators see it in /queue)."
    ]
    await chat.say("anim", "/queue")
    assert "2. bob (the hiring budget)" in chat.text
