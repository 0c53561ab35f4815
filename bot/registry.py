"""Every command, declared once: names, arguments, who may use it, and its handler."""

from __future__ import annotations

from dataclasses import replace

from bot.commands.spec import ArgKind, ArgSpec, Choice, CommandSpec
from bot.domain.circle import LANGUAGES
from bot.domain.roles import Role
from bot.handlers import (
    attendance,
    case_voting,
    cases,
    checkin,
    circle,
    export,
    followup,
    forget,
    help,
    items,
    link,
    planning,
    prepa,
    recap,
    recap_correction,
    report,
    rsvp,
    seance,
    seance_edit,
    topics,
    turns,
    voice,
)

P, F, A = Role.PARTICIPANT, Role.FACILITATOR, Role.ANYONE


def _with_parent(spec: CommandSpec) -> CommandSpec:
    subs = tuple(replace(s, parent=spec.fr) for s in spec.subcommands)
    return replace(spec, subcommands=subs)


def _arg(
    name: str,
    kind: ArgKind,
    fr: str,
    en: str,
    *,
    required: bool = True,
    choices: tuple[Choice, ...] = (),
) -> ArgSpec:
    return ArgSpec(name, kind, fr, en, required, choices)


TEXT = _arg("text", ArgKind.REST, "texte", "text")
SEANCE_NUMBER = _arg("number", ArgKind.SEANCE, "n|date", "n|date", required=False)
ITEM_NUMBER = _arg("number", ArgKind.INT, "n", "n")
VOTE_UNTIL = _arg("when", ArgKind.REST, "jusqua", "until", required=False)
NOTE = _arg("note", ArgKind.REST, "mot", "word", required=False)

# What people call each language, in either language ("/cercle langue anglais").
LANGUAGE_WORDS = {
    "fr": ("francais", "french", "fra", "fr-fr", "fr-ca"),
    "en": ("anglais", "english", "eng", "en-gb", "en-us"),
}

PHASE_CHOICES = (
    Choice("suivante", "suivante", "next"),
    Choice("tour", "tour", "round"),
    Choice("libre", "libre", "open"),
    Choice("unique", "unique", "single"),
)

COMMANDS: tuple[CommandSpec, ...] = tuple(
    _with_parent(spec)
    for spec in (
        CommandSpec(
            "tour",
            "turn",
            P,
            turns.tour,
            (_arg("motive", ArgKind.REST, "motif", "reason", required=False),),
            aliases=("main", "hand"),
        ),
        CommandSpec("passe", "pass", P, turns.passe),
        CommandSpec("fini", "done", P, turns.fini),
        CommandSpec("file", "queue", A, turns.file, marks_present=False),
        CommandSpec("suivant", "next", F, turns.suivant),
        CommandSpec("present", "here", P, attendance.present),
        CommandSpec(
            "excuse",
            "excuse",
            P,
            attendance.excuse,
            (
                SEANCE_NUMBER,
                _arg("reason", ArgKind.REST, "raison", "reason", required=False),
            ),
            marks_present=False,
        ),
        CommandSpec(
            "prepa",
            "prep",
            P,
            prepa.answer,
            (_arg("text", ArgKind.REST, "texte", "text", required=False),),
            subcommands=(
                CommandSpec("partager", "share", P, prepa.share, marks_present=False),
                CommandSpec(
                    "prive", "private", P, prepa.private, aliases=("privee",), marks_present=False
                ),
                CommandSpec("voir", "show", F, prepa.show, marks_present=False),
                CommandSpec(
                    "dm",
                    "dm",
                    P,
                    prepa.direct_messages,
                    (
                        _arg(
                            "state",
                            ArgKind.CHOICE,
                            "état",
                            "state",
                            choices=(
                                Choice("on", "oui", "yes", ("on",)),
                                Choice("off", "non", "no", ("off",)),
                            ),
                        ),
                    ),
                    marks_present=False,
                ),
            ),
            aliases=("preparation",),
            marks_present=False,
        ),
        CommandSpec(
            "presence",
            "rsvp",
            P,
            rsvp.presence,
            (
                _arg(
                    "answer",
                    ArgKind.CHOICE,
                    "réponse",
                    "answer",
                    required=False,
                    choices=(
                        Choice("yes", "oui", "yes"),
                        Choice("no", "non", "no"),
                        Choice("maybe", "peut-etre", "maybe", ("peutetre", "pe")),
                    ),
                ),
                SEANCE_NUMBER,
            ),
            marks_present=False,
        ),
        CommandSpec(
            "cas",
            "case",
            P,
            cases.listing,
            subcommands=(
                CommandSpec("proposer", "propose", P, cases.propose, (TEXT,), marks_present=False),
                CommandSpec("voter", "vote", P, cases.vote, (ITEM_NUMBER,), marks_present=False),
                CommandSpec("clore", "close", F, case_voting.close, marks_present=False),
                CommandSpec(
                    "ouvrir", "open", F, case_voting.open_vote, (VOTE_UNTIL,), marks_present=False
                ),
                CommandSpec(
                    "retirer",
                    "unvote",
                    P,
                    case_voting.withdraw,
                    (ITEM_NUMBER,),
                    aliases=("withdraw",),
                    marks_present=False,
                ),
                CommandSpec(
                    "choisir", "choose", F, cases.choose, (SEANCE_NUMBER,), marks_present=False
                ),
            ),
            aliases=("cases",),
            marks_present=False,
        ),
        CommandSpec(
            "sujet",
            "topic",
            P,
            topics.show,
            subcommands=(CommandSpec("suivant", "next", F, topics.move_on),),
            marks_present=False,
        ),
        CommandSpec(
            "prolonger",
            "extend",
            P,
            topics.extend,
            (
                _arg(
                    "answer",
                    ArgKind.CHOICE,
                    "réponse",
                    "answer",
                    choices=(Choice("yes", "oui", "yes"), Choice("no", "non", "no")),
                ),
            ),
        ),
        CommandSpec("note", "note", P, items.note, (TEXT,)),
        CommandSpec("decision", "decision", F, items.decision, (TEXT,)),
        CommandSpec(
            "action",
            "action",
            P,
            items.action,
            (_arg("owner", ArgKind.USER, "responsable", "owner", required=False), TEXT),
            subcommands=(
                CommandSpec(
                    "fait", "done", P, items.action_done, (ITEM_NUMBER,), aliases=("faite",)
                ),
                CommandSpec(
                    "encours",
                    "progress",
                    P,
                    followup.in_progress,
                    (ITEM_NUMBER, NOTE),
                    aliases=("en-cours", "in-progress", "inprogress"),
                ),
                CommandSpec(
                    "bloque",
                    "blocked",
                    P,
                    followup.blocked,
                    (ITEM_NUMBER, NOTE),
                    aliases=("bloquee",),
                ),
                CommandSpec("aide", "help", P, followup.needs_help, (ITEM_NUMBER, NOTE)),
            ),
        ),
        CommandSpec(
            "actions",
            "actions",
            P,
            items.open_actions,
            (
                _arg(
                    "whose",
                    ArgKind.CHOICE,
                    "tout",
                    "all",
                    required=False,
                    choices=(Choice("all", "tout", "all", ("toutes", "tous")),),
                ),
            ),
            marks_present=False,
        ),
        CommandSpec(
            "meteo",
            "weather",
            P,
            checkin.meteo,
            (_arg("word", ArgKind.REST, "mot", "word", required=False),),
            aliases=("checkin", "check-in"),
        ),
        CommandSpec(
            "recap",
            "recap",
            P,
            recap.show,
            (SEANCE_NUMBER,),
            subcommands=(
                CommandSpec("publier", "publish", F, recap.publish_draft, (SEANCE_NUMBER,)),
                CommandSpec(
                    "retirer", "withhold", F, recap.withhold, (ITEM_NUMBER,), aliases=("remove",)
                ),
                CommandSpec("remettre", "restore", F, recap.restore, (ITEM_NUMBER,)),
                CommandSpec(
                    "duree",
                    "duration",
                    F,
                    recap_correction.correct_duration,
                    (
                        _arg("member", ArgKind.USER, "membre", "member"),
                        _arg("minutes", ArgKind.WORD, "minutes", "minutes"),
                        _arg("which", ArgKind.INT, "n", "n", required=False),
                    ),
                    aliases=("length",),
                ),
            ),
            aliases=("recapitulatif",),
            marks_present=False,
        ),
        CommandSpec(
            "seance",
            "session",
            F,
            seance.open_seance,
            (_arg("which", ArgKind.REST, "n|date|extra", "n|date|extra", required=False),),
            subcommands=(
                CommandSpec(
                    "planifier",
                    "plan",
                    F,
                    planning.plan,
                    (
                        _arg(
                            "text",
                            ArgKind.REST,
                            "quand | sujet | question",
                            "when | topic | question",
                        ),
                    ),
                ),
                CommandSpec(
                    "cycle",
                    "cycle",
                    F,
                    planning.cycle,
                    (
                        _arg(
                            "text",
                            ArgKind.REST,
                            "nombre intervalle date | sujets | question",
                            "count interval date | topics | question",
                        ),
                    ),
                ),
                CommandSpec(
                    "deplacer",
                    "move",
                    F,
                    planning.move,
                    (
                        _arg("number", ArgKind.SEANCE, "n|date", "n|date"),
                        _arg("text", ArgKind.REST, "quand", "when"),
                    ),
                ),
                CommandSpec("liste", "list", P, planning.listing, marks_present=False),
                CommandSpec(
                    "phase",
                    "phase",
                    F,
                    seance.phase,
                    (
                        _arg("which", ArgKind.CHOICE, "phase", "phase", choices=PHASE_CHOICES),
                        _arg("speaker", ArgKind.USER, "membre", "member", required=False),
                    ),
                ),
                CommandSpec(
                    "cas",
                    "case",
                    F,
                    seance.case_owner,
                    (_arg("member", ArgKind.USER, "membre", "member"),),
                ),
                CommandSpec("pause", "pause", F, seance.pause),
                CommandSpec("reprendre", "resume", F, seance.resume, aliases=("reprise",)),
                CommandSpec("fin", "end", F, seance.close),
                CommandSpec("annuler", "cancel", F, seance.cancel, (SEANCE_NUMBER,)),
                CommandSpec(
                    "nontenue",
                    "notheld",
                    F,
                    seance.not_held,
                    (_arg("number", ArgKind.SEANCE, "n|date", "n|date"),),
                    aliases=("non-tenue", "not-held"),
                    marks_present=False,
                ),
                CommandSpec(
                    "modifier",
                    "edit",
                    F,
                    seance.edit,
                    (
                        _arg("number", ArgKind.SEANCE, "n|date", "n|date"),
                        _arg(
                            "field",
                            ArgKind.CHOICE,
                            "sujet|question|cas",
                            "topic|question|case",
                            choices=(
                                Choice("subject", "sujet", "topic", ("subject",)),
                                Choice("question", "question", "question"),
                                Choice("case", "cas", "case"),
                            ),
                        ),
                        _arg("value", ArgKind.REST, "texte", "text", required=False),
                    ),
                    marks_present=False,
                ),
                CommandSpec(
                    "sujet",
                    "subject",
                    F,
                    seance_edit.subject,
                    (_arg("number", ArgKind.INT, "n", "n"), TEXT),
                    aliases=("topic",),
                ),
                CommandSpec(
                    "question",
                    "question",
                    F,
                    seance_edit.question,
                    (_arg("number", ArgKind.INT, "n", "n"), TEXT),
                ),
                CommandSpec(
                    "protocole",
                    "protocol",
                    F,
                    seance_edit.protocol,
                    (
                        _arg("number", ArgKind.INT, "n", "n"),
                        _arg("name", ArgKind.WORD, "nom", "name"),
                    ),
                ),
            ),
        ),
        CommandSpec(
            "cercle",
            "circle",
            F,
            None,
            subcommands=(
                CommandSpec(
                    "creer",
                    "create",
                    A,
                    circle.create,
                    (_arg("name", ArgKind.REST, "nom", "name", required=False),),
                    needs_circle=False,
                    platform_role=F,
                ),
                CommandSpec(
                    "animateur",
                    "facilitator",
                    F,
                    circle.facilitator,
                    (_arg("member", ArgKind.USER, "membre", "member", required=False),),
                    aliases=("animatrice",),
                ),
                CommandSpec(
                    "protocole",
                    "protocol",
                    F,
                    circle.protocol,
                    (_arg("name", ArgKind.WORD, "nom", "name", required=False),),
                ),
                CommandSpec(
                    "langue",
                    "language",
                    F,
                    circle.language,
                    (
                        _arg(
                            "lang",
                            ArgKind.CHOICE,
                            "langue",
                            "language",
                            required=False,
                            choices=tuple(
                                Choice(code, code, code, LANGUAGE_WORDS.get(code, ()))
                                for code in LANGUAGES
                            ),
                        ),
                    ),
                ),
                CommandSpec(
                    "fuseau",
                    "timezone",
                    F,
                    circle.timezone,
                    (
                        _arg(
                            "zone", ArgKind.REST, "ville ou fuseau", "city or zone", required=False
                        ),
                    ),
                ),
                CommandSpec("membres", "members", P, circle.members, marks_present=False),
                CommandSpec(
                    "voix",
                    "votes",
                    F,
                    cases.set_votes,
                    (_arg("count", ArgKind.INT, "nombre", "count"),),
                ),
                CommandSpec(
                    "sujets",
                    "topics",
                    F,
                    topics.set_minutes,
                    (_arg("minutes", ArgKind.INT, "minutes", "minutes"),),
                ),
                CommandSpec(
                    "depart",
                    "leave",
                    F,
                    circle.depart,
                    (_arg("member", ArgKind.USER, "membre", "member"),),
                    aliases=("parti", "partie", "left"),
                ),
                CommandSpec(
                    "rappels",
                    "reminders",
                    F,
                    planning.reminders,
                    (
                        _arg(
                            "which",
                            ArgKind.CHOICE,
                            "rappel",
                            "reminder",
                            required=False,
                            choices=(
                                Choice("preparation", "preparation", "preparation", ("question",)),
                                Choice("day_before", "veille", "day-before", ("daybefore",)),
                                Choice("soon", "avant", "before", ("juste-avant",)),
                                Choice("follow_up", "suivi", "follow-up", ("followup",)),
                                Choice("opening", "ouverture", "opening"),
                                Choice("closing", "fermeture", "closing"),
                                Choice(
                                    "prep_reminder",
                                    "reponses",
                                    "answers",
                                    ("relance", "prep-reminder"),
                                ),
                                Choice("action_reminder", "actions", "actions", ("echeances",)),
                            ),
                        ),
                        _arg("value", ArgKind.WORD, "valeur", "value", required=False),
                    ),
                    aliases=("rappel", "reminder"),
                ),
                CommandSpec(
                    "inscriptions",
                    "roster",
                    F,
                    circle.roster,
                    (
                        _arg(
                            "state",
                            ArgKind.CHOICE,
                            "état",
                            "state",
                            required=False,
                            choices=(
                                Choice("open", "ouvertes", "open", ("ouvert", "ouverte")),
                                Choice("closed", "fermees", "closed", ("ferme", "fermee", "fermé")),
                            ),
                        ),
                    ),
                ),
                CommandSpec(
                    "approbation",
                    "approval",
                    F,
                    circle.approval,
                    (
                        _arg(
                            "state",
                            ArgKind.CHOICE,
                            "état",
                            "state",
                            required=False,
                            choices=(
                                Choice("on", "oui", "on", ("yes", "activee", "active")),
                                Choice("off", "non", "off", ("no", "desactivee")),
                            ),
                        ),
                    ),
                ),
                CommandSpec(
                    "ronde",
                    "rounds",
                    F,
                    circle.round_order,
                    (
                        _arg(
                            "order",
                            ArgKind.CHOICE,
                            "ordre",
                            "order",
                            required=False,
                            choices=(
                                Choice("arrival", "arrivee", "arrival"),
                                Choice(
                                    "facilitators_last",
                                    "animation-derniere",
                                    "facilitators-last",
                                    ("animation-en-dernier", "animateurs-derniers"),
                                ),
                                Choice("shuffled", "hasard", "shuffled", ("aleatoire", "random")),
                            ),
                        ),
                    ),
                    aliases=("tours", "round"),
                ),
                CommandSpec(
                    "vocal",
                    "voice",
                    F,
                    voice.voice,
                    (
                        _arg("channel", ArgKind.WORD, "#salon|non", "#channel|off", required=False),
                        _arg(
                            "mode",
                            ArgKind.CHOICE,
                            "mode",
                            "mode",
                            required=False,
                            choices=(Choice("strict", "strict", "strict"),),
                        ),
                    ),
                ),
                CommandSpec(
                    "relance",
                    "nudge",
                    F,
                    circle.nudge,
                    (_arg("minutes", ArgKind.WORD, "minutes|non", "minutes|off", required=False),),
                ),
                CommandSpec(
                    "conservation",
                    "retention",
                    F,
                    circle.retention,
                    (_arg("days", ArgKind.WORD, "jours|jamais", "days|never", required=False),),
                ),
                CommandSpec(
                    "ordre",
                    "order",
                    F,
                    circle.queue_order,
                    (
                        _arg(
                            "order",
                            ArgKind.CHOICE,
                            "ordre",
                            "order",
                            required=False,
                            choices=(
                                Choice("fair", "equitable", "fair"),
                                Choice("arrival", "arrivee", "arrival"),
                            ),
                        ),
                    ),
                ),
            ),
        ),
        CommandSpec("bilan", "report", F, report.bilan, marks_present=False),
        CommandSpec(
            "lien",
            "link",
            P,
            link.link,
            subcommands=(
                CommandSpec(
                    "revoquer", "revoke", P, link.revoke, marks_present=False, aliases=("revoque",)
                ),
                CommandSpec(
                    "duree",
                    "lifetime",
                    F,
                    link.lifetime,
                    (_arg("days", ArgKind.INT, "jours", "days"),),
                    marks_present=False,
                ),
            ),
            aliases=("page",),
            marks_present=False,
        ),
        CommandSpec(
            "export",
            "export",
            P,
            export.export,
            (
                _arg(
                    "format",
                    ArgKind.CHOICE,
                    "format",
                    "format",
                    required=False,
                    choices=(
                        Choice("md", "md", "md", ("markdown",)),
                        Choice("json", "json", "json"),
                        Choice(
                            "ics", "ics", "ics", ("ical", "icalendar", "calendrier", "calendar")
                        ),
                    ),
                ),
            ),
            marks_present=False,
        ),
        CommandSpec(
            "oubli",
            "forget",
            P,
            forget.oubli,
            (
                _arg("member", ArgKind.USER, "membre", "member", required=False),
                _arg(
                    "confirm",
                    ArgKind.CHOICE,
                    "confirmer",
                    "confirm",
                    required=False,
                    choices=(Choice("confirm", "confirmer", "confirm", ("confirme",)),),
                ),
            ),
            aliases=("oublier",),
            marks_present=False,
        ),
        CommandSpec(
            "aide",
            "help",
            A,
            help.help_command,
            (
                _arg(
                    "topic",
                    ArgKind.REST,
                    "commande [sous-commande]",
                    "command [subcommand]",
                    required=False,
                ),
            ),
            needs_circle=False,
            marks_present=False,
        ),
    )
)
