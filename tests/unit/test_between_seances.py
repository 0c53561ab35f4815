"""Between séances: preparation answers and RSVPs, as the people of a circle live them."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.effects import Reply
from tests.conversation import Chat, user

# The Chat clock starts on Thursday 3 December 2026, 13:00 UTC; séance 1 is a week later.
SEANCE_1 = datetime(2026, 12, 10, 13, 0, tzinfo=UTC)


async def plan_circle(chat: Chat) -> None:
    await chat.script(
        "anim: /cercle creer Cercle ESS",
        "alice: /aide",
        "bob: /aide",
        "chloe: /aide",
        "anim: /seance planifier 2026-12-10 14:00 | Déléguer | Que ne déléguez-vous pas ?",
    )


async def until(chat: Chat, instant: datetime) -> None:
    await chat.wait(seconds=(instant - chat.clock.now()).total_seconds())


def confidential_to(chat: Chat, name: str) -> list[str]:
    return [
        e.text for e in chat.last if isinstance(e, Reply) and e.confidential and e.to == user(name)
    ]


async def test_an_answer_is_private_editable_and_shared_on_request(chat: Chat) -> None:
    await plan_circle(chat)
    await chat.say("alice", "/prepa Je garde toute la compta")
    assert chat.public() == []
    assert chat.private_to("alice") == [
        "Réponse enregistrée pour la séance 1 (visible par l'animation seulement). "
        "Vous pouvez la réécrire jusqu'à l'ouverture ; /prepa partager la montre au cercle."
    ]
    await chat.say("alice", "/prepa Je garde la compta et les recrutements")
    assert chat.private_to("alice") == [
        "Réponse modifiée pour la séance 1 (visible par l'animation seulement)."
    ]
    await chat.say("alice", "/prepa partager")
    assert chat.private_to("alice") == [
        "Votre réponse pour la séance 1 est maintenant visible par tout le cercle."
    ]
    await chat.say("alice", "/prepa")
    assert chat.private_to("alice") == [
        "Votre réponse pour la séance 1 (visible par tout le cercle) : "
        "Je garde la compta et les recrutements"
    ]
    await chat.say("bob", "/prepa partager")
    assert chat.refused == "prepa.no_answer"
    await chat.say("bob", "/prepa voir")
    assert chat.refused == "permission.facilitator_only"
    await chat.say("anim", "/prepa voir")
    assert confidential_to(chat, "anim") == [
        "Réponses à la préparation de la séance 1 (1) :\n"
        "- alice (partagée) : Je garde la compta et les recrutements\n"
        "Pas encore de réponse : bob, chloe"
    ]


async def test_answers_close_when_the_seance_opens_and_reach_the_right_people(
    chat: Chat,
) -> None:
    await plan_circle(chat)
    await chat.script(
        "alice: /prepa Je garde la compta",
        "alice: /prepa partager",
        "bob: /prepa Je ne délègue pas les relations avec le conseil",
    )
    await until(chat, SEANCE_1)
    await chat.say("anim", "/seance")
    opened = chat.public()
    assert opened[1] == (
        "Réponses partagées avec le cercle pour préparer la séance 1 (1) :\n"
        "- alice : Je garde la compta"
    )
    assert "conseil" not in "\n".join(opened)
    assert confidential_to(chat, "anim") == [
        "Réponses à la préparation de la séance 1 (2) :\n"
        "- alice (partagée) : Je garde la compta\n"
        "- bob : Je ne délègue pas les relations avec le conseil"
    ]
    await chat.say("bob", "/prepa Trop tard")
    assert chat.refused == "prepa.nothing_planned"
    await chat.say("anim", "/seance fin")
    recap = chat.recaps()[-1]
    assert "Préparation partagée" in recap
    assert "alice : Je garde la compta" in recap
    assert "conseil" not in recap


async def test_the_reminder_goes_to_who_has_not_answered_only_when_asked(chat: Chat) -> None:
    await plan_circle(chat)
    await chat.script("alice: /prepa Ma réponse", "bob: /presence non")
    await until(chat, SEANCE_1.replace(day=9))
    reminders = [t for t in confidential_to(chat, "chloe") if "pas encore répondu" in t]
    assert reminders == []  # off by default
    await chat.say("anim", "/cercle rappels reponses oui")
    assert chat.refused is None
    await chat.say("anim", "/seance planifier 2026-12-17 14:00 | Suite | Et depuis ?")
    await until(chat, datetime(2026, 12, 11, 13, 0, tzinfo=UTC))  # séance 1 is past
    await chat.script("alice: /presence oui 2", "alice: /prepa Encore moi")
    await until(chat, datetime(2026, 12, 16, 13, 0, tzinfo=UTC))
    reminded = [
        e.to.id
        for e in chat.last
        if isinstance(e, Reply) and e.confidential and e.to and "pas encore répondu" in e.text
    ]
    assert reminded == ["bob", "chloe"]  # alice answered; anim facilitates


async def test_rsvp_counts_names_and_excuses(chat: Chat) -> None:
    await plan_circle(chat)
    await chat.say("bob", "/presence non")
    assert chat.private_to("bob") == [
        "C'est noté : vous êtes excusé·e pour la séance 1 (jeudi 10 décembre 2026 à 14:00)."
    ]
    await chat.say("chloe", "/presence non")
    await chat.say("alice", "/presence peut-être")
    await chat.say("alice", "/presence sans-doute")
    assert chat.refused == "args.bad_choice"
    await chat.say("alice", "/presence oui 7")
    assert chat.refused == "seance.unknown_number"
    await chat.say("chloe", "/presence oui")  # changes her mind: no longer excused
    await chat.say("chloe", "/presence non")
    await chat.say("anim", "/seance liste")
    assert chat.private_to("anim")[0].endswith(
        "Présences annoncées pour la séance 1 :\n"
        "- oui : 0 (—)\n"
        "- peut-être : 1 (alice)\n"
        "- non : 2 (bob, chloe)\n"
        "- sans réponse : 1 (anim)"
    )
    await chat.say("alice", "/seance liste")
    assert "Présences" not in chat.text
    await until(chat, SEANCE_1.replace(day=9))
    assert [v.text for v in chat.live("rsvp")] == [
        "Serez-vous là à la séance 1 (jeudi 10 décembre 2026 à 14:00) ?\n"
        "Répondez /presence oui, non ou peut-etre.\n"
        "Réponses — oui : 0 · peut-être : 1 (alice) · non : 2"
    ]
    assert confidential_to(chat, "anim")[0].startswith("Présences annoncées pour la séance 1 :")
    await until(chat, SEANCE_1)
    await chat.say("anim", "/seance")
    await chat.say("anim", "/seance fin")
    recap = chat.recaps()[-1]
    assert "Excusé·es : 2 (bob, chloe)" in recap or "bob, chloe" in recap


async def test_rsvp_in_english(chat: Chat) -> None:
    await plan_circle(chat)
    await chat.say("anim", "/cercle langue en")
    await chat.say("alice", "/rsvp maybe")
    assert chat.private_to("alice") == [
        "Noted: maybe for session 1 (Thursday 10 December 2026 at 14:00). "
        "You can confirm with /rsvp yes or no."
    ]
    await chat.say("alice", "/prep It is about trust")
    assert chat.private_to("alice")[0].startswith("Answer recorded for session 1 (visible to")


async def test_forgetting_removes_answers_and_rsvps(chat: Chat) -> None:
    await plan_circle(chat)
    await chat.script("bob: /prepa Ma réponse", "bob: /presence peut-etre")
    await chat.say("bob", "/oubli")
    erased = "réponses de préparation et de présence, voix et cas proposés (2) supprimés ;"
    assert erased in chat.text
    await chat.say("bob", "/oubli confirmer")
    await chat.say("anim", "/prepa voir")
    assert "Ma réponse" not in chat.text
    await chat.say("anim", "/presence")
    assert "bob" not in chat.text


async def test_forgetting_the_holder_of_a_chosen_case_is_said_as_it_is(chat: Chat) -> None:
    """The chosen case is kept without the name (not "deleted"), the other cases keep their
    votes, and the facilitators learn that the séance has no holder for its case any more."""
    await plan_circle(chat)
    await chat.script(
        "bob: /cas proposer Mon CA ne suit pas",
        "chloe: /cas proposer Recruter un DAF",
        "alice: /cas voter 1",
        "anim: /cas choisir",
        "alice: /cas voter 2",
    )
    await chat.say("bob", "/oubli")
    assert "cas déjà choisis pour une séance (1) gardés sans nom" in chat.text
    assert "voix et cas proposés" not in chat.text  # nothing of bob's is deleted there
    await chat.say("bob", "/oubli confirmer")
    assert chat.private_to("anim") == [
        "Le cas choisi pour la séance 1 (« Mon CA ne suit pas ») n'a plus personne pour le "
        "porter : la personne a quitté le cercle. Choisissez-en un autre avec /cas choisir, ou "
        "gardez-le sans porteur."
    ]
    await chat.say("anim", "/cas")
    assert "n° 2 Recruter un DAF — chloe — 1 voix" in chat.text
    await chat.say("anim", "/cas choisir 2")
    assert chat.refused is None, chat.text
    assert "le cas de chloe — Recruter un DAF" in chat.public()[0]
    await chat.say("anim", "/cercle membres")
    numbers = [line.split(".")[0] for line in chat.text.splitlines()[1:-1]]
    assert numbers == ["1", "2", "3"]  # anim, alice, chloe: no gap where bob was


async def test_an_action_between_seances_reminded_blocked_then_done(chat: Chat) -> None:
    await chat.script(
        "anim: /cercle creer Cercle ESS",
        "anim: /seance",
        "alice: /present",
        "bob: /present",
        "alice: /action Relancer le conseil échéance 2026-12-17",
        "bob: /action Appeler la banque",
        "anim: /decision On mutualise la compta",
        "anim: /seance fin",
    )
    # two days before the due date, at 09:00 in Paris, alice alone is reminded, privately
    await until(chat, datetime(2026, 12, 15, 7, 59, tzinfo=UTC))
    assert confidential_to(chat, "alice") == []
    await until(chat, datetime(2026, 12, 15, 8, 0, tzinfo=UTC))
    assert confidential_to(chat, "alice") == [
        "Rappel : votre action n° 1 « Relancer le conseil » est prévue pour le "
        "jeudi 17 décembre 2026. Où en êtes-vous ? /action fait 1, /action encours 1, "
        "/action bloque 1 [mot] ou /action aide 1 [mot]."
    ]
    assert chat.public() == []
    await chat.say("bob", "/action bloque 1 pas moi")
    assert chat.refused == "action.not_yours_progress"
    await chat.say("alice", "/action bloque 9")
    assert chat.refused == "action.unknown"
    await chat.say("alice", "/action bloque 1 le budget n'est pas voté")
    assert chat.public() == [
        "Action n° 1 bloquée : Relancer le conseil (alice).",
        "« le budget n'est pas voté »",
    ]
    await chat.say("bob", "/action encours 2")
    await chat.say("alice", "/action fait 1")
    await chat.say("alice", "/action encours 1")
    assert chat.refused == "action.already_done"
    await chat.wait(days=3)  # no second reminder
    assert confidential_to(chat, "alice") == []
    await chat.script(
        "anim: /seance planifier 2026-12-20 14:00 | Suite",
    )
    await until(chat, datetime(2026, 12, 20, 13, 0, tzinfo=UTC))
    await chat.script("anim: /seance", "anim: /seance phase suivante")
    assert chat.public()[0] == (  # before the phase and its first speaker
        "Retour sur la séance 1\n"
        "Décisions :\n"
        "- #3 On mutualise la compta\n"
        "Actions ouvertes (1) :\n"
        "- #2 Appeler la banque — bob — en cours"
    )
    await chat.say("anim", "/seance phase suivante")
    assert "Retour sur la séance" not in chat.text  # once, at the first phase


async def test_the_follow_up_shows_how_each_action_stands(chat: Chat) -> None:
    await chat.script(
        "anim: /cercle creer Cercle ESS",
        "anim: /seance",
        "alice: /action Relancer le conseil",
        "anim: /seance fin",
        "alice: /action aide 1 qui connaît la présidente ?",
    )
    await chat.wait(days=7)
    assert [v.text for v in chat.live("follow_up")] == [
        "Une semaine après la séance 1 : où en sont les actions ? (1 ouverte)\n"
        "- #1 Relancer le conseil — alice — besoin d'aide (qui connaît la présidente ?)"
    ]


async def test_cases_proposed_voted_and_chosen_for_the_next_seance(chat: Chat) -> None:
    await chat.script(
        "anim: /cercle creer Cercle ESS",
        "anim: /cercle protocole codev",
        "alice: /aide",
        "bob: /aide",
        "chloe: /aide",
        "anim: /seance planifier 2026-12-10 14:00",
        "alice: /cas proposer Déléguer la compta sans tout lâcher",
        "bob: /cas proposer Un salarié qui décroche",
        "chloe: /cas proposer Parler argent avec un client",
        "chloe: /cas proposer Le conseil qui ne décide rien",
    )
    assert chat.public() == [
        "Cas n° 4 proposé par chloe : Le conseil qui ne décide rien. Votez avec /cas voter 4."
    ]
    await chat.script(
        "alice: /cas voter 2",
        "alice: /cas voter 2",
        "alice: /cas voter 1",
        "chloe: /cas voter 1",
        "chloe: /cas voter 2",
        "bob: /cas voter 1",
    )
    await chat.say("alice", "/cas voter 3")
    assert chat.refused == "cases.no_votes_left"
    assert chat.text == "Vous avez déjà utilisé vos 3 voix."
    await chat.say("bob", "/cas voter 9")
    assert chat.refused == "cases.unknown"
    await chat.say("bob", "/cas choisir")
    assert chat.refused == "permission.facilitator_only"
    await chat.say("bob", "/cas")
    assert chat.private_to("bob") == [
        "Cas proposés (4) :\n"
        "- n° 1 Déléguer la compta sans tout lâcher — alice — 3 voix\n"
        "- n° 2 Un salarié qui décroche — bob — 3 voix\n"
        "- n° 3 Parler argent avec un client — chloe — 0 voix\n"
        "- n° 4 Le conseil qui ne décide rien — chloe — 0 voix\n"
        "Vote ouvert : il vous reste 2 voix sur 3 (/cas voter <n>)."
    ]
    await chat.say("anim", "/cas clore")
    await chat.say("bob", "/cas voter 2")
    assert chat.refused == "cases.vote_closed"
    await chat.say("anim", "/cas choisir")  # a tie: case 1 goes first (equal history)
    assert chat.public() == [
        "Séance 1 (jeudi 10 décembre 2026 à 14:00) : le cas d'alice — Déléguer la compta sans "
        "tout lâcher (3 voix). alice tiendra l'exposé, le contrat et le plan d'action.",
        # bob's case had votes too: they are not dropped without a word
        "Les voix repartent à zéro pour choisir le cas suivant : les cas qui en avaient (n° 2) "
        "restent proposés, votez à nouveau avec /cas voter <n>.",
    ]
    await chat.say("bob", "/cas")
    assert chat.private_to("bob")[0].startswith("Cas proposés (3) :\n- n° 2 Un salarié")
    await until(chat, SEANCE_1)
    await chat.script(
        "anim: /seance", "anim: /seance phase suivante", "anim: /seance phase suivante"
    )
    assert chat.texts[-1] == "alice, vous avez la parole."  # the exposé goes to the holder


async def test_a_tie_goes_to_who_has_held_a_case_least(chat: Chat) -> None:
    await chat.script(
        "anim: /cercle creer Cercle ESS",
        "anim: /seance planifier 2026-12-10 14:00",
        "alice: /cas proposer Premier",
        "bob: /cas proposer Second",
        "anim: /cas choisir 1",
        "anim: /seance planifier 2026-12-17 14:00",
        "alice: /cas proposer Encore moi",
        "alice: /cas voter 3",
        "bob: /cas voter 2",
    )
    await until(chat, SEANCE_1.replace(day=11))
    await chat.say("anim", "/cas choisir")
    assert "le cas de bob — Second (1 voix)" in chat.public()[0]


async def test_a_case_is_not_given_to_a_holder_who_will_not_come(chat: Chat) -> None:
    await chat.script(
        "anim: /cercle creer Cercle ESS",
        "anim: /seance planifier 2026-12-10 14:00",
        "alice: /cas proposer Premier",
        "bob: /cas proposer Second",
        "chloe: /cas voter 1",
        "chloe: /cas voter 1",
        "alice: /presence non",
    )
    await chat.say("anim", "/cas choisir")  # the most voted is alice's: asked, not skipped
    assert chat.refused == "cases.top_holder_excused"
    assert chat.text == (
        "Le cas le plus voté (n° 1, Premier) est porté par alice, excusé·e pour la séance 1. "
        "Pour choisir le suivant : /cas choisir 2 (Second, de bob). Ou gardez-le pour une "
        "séance où alice sera là."
    )
    await chat.say("anim", "/cas choisir 1")
    assert chat.refused == "cases.holder_excused"
    assert "/presence oui 1" in chat.text
    await chat.say("bob", "/excuse")
    await chat.say("anim", "/cas choisir")
    assert chat.refused == "cases.every_holder_excused"
    await chat.say("alice", "/presence oui")
    await chat.say("anim", "/cas choisir")
    assert "le cas d'alice — Premier (2 voix)" in chat.public()[0]


async def test_the_case_holder_listens_during_the_consultation(chat: Chat) -> None:
    await chat.script(
        "anim: /cercle creer Cercle ESS",
        "anim: /cercle protocole codev",
        "anim: /seance planifier 2026-12-10 14:00",
        "bob: /cas proposer Un salarié qui décroche",
        "anim: /cas choisir",
    )
    await until(chat, SEANCE_1)
    await chat.script("anim: /seance", "alice: /present", "bob: /present")
    for _ in range(5):  # retour, exposé, clarification, contrat, consultation
        await chat.script("anim: /seance phase suivante")
    await chat.say("bob", "/tour")
    assert chat.refused == "cases.holder_listens"
    assert chat.private_to("bob")[0].startswith("Pendant la consultation, la personne qui porte")
    await chat.say("alice", "/tour")
    assert chat.refused is None


async def test_single_speaker_phases_are_left_out_of_the_fair_share(chat: Chat) -> None:
    await chat.script(
        "anim: /cercle creer Cercle ESS",
        "anim: /cercle protocole codev",
        "anim: /seance",
        "alice: /present",
        "bob: /present",
        "anim: /seance cas @bob",
        "anim: /seance phase suivante",  # retour: a round
        "anim: /passe",
        "alice: /passe",
        "bob: /passe",
        "anim: /seance phase suivante",  # exposé: bob alone
    )
    await chat.wait(minutes=8)
    await chat.script("bob: /fini", "anim: /seance phase suivante", "alice: /tour")
    await chat.wait(minutes=2)
    await chat.script("alice: /fini", "anim: /seance fin")
    recap = chat.recaps()[-1]
    assert "### Phases à une voix (hors part équitable)\n- bob : 8 min 00 s (1 tour)" in recap
    speaking = recap.split("### Temps de parole")[1].split("###")[0]
    assert "- alice : 2 min 00 s (1 tour)" in speaking
    assert "8 min" not in speaking


async def test_the_list_of_actions_says_how_each_stands(chat: Chat) -> None:
    await chat.script(
        "anim: /cercle creer Cercle ESS",
        "anim: /seance",
        "bob: /action Appeler la banque",
        "bob: /action Relire les statuts",
        "anim: /seance fin",
        "bob: /action bloque 2 le CA n'a pas répondu",
    )
    await chat.say("anim", "/actions")
    assert chat.private_to("anim") == [
        "Actions ouvertes du cercle :\n"
        "n° 1 — Appeler la banque (bob)\n"
        "n° 2 — Relire les statuts (bob) — bloquée (le CA n'a pas répondu)\n"
        "Une action est faite ? Tapez /action fait <n°>."
    ]


async def test_coming_after_an_excuse_forgets_its_reason(chat: Chat) -> None:
    await plan_circle(chat)
    await chat.script("alice: /excuse 1 malade", "alice: /presence oui", "alice: /presence non")
    await chat.say("anim", "/seance liste")
    assert "excusé·es : alice" in chat.text
    assert "malade" not in chat.text
