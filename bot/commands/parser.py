"""One text parser for every platform that sends commands as text (console, Matrix)."""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bot.commands.spec import ArgKind, ArgSpec, CommandSpec, base_subcommand
from bot.domain.refs import UserRef
from bot.errors import Refusal

PREFIXES = ("/", "!")
MAX_COMMAND_LENGTH = 4000

UserResolver = Callable[[str], UserRef | None]


@dataclass(frozen=True, slots=True)
class ParsedCommand:
    """A command found in a message, with its arguments converted."""

    spec: CommandSpec
    args: dict[str, Any]
    parent: CommandSpec | None = None
    english: bool = False  # typed with its English name (`/circle create`)


def fold(word: str) -> str:
    """Lower-case without accents: `Séance` and `seance` are the same command."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def looks_like_command(text: str) -> bool:
    stripped = text.lstrip()
    return len(stripped) > 1 and stripped[0] in PREFIXES and stripped[1].isalpha()


def _split_first(text: str) -> tuple[str, str]:
    text = text.lstrip()
    head, _, rest = text.partition(" ")
    if "\n" in head:
        head, _, more = head.partition("\n")
        rest = more + (" " + rest if rest else "")
    return head, rest.strip()


def _find(specs: Sequence[CommandSpec], word: str) -> CommandSpec | None:
    folded = fold(word)
    for spec in specs:
        if folded in (fold(w) for w in spec.words()):
            return spec
    return None


def _names_own_form(spec: CommandSpec, word: str, rest: str) -> bool:
    """`/seance ouvrir`, `/action ajouter @bea …`: the word Discord lists the command's own form
    under. Before free text it is taken for that word only when a mention follows: "/action
    ajouter des chaises" is an action's text."""
    if spec.handler is None or not word or fold(word) not in map(fold, base_subcommand(spec)):
        return False
    free_text = any(arg.kind is ArgKind.REST and arg.name == "text" for arg in spec.args)
    return not free_text or not rest or rest.startswith("@")


class CommandParser:
    """Turns `/tour je voudrais réagir` into the `tour` command with its arguments."""

    def __init__(self, commands: Sequence[CommandSpec]) -> None:
        self.commands = tuple(commands)
        self._by_word = {fold(w): spec for spec in reversed(self.commands) for w in spec.words()}

    def find(self, name: str) -> CommandSpec | None:
        return self._by_word.get(fold(name))

    def by_key(self, key: str) -> tuple[CommandSpec, CommandSpec | None] | None:
        """The command (and its parent) named by a key such as `seance phase`."""
        words = key.split()
        spec = _find(self.commands, words[0]) if words else None
        if spec is None or len(words) == 1:
            return (spec, None) if spec else None
        sub = _find(spec.subcommands, words[1])
        return (sub, spec) if sub else None

    def parse(self, text: str, resolve_user: UserResolver) -> ParsedCommand:
        if len(text) > MAX_COMMAND_LENGTH:
            raise Refusal("command.too_long", limit=MAX_COMMAND_LENGTH)
        head, rest = _split_first(text)
        name = head[1:]
        spec = self.find(name)
        if spec is None:
            raise _unknown(name, self._by_word, None)
        english = _is_english(spec, name)
        parent: CommandSpec | None = None
        if spec.subcommands:
            sub_word, sub_rest = _split_first(rest)
            sub = _find(spec.subcommands, sub_word) if sub_word else None
            if sub is not None:
                english = english or _is_english(sub, sub_word)
                parent, spec, rest = spec, sub, sub_rest
            elif _names_own_form(spec, sub_word, sub_rest):
                rest = sub_rest
            elif spec.handler is None or (sub_word and not spec.args):
                if sub_word:
                    raise unknown_word(sub_word, spec)
                raise Refusal("command.missing_sub", command=spec.fr)
        args = self._parse_args(spec, rest, resolve_user, parent)
        return ParsedCommand(spec, args, parent, english)

    def check(self, parsed: ParsedCommand) -> ParsedCommand:
        """Validate a command a platform handed over already parsed (a Discord slash command's
        options, a button): the same rules as typed text, but a value is never read again as
        a command or a mention. Text values are stripped; an empty one counts as left out."""
        spec, parent = parsed.spec, parsed.parent
        known = self.by_key(spec.key.replace(".", " "))
        if known is None or known[0] is not spec:
            raise Refusal("command.unknown", name=spec.fr)
        if spec.handler is None:
            raise Refusal("command.missing_sub", command=spec.fr)
        size = sum(len(str(v)) for v in parsed.args.values())
        if size > MAX_COMMAND_LENGTH:
            raise Refusal("command.too_long", limit=MAX_COMMAND_LENGTH)
        usage = _usage_key(spec, parent)
        declared = {arg.name for arg in spec.args}
        extra = [name for name in parsed.args if name not in declared]
        if extra:
            raise Refusal("args.too_many", extra=extra[0][:40], usage=usage)
        values: dict[str, Any] = {}
        for arg in spec.args:
            value = parsed.args.get(arg.name)
            if isinstance(value, str):
                value = value.strip() or None
            if value is None:
                if arg.required:
                    raise _missing(arg, spec, parent)
                continue
            values[arg.name] = _check_value(arg, value, usage)
        return ParsedCommand(spec, values, known[1])

    def _parse_args(
        self,
        spec: CommandSpec,
        rest: str,
        resolve_user: UserResolver,
        parent: CommandSpec | None,
    ) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for arg in spec.args:
            if arg.kind is ArgKind.REST:
                text = rest.strip()
                rest = ""
                if not text:
                    if arg.required:
                        raise _missing(arg, spec, parent)
                    continue
                values[arg.name] = text
                continue
            word, after = _split_first(rest)
            if not word:
                if arg.required:
                    raise _missing(arg, spec, parent)
                continue
            if (
                arg.kind is ArgKind.USER
                and not arg.required
                and not word.startswith("@")
                and resolve_user(word) is None
            ):
                continue  # an optional mention left out: the word belongs to what follows
            if (
                arg.kind in (ArgKind.INT, ArgKind.SEANCE)
                and not arg.required
                and not any(c.isdigit() for c in word)
                and spec.args[-1].kind is ArgKind.REST
            ):
                continue  # "/excuse je serai en déplacement": no number, the words follow
            rest = after
            values[arg.name] = _convert(arg, word, resolve_user, spec, parent)
        if rest.strip() and spec.args:
            raise Refusal("args.too_many", extra=rest.strip()[:40], usage=_usage_key(spec, parent))
        # A command that takes nothing ignores what follows: "/fini merci à tous" ends the turn.
        return values


def _is_english(spec: CommandSpec, word: str) -> bool:
    return fold(word) == fold(spec.en) != fold(spec.fr)


def _unknown(word: str, known: dict[str, CommandSpec], parent: CommandSpec | None) -> Refusal:
    """An unknown (sub)command, with the nearest known one when a typo is likely."""
    shown = word[:40]
    close = difflib.get_close_matches(fold(word)[:40], list(known), n=1, cutoff=0.75)
    if close:
        spec = known[close[0]]
        suggestion = f"{parent.fr} {spec.fr}" if parent else spec.fr
        return Refusal("command.did_you_mean", name=shown, suggestion=suggestion)
    if parent is not None:
        return Refusal("command.unknown_sub", command=parent.fr, name=shown)
    return Refusal("command.unknown", name=shown)


def unknown_word(word: str, parent: CommandSpec) -> Refusal:
    """The refusal for a word that is none of `parent`'s subcommands, with the nearest one."""
    known = {fold(w): s for s in parent.subcommands for w in s.words()}
    return _unknown(word, known, parent)


def _usage_key(spec: CommandSpec, parent: CommandSpec | None) -> str:
    return f"{parent.fr} {spec.fr}" if parent else spec.fr


def _missing(arg: ArgSpec, spec: CommandSpec, parent: CommandSpec | None) -> Refusal:
    return Refusal("args.missing", arg=arg.name, usage=_usage_key(spec, parent))


def _check_value(arg: ArgSpec, value: Any, usage: str) -> Any:
    if arg.kind is ArgKind.SEANCE:  # a number (as a number or as digits) or a date
        if isinstance(value, str) and value.isdigit():
            value = int(value) if len(value) <= 7 else value
        if isinstance(value, int):
            return _check_value(replace(arg, kind=ArgKind.INT), value, usage)
        text = str(value)
        if any(c.isdigit() for c in text) and len(text) <= 12:
            return text
        raise Refusal("args.bad_seance", value=text[:40], usage=usage)
    if arg.kind is ArgKind.INT:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1_000_000:
            raise Refusal("args.bad_number", value=str(value)[:40], usage=usage)
        return value
    if arg.kind is ArgKind.USER:
        if not isinstance(value, UserRef):
            raise Refusal("args.bad_user", value=str(value)[:60], usage=usage)
        return value
    if arg.kind is ArgKind.CHOICE:
        if value not in {choice.value for choice in arg.choices}:
            raise Refusal("args.bad_choice", value=str(value)[:40], usage=usage)
        return value
    text = str(value)
    if arg.kind is ArgKind.WORD and len(text.split()) > 1:
        raise Refusal("args.too_many", extra=text.split(maxsplit=1)[1][:40], usage=usage)
    return text


def _convert(
    arg: ArgSpec,
    word: str,
    resolve_user: UserResolver,
    spec: CommandSpec,
    parent: CommandSpec | None,
) -> Any:
    usage = _usage_key(spec, parent)
    if arg.kind is ArgKind.INT:
        try:
            number = int(word)
        except ValueError:
            raise Refusal("args.bad_number", value=word[:40], usage=usage) from None
        if number < 1 or number > 1_000_000:
            raise Refusal("args.bad_number", value=word[:40], usage=usage)
        return number
    if arg.kind is ArgKind.SEANCE:
        if word.isdigit():
            return _convert(replace(arg, kind=ArgKind.INT), word, resolve_user, spec, parent)
        if any(c.isdigit() for c in word) and len(word) <= 12:
            return word  # a date: the handler finds the séance of that day
        raise Refusal("args.bad_seance", value=word[:40], usage=usage)
    if arg.kind is ArgKind.USER:
        user = resolve_user(word)
        if user is None:
            raise Refusal("args.bad_user", value=word[:60], usage=usage)
        return user
    if arg.kind is ArgKind.CHOICE:
        folded = fold(word)
        for choice in arg.choices:
            if folded in (fold(w) for w in choice.words()):
                return choice.value
        raise Refusal("args.bad_choice", value=word[:40], usage=usage)
    return word
