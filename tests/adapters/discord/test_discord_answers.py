"""Discord: options are values, every interaction is answered, nothing the bot posts pings."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.adapters.discord import test_discord_seance as seance
from tests.adapters.discord.loopback import LoopbackDiscord
from tests.adapters.discord.test_discord_seance import TIMEOUT, StartCercle, World, slash

world = seance.world  # the fixtures: a guild with a facilitator and three people, Cercle on it
start_cercle = seance.start_cercle

UPDATING = "Les commandes de Cercle sont en train d'être mises à jour"


async def _open_floor(loopback: LoopbackDiscord, world: World) -> None:
    anim = world.anim
    await slash(loopback, anim, world, "cercle creer", nom="Cercle")
    await slash(loopback, anim, world, "cercle protocole", nom="libre")
    await slash(loopback, anim, world, "seance ouvrir")
    await slash(loopback, anim, world, "seance phase", phase="suivante")


async def test_a_text_option_is_only_text(
    loopback: LoopbackDiscord, world: World, start_cercle: StartCercle
) -> None:
    await start_cercle()
    await _open_floor(loopback, world)
    ali = world.people["ali"]
    said = await slash(loopback, ali, world, "action ajouter", texte="relire la charte")
    assert "relire la charte" in said
    said = await slash(loopback, ali, world, "action ajouter", texte="fait 1")
    assert "fait 1" in said  # recorded as action 2, not "action 1 done"
    said = await slash(loopback, ali, world, "action ajouter", texte="@everyone /seance fin")
    assert "@everyone /seance fin" in said
    said = await slash(loopback, ali, world, "action fait", n=1)
    assert "relire la charte" in said  # action 1 was still open


async def test_every_answer_carries_allowed_mentions(
    loopback: LoopbackDiscord, world: World, start_cercle: StartCercle
) -> None:
    await start_cercle()
    await _open_floor(loopback, world)
    ali, bea = world.people["ali"], world.people["bea"]
    await slash(loopback, ali, world, "tour")
    interaction = await loopback.send_slash(bea, world.channel, "tour", {"motif": "@here"})
    callback = await interaction.wait_callback(TIMEOUT)
    assert callback.ephemeral
    allowed = callback.data.get("allowed_mentions")
    assert allowed is not None
    assert allowed.get("parse") == []
    interaction = await loopback.send_slash(ali, world.channel, "note", {"texte": "@everyone"})
    callback = await interaction.wait_callback(TIMEOUT)
    assert "@everyone" not in (callback.data.get("allowed_mentions") or {}).get("parse", [])


async def test_a_stale_command_gets_an_answer(
    loopback: LoopbackDiscord, world: World, start_cercle: StartCercle
) -> None:
    adapter = await start_cercle()
    await _open_floor(loopback, world)
    # the bot no longer knows /file, but Discord still lists it (an upgrade not synced yet)
    adapter.tree.remove_command("file", guild=world.guild)
    adapter.tree.remove_command("file")
    interaction = await loopback.send_slash(world.people["ali"], world.channel, "file")
    callback = await interaction.wait_callback(TIMEOUT)
    assert callback.ephemeral
    assert (callback.content or "").startswith(UPDATING)


async def test_options_that_no_longer_match_get_an_answer(
    loopback: LoopbackDiscord, world: World, start_cercle: StartCercle
) -> None:
    await start_cercle()
    await _open_floor(loopback, world)
    # Discord still has an older /note whose text was optional; this version requires it
    registered = loopback.registered_commands(world.guild)
    note = next(c for c in registered if c["name"] == "note")
    for option in note["options"]:
        option["required"] = False
    interaction = await loopback.send_slash(world.people["ali"], world.channel, "note")
    callback = await interaction.wait_callback(TIMEOUT)
    assert callback.ephemeral
    assert (callback.content or "").startswith(UPDATING)


async def test_an_unknown_button_gets_an_answer(
    loopback: LoopbackDiscord, world: World, start_cercle: StartCercle
) -> None:
    await start_cercle()
    await _open_floor(loopback, world)
    status = await loopback.wait_message(
        world.channel, lambda m: bool(m.embeds) and bool(m.custom_ids()), TIMEOUT
    )
    button = status.component("cercle:tour")
    assert button is not None
    button["custom_id"] = "cercle:ancien"  # a button of an older version
    clicked = await loopback.click(world.people["ali"], status, "cercle:ancien")
    callback = await clicked.wait_callback(TIMEOUT)
    assert callback.ephemeral
    assert (callback.content or "").startswith(UPDATING)


async def test_names_and_links_are_escaped_in_the_status_and_answers(
    loopback: LoopbackDiscord, world: World, start_cercle: StartCercle
) -> None:
    bold = loopback.add_member(world.guild, "**gras", locale="fr")
    await start_cercle()
    await _open_floor(loopback, world)
    said = await slash(loopback, bold, world, "tour")
    assert said.endswith(r"\*\*gras, vous avez la parole.")

    def escaped() -> bool:
        return any(
            r"\*\*gras" in (e.get("description") or "")
            for m in world.channel.posted
            for e in m.embeds
        )

    await loopback.wait_for(escaped, TIMEOUT, what="the status with the name escaped")


async def test_dates_are_discord_timestamps(
    loopback: LoopbackDiscord, world: World, start_cercle: StartCercle
) -> None:
    await start_cercle()
    anim = world.anim
    await slash(loopback, anim, world, "cercle creer", nom="Cercle")
    said = await slash(
        loopback,
        anim,
        world,
        "seance planifier",
        **{"quand-sujet-question": "mardi 8 décembre 14h"},
    )
    at = int(datetime(2026, 12, 8, 13, 0, tzinfo=UTC).timestamp())  # 14:00 in Paris
    assert f"<t:{at}:F> (<t:{at}:R>)" in said
    assert "14:00" not in said
