"""/aide teaches: any command or subcommand with examples, each person's own commands, and how
to start in a channel without a circle; refusals end with what to type instead."""

from __future__ import annotations

from bot.registry import COMMANDS
from tests.conversation import Chat


async def test_help_on_a_subcommand_gives_its_examples(chat: Chat) -> None:
    await chat.say("anim", "/cercle creer Essai")
    await chat.say("anim", "/aide seance cycle")
    assert chat.refused is None
    text = chat.text
    assert text.startswith("`/seance cycle ")
    assert "Exemples :" in text
    assert "/seance cycle 4 2sem jeudi 14h — quatre séances" in text
    assert "Déléguer ; Recruter ; Financer ; Bilan" in text


async def test_a_subcommand_name_alone_finds_its_command(chat: Chat) -> None:
    await chat.say("anim", "/cercle creer Essai")
    await chat.say("anim", "/aide cycle")
    assert chat.text.startswith("`/seance cycle ")
    await chat.say("anim", "/aide /fuseau")
    assert chat.text.startswith("`/cercle fuseau ")
    assert "/cercle fuseau Montréal" in chat.text


async def test_help_on_a_command_lists_its_subcommands(chat: Chat) -> None:
    await chat.say("anim", "/cercle creer Essai")
    await chat.say("anim", "/aide cercle")
    assert "Sous-commandes de /cercle :" in chat.text
    assert "`/cercle langue " in chat.text
    assert "Détails et exemples d'une sous-commande : /aide cercle creer" in chat.text


async def test_help_in_english_speaks_english_names(chat: Chat) -> None:
    await chat.say("anim", "/circle create Trial")
    await chat.say("anim", "/circle language en")
    await chat.say("anim", "/help session plan")
    text = chat.text
    assert text.startswith("`/session plan ")
    assert "Examples:" in text
    assert "/session plan thursday 2pm — a session on Thursday at 2 pm" in text
    await chat.say("anim", "/help cycle")
    assert "/session cycle 4 2w thursday 2pm" in chat.text


async def test_every_command_and_subcommand_has_examples_in_both_languages(chat: Chat) -> None:
    tr = chat.core.translator
    for spec in COMMANDS:
        keys = [spec.key] if spec.handler is not None else []
        keys += [sub.key for sub in spec.subcommands]
        for key in keys:
            for lang in ("fr", "en"):
                assert tr.has(lang, f"help.example.{key}"), (lang, key)


async def test_help_without_a_circle_says_how_to_start(chat: Chat) -> None:
    await chat.say("newcomer", "/aide")
    text = chat.text
    assert "Cercle accompagne les cercles de pairs" in text
    assert "/cercle creer <nom>" in text
    await chat.say("newcomer", "/help")
    assert "/circle create <name>" in chat.text


async def test_participants_see_only_what_they_can_do(chat: Chat) -> None:
    await chat.say("anim", "/cercle creer Essai")
    await chat.say("alice", "/aide")
    participant = chat.text
    assert "`/tour [motif]`" in participant
    assert "`/cercle membres`" in participant
    for hidden in ("/seance planifier", "/seance cycle", "/cercle fuseau", "`/bilan", "`/decision"):
        assert hidden not in participant, hidden
    assert "Pour bien démarrer" not in participant
    assert "par exemple /aide tour." in participant
    await chat.say("anim", "/aide")
    facilitator = chat.text
    assert "Pour bien démarrer" in facilitator
    for shown in ("`/seance planifier", "`/seance cycle", "`/cercle fuseau", "`/bilan`"):
        assert shown in facilitator, shown


async def test_a_participant_asking_about_a_facilitator_command_is_told_so(chat: Chat) -> None:
    await chat.say("anim", "/cercle creer Essai")
    await chat.say("alice", "/aide bilan")
    assert "(réservé à l'animation du cercle)" in chat.text
    await chat.say("alice", "/aide cercle")
    assert "`/cercle membres`" in chat.text
    assert "/cercle fuseau" not in chat.text


async def test_unknown_help_topic_is_refused_with_the_way_on(chat: Chat) -> None:
    await chat.say("anim", "/cercle creer Essai")
    await chat.say("anim", "/aide bidule")
    assert chat.refused == "help.unknown_topic"
    assert "Tapez /aide pour voir toutes les commandes" in chat.text


async def test_a_refused_argument_comes_with_a_working_example(chat: Chat) -> None:
    await chat.say("anim", "/cercle creer Essai")
    await chat.say("anim", "/seance deplacer")
    assert chat.refused == "args.missing"
    assert "Par exemple : /seance deplacer 2 vendredi 18h" in chat.text
    assert "Plus d'aide : /aide seance deplacer" in chat.text
    await chat.say("anim", "/cercle language en")
    await chat.say("anim", "/note")
    assert "For example: /note Send the annual review guide" in chat.text
    assert "More help: /help note" in chat.text


async def test_a_command_that_takes_nothing_ignores_what_follows(chat: Chat) -> None:
    await chat.say("anim", "/cercle creer Essai")
    await chat.say("anim", "/seance")
    await chat.say("anim", "/seance phase libre")
    await chat.say("alice", "/tour")
    await chat.say("alice", "/fini merci à tous")
    assert chat.refused is None
    assert chat.public()[0].startswith("alice a terminé")
    await chat.say("anim", "/circle language en")
    await chat.say("alice", "/turn")
    await chat.say("alice", "/done thanks everyone")
    assert chat.refused is None
    assert chat.public()[0].startswith("alice has finished")
