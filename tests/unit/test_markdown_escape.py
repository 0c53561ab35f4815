"""People's words in the Discord recap embed read as typed: no bold, headings, masked links."""

from __future__ import annotations

from bot.effects import RecapPost
from bot.views.markdown import escape_markdown
from tests.conversation import Chat, start_circle


def test_marks_are_escaped_and_addresses_kept_whole() -> None:
    assert escape_markdown("**Zoé**") == r"\*\*Zoé\*\*"
    assert escape_markdown("[site](https://ex.org/a_b)") == r"\[site\](https://ex.org/a_b)"
    assert escape_markdown("# titre\n- liste\n3. trois") == "\\# titre\n\\- liste\n3\\. trois"
    assert escape_markdown("rien à signaler") == "rien à signaler"


async def test_the_recap_embed_escapes_names_and_notes(chat: Chat) -> None:
    await start_circle(chat, "**zoe")
    await chat.say("**zoe", "/note voir [le site officiel](https://example.org/x)")
    await chat.say("anim", "/seance fin")
    recaps = [e for e in chat.effects if isinstance(e, RecapPost) and e.embed is not None]
    assert recaps
    embed = recaps[-1].embed
    assert embed is not None
    texts = [embed.description, *(f.value for f in embed.fields)]
    joined = "\n".join(texts)
    assert r"\[le site officiel\](https://example.org/x)" in joined
    assert r"\*\*zoe" in joined
    assert "[le site officiel](" not in joined.replace("\\[le site officiel\\](", "")
