"""The user profile and learned patterns: plain, editable records folded from what is
already known, without asking the model again.

The profile (user_profile: coding preferences, stack, communication style, verbosity
wanted, experience, learning goals, answer language) is folded from the user's current
facts (memory/facts.py) and, for verbosity, from the behaviour below when no fact says it.
Learned patterns are repeated behaviours found by fixed rules over the user's messages and
their analysis (memory/analysis.py: intent and topics), each with its evidence (the message
ids) and how many times it was seen; a pattern needs MIN_EVIDENCE observations. The fold is
deterministic: the same messages and facts give the same rows, so it runs again whenever
they change (after an analysis run, remembering or forgetting), and forgetting a message
takes its evidence away.

What the user sets (``mira-ls memory profile set``, ``memory patterns edit``) is theirs: a
field or pattern the user edited keeps its value and wording; a forgotten pattern is not
found again; ``profile unset FIELD`` gives a field back to the fold. The profile and the
best patterns join the chat context as a small "About you" section (at most
SECTION_TOKENS, counted in the context budget like every section).
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from mira_ls.llm import tokens
from mira_ls.llm.context import Section
from mira_ls.memory import owner
from mira_ls.store import Store
from mira_ls.store import documents as dq
from mira_ls.store import memory_profile as q
from mira_ls.store.memory_profile import (
    EXPERIENCE_LEVELS,
    PATTERN_TYPES,
    Found,
    PatternRow,
    ProfileRow,
    Said,
)

MIN_EVIDENCE = 2  # observations before a behaviour is a pattern
MIN_TOPIC_EVIDENCE = 3  # messages (in 2+ sessions) before a topic is "often asked about"
MAX_TOPIC_PATTERNS = 5
MAX_EXAMPLES = 10
SECTION_TOKENS = 200
SECTION_PATTERNS = 5
SECTION_MIN_CONFIDENCE = 0.6
TITLE = "About you"
KIND = "profile"
PRIORITY = 5
HEAD = "What mira-ls knows about how you work (from what you said; may be out of date):"

LIST_FIELDS = ("tech_stack", "learning_goals")
TEXT_FIELDS = ("communication_style", "verbosity", "experience_level", "preferred_language")
FIELDS = ("coding_preferences", *LIST_FIELDS, *TEXT_FIELDS)
PREF = "coding_preferences."

_LANG_KEYS = {"preferred_language", "answer_language", "natural_language", "language_of_answers"}
_VERBOSITY_KEYS = {"verbosity", "answer_length", "answer_style", "response_length"}
_EXPERIENCE_KEYS = {"experience_level", "experience", "seniority", "skill_level"}


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


_TESTS = _rx(r"\b(unit[- ]?tests?|tests?|pytest|test cases?|coverage)\b")
_ASKING = _rx(r"\b(add|write|create|generate|cover|need|want|include|make|give)\b|\?")
_FIX = _rx(
    r"\b(fix|fixe[sd]|fixing|bug|error|broken|fails?|failing|crash\w*|exception|"
    r"traceback)\b"
)
_SHORTER = _rx(
    r"\b(shorter|too long|more concise|be concise|concisely|be brief|briefer|"
    r"briefly|tl;?dr|less verbose|too verbose|just the code|keep it short)\b"
)
_LONGER = _rx(
    r"\b(more detail(ed)?|in (more )?detail|elaborate|explain (more|further)|"
    r"in depth|step by step|too short|more thorough)\b"
)
_TYPES = _rx(r"\b(type hints?|type annotations?|annotate|typed)\b")
_DOCS = _rx(r"\b(docstrings?|add comments|comment (it|this|the code)|document (it|this))\b")
_BRIEF_WORDS = _rx(r"\b(short|brief|concise|terse|succinct|minimal)\b")
_DETAIL_WORDS = _rx(r"\b(detailed|thorough|in depth|verbose|long|step by step)\b")


@dataclass(frozen=True)
class _Rule:
    rule: str
    pattern_type: str
    description: str
    applies_when: str


TESTS_AFTER_FIX = _Rule(
    "tests_after_fix",
    "workflow",
    "asks for tests after a fix",
    "after a bug fix or an error fix is answered",
)
SHORTER = _Rule(
    "shorter_answers", "communication", "asks for shorter, more concise answers", "when answering"
)
LONGER = _Rule("more_detail", "communication", "asks for more detail in answers", "when explaining")
TYPE_HINTS = _Rule(
    "type_hints", "coding_style", "asks for type hints in code", "when writing or changing code"
)
DOCSTRINGS = _Rule(
    "docstrings",
    "coding_style",
    "asks for docstrings or comments in code",
    "when writing or changing code",
)


def _confidence(n: int) -> float:
    return round(n / (n + 1), 3)


def _users(msgs: Iterable[Said]) -> list[Said]:
    return [m for m in msgs if m.role == "user"]


def find_patterns(msgs: list[Said]) -> list[Found]:
    """The patterns the rules find in the user's messages (by session, in order), each with
    at least MIN_EVIDENCE observations; deterministic, the best-evidenced first."""
    evidence: dict[_Rule, list[Said]] = defaultdict(list)
    by_session: dict[str, list[Said]] = defaultdict(list)
    for m in _users(msgs):
        by_session[m.session_id].append(m)
    for said in by_session.values():
        prev: Said | None = None
        for m in said:
            text = m.content
            feedback = m.intent in (None, "correction", "feedback", "request", "preference")
            if (
                prev is not None
                and _TESTS.search(text)
                and _ASKING.search(text)
                and (prev.operation == "fix_error" or _FIX.search(prev.content))
                and not _TESTS.search(prev.content)
            ):
                evidence[TESTS_AFTER_FIX].append(m)
            if feedback and _SHORTER.search(text):
                evidence[SHORTER].append(m)
            if feedback and _LONGER.search(text):
                evidence[LONGER].append(m)
            if m.intent != "question" and _TYPES.search(text) and _ASKING.search(text):
                evidence[TYPE_HINTS].append(m)
            if m.intent != "question" and _DOCS.search(text) and _ASKING.search(text):
                evidence[DOCSTRINGS].append(m)
            prev = m
    out = [
        _found(r.rule, r.pattern_type, r.description, r.applies_when, ev)
        for r, ev in evidence.items()
        if len(ev) >= MIN_EVIDENCE
    ]
    out += _corrections(msgs) + _topics(msgs)
    out.sort(key=lambda f: (-len(f.evidence), f.rule))
    return out


def _found(rule: str, kind: str, description: str, when: str | None, ev: list[Said]) -> Found:
    ev = sorted(ev, key=lambda m: m.id)
    return Found(
        rule,
        kind,
        description,
        when,
        [m.id for m in ev],
        _confidence(len(ev)),
        min(m.created_at for m in ev),
        max(m.created_at for m in ev),
    )


def _corrections(msgs: list[Said]) -> list[Found]:
    """A topic the user corrected answers about MIN_EVIDENCE times or more (analysis: intent
    correction, its topics)."""
    by_topic: dict[str, list[Said]] = defaultdict(list)
    for m in _users(msgs):
        if m.intent == "correction":
            for t in dict.fromkeys(m.topics):
                by_topic[t].append(m)
    return [
        _found(
            f"corrections:{t}",
            "mistake",
            f"corrects answers about {t}",
            f"when answering about {t}: check it before answering",
            ev,
        )
        for t, ev in sorted(by_topic.items())
        if len(ev) >= MIN_EVIDENCE
    ]


def _topics(msgs: list[Said]) -> list[Found]:
    """The topics the user asks about most often (analysis topics of MIN_TOPIC_EVIDENCE
    messages or more, in two sessions or more)."""
    by_topic: dict[str, list[Said]] = defaultdict(list)
    for m in _users(msgs):
        for t in dict.fromkeys(m.topics):
            by_topic[t].append(m)
    often = [
        (t, ev)
        for t, ev in by_topic.items()
        if len(ev) >= MIN_TOPIC_EVIDENCE and len({m.session_id for m in ev}) >= 2
    ]
    often.sort(key=lambda x: (-len(x[1]), x[0]))
    return [
        _found(f"topic:{t}", "other", f"often asks about {t}", None, ev)
        for t, ev in often[:MAX_TOPIC_PATTERNS]
    ]


def _verbosity_of(text: str) -> str | None:
    if _BRIEF_WORDS.search(text):
        return "brief"
    if _DETAIL_WORDS.search(text):
        return "detailed"
    return None


def fold_profile(
    user_id: int,
    facts: list[tuple[str, str, str | None, bool]],
    found: list[Found],
    old: ProfileRow | None,
) -> ProfileRow:
    """The profile from the facts (a later fact wins) and the behaviour found; the fields
    the user edited keep their values from ``old``."""
    prefs: dict[str, str] = {}
    stack: list[str] = []
    comm: list[str] = []
    goals: list[str] = []
    lang = level = verbosity = None
    for key, value, category, user_wide in facts:
        if category in ("stack", "tooling") and value not in stack:
            stack.append(value)
        if not user_wide:
            continue  # a project's own conventions are that project's facts
        if category == "preference":
            prefs[key] = value
        if category == "communication" and value not in comm:
            comm.append(value)
        if key in _LANG_KEYS:
            lang = value
        if key in _EXPERIENCE_KEYS and value.strip().lower() in EXPERIENCE_LEVELS:
            level = value.strip().lower()
        if key.startswith(("learning_goal", "wants_to_learn")) and value not in goals:
            goals.append(value)
        if key in _VERBOSITY_KEYS or category == "communication":
            verbosity = _verbosity_of(value) or verbosity
    if verbosity is None:  # no fact says it: what the user asked for, when one way wins
        n = {f.rule: len(f.evidence) for f in found}
        short, long_ = n.get(SHORTER.rule, 0), n.get(LONGER.rule, 0)
        verbosity = "brief" if short > long_ else "detailed" if long_ > short else None
    new = ProfileRow(
        user_id,
        prefs,
        "; ".join(comm) or None,
        sorted(stack, key=str.lower),
        level,
        goals,
        lang,
        verbosity,
        [],
        0,
    )
    if old is None or not old.edited_fields:
        return new
    return _keep_edits(new, old)


def _keep_edits(new: ProfileRow, old: ProfileRow) -> ProfileRow:
    edited = set(old.edited_fields)
    fields: dict[str, Any] = {f: getattr(old, f) for f in FIELDS if f in edited}
    prefs = dict(new.coding_preferences) if "coding_preferences" not in edited else None
    if prefs is not None:
        for e in edited:
            if e.startswith(PREF):
                k = e[len(PREF) :]
                prefs.pop(k, None)
                if k in old.coding_preferences:
                    prefs[k] = old.coding_preferences[k]
        fields["coding_preferences"] = prefs
    return replace(new, **fields, edited_fields=sorted(edited))


class ProfileError(Exception):
    """A bad field or value: ``str(exc)`` is the sentence for the user."""


@dataclass
class Profiles:
    """The local user's profile and learned patterns."""

    store: Store
    user_id: int | None  # None: memory never wrote anything
    clock: Callable[[], float] = time.time
    enabled: bool = True  # memory.enabled: off, nothing is folded or added (forgetting works)

    @classmethod
    def open(cls, store: Store, *, enabled: bool = True) -> Profiles:
        if enabled:
            return cls(store, owner.local_user_id(store))
        return cls(store, dq.user_id_of(store.conn(), owner.username()), enabled=False)

    def _on(self) -> None:
        if not self.enabled:
            raise ProfileError("Memory is off (mira.memory.enabled); the profile and patterns "
                               "are not changed.")  # fmt: skip

    def _uid(self) -> int:
        if self.user_id is None:
            self.user_id = owner.local_user_id(self.store)
        return self.user_id

    # -- folding -------------------------------------------------------------------------

    def fold(self) -> tuple[ProfileRow, list[PatternRow]]:
        """Fold the profile and the patterns again from the facts and messages (memory
        off: they are read as they are)."""
        if not self.enabled:
            return self.profile(), self.patterns()
        uid = self._uid()
        conn = self.store.conn()
        found = find_patterns(q.conversation(conn, uid))
        facts = q.user_facts(conn, uid)
        now = int(self.clock())
        with self.store.write() as w:
            new = fold_profile(uid, facts, found, q.profile(w, uid))
            q.save_profile(w, new, now)
            q.fold_patterns(w, uid, found, now, MAX_EXAMPLES)
        return self.profile(), self.patterns()

    # -- reading -------------------------------------------------------------------------

    def profile(self) -> ProfileRow:
        uid = self.user_id if self.user_id is not None else 0
        row = q.profile(self.store.conn(), uid) if self.user_id is not None else None
        return row or ProfileRow(uid, {}, None, [], None, [], None, None, [], 0)

    def patterns(self, *, dismissed: bool = False) -> list[PatternRow]:
        if self.user_id is None:
            return []
        return q.patterns(self.store.conn(), self.user_id, dismissed=dismissed)

    def section(self) -> Section | None:
        """The "About you" section for the chat context (None: nothing known), within
        SECTION_TOKENS; read only, the fold is done elsewhere."""
        if self.user_id is None:
            return None
        conn = self.store.conn()
        row = q.profile(conn, self.user_id)
        pats = [
            p
            for p in q.patterns(conn, self.user_id)
            if p.confidence >= SECTION_MIN_CONFIDENCE and (p.times_observed or p.user_edited)
        ][:SECTION_PATTERNS]
        lines = (profile_lines(row) if row else []) + [pattern_line(p) for p in pats]
        while lines:
            s = Section(KIND, TITLE, "\n".join([HEAD, *(f"- {x}" for x in lines)]), PRIORITY)
            if tokens.count(s.render()) + 2 <= SECTION_TOKENS:
                return s
            lines.pop()
        return None

    # -- editing -------------------------------------------------------------------------

    def set(self, field: str, value: str) -> ProfileRow:
        """The user's own value for a field (``coding_preferences.KEY`` for one preference);
        the fold leaves it alone from now on."""
        self._on()
        field, value = field.strip(), " ".join(value.split())
        if not value:
            raise ProfileError(
                f"Give a value for {field}, or `mira-ls memory forget "
                f"--profile {field}` to clear it."
            )
        return self._edit(field, value)

    def clear(self, field: str) -> ProfileRow:
        """Forget a field: empty, and kept empty by the fold."""
        return self._edit(field.strip(), None)

    def unset(self, field: str) -> ProfileRow:
        """Give a field back to the fold (the user's value is dropped)."""
        self._on()
        field = field.strip()
        _check_field(field)
        p = self.profile()
        edited = [e for e in p.edited_fields if e != field]
        if field == "coding_preferences":
            edited = [e for e in edited if not e.startswith(PREF)]
        with self.store.write() as w:
            q.save_profile(w, replace(p, edited_fields=edited), int(self.clock()))
        return self.fold()[0]

    def _edit(self, field: str, value: str | None) -> ProfileRow:
        _check_field(field)
        if self.enabled:
            self._uid()
        elif self.user_id is None:
            raise ProfileError("Nothing is remembered: there is no profile to clear.")
        p = self.profile()
        edited = [*p.edited_fields, field]
        changes: dict[str, Any]
        if field.startswith(PREF):
            prefs = dict(p.coding_preferences)
            key = field[len(PREF) :]
            prefs.pop(key, None)
            if value is not None:
                prefs[key] = value
            changes = {"coding_preferences": prefs}
        elif field in LIST_FIELDS:
            items = [x.strip() for x in (value or "").split(",") if x.strip()]
            changes = {field: list(dict.fromkeys(items))}
        elif field == "coding_preferences":
            if value is not None:
                raise ProfileError(
                    "Set one preference at a time: "
                    "`mira-ls memory profile set coding_preferences.KEY VALUE`."
                )
            changes = {field: {}}
            edited = [e for e in edited if not e.startswith(PREF)]
        else:
            if field == "experience_level" and value is not None:
                value = value.lower()
                if value not in EXPERIENCE_LEVELS:
                    raise ProfileError(
                        f"experience_level is one of {', '.join(EXPERIENCE_LEVELS)}."
                    )
            changes = {field: value}
        new = replace(p, **changes, edited_fields=sorted(set(edited)))
        with self.store.write() as w:
            q.save_profile(w, new, int(self.clock()))
        return self.profile()

    def add_pattern(
        self, description: str, pattern_type: str = "other", applies_when: str | None = None
    ) -> PatternRow:
        self._on()
        text = " ".join(description.split())
        if not text:
            raise ProfileError("Say what the pattern is, e.g. `asks for tests after each fix`.")
        _check_type(pattern_type)
        with self.store.write() as w:
            pid = q.add_pattern(
                w, self._uid(), None, pattern_type, text[:300], applies_when, int(self.clock())
            )
        got = q.pattern(self.store.conn(), pid)
        assert got is not None
        return got

    def edit_pattern(
        self,
        pattern_id: int,
        description: str | None = None,
        applies_when: str | None = None,
        pattern_type: str | None = None,
    ) -> PatternRow:
        self._on()
        p = self._own(pattern_id)
        if pattern_type is not None:
            _check_type(pattern_type)
        text = " ".join(description.split())[:300] if description else None
        with self.store.write() as w:
            q.edit_pattern(w, p.id, text, applies_when, pattern_type, int(self.clock()))
        got = q.pattern(self.store.conn(), p.id)
        assert got is not None
        return got

    def forget_pattern(self, pattern_id: int) -> PatternRow:
        p = self._own(pattern_id)
        with self.store.write() as w:
            q.forget_pattern(w, p, int(self.clock()))
        return p

    def _own(self, pattern_id: int) -> PatternRow:
        p = q.pattern(self.store.conn(), pattern_id)
        if p is None or p.user_id != self.user_id or p.dismissed:
            raise ProfileError(
                f"There is no learned pattern #{pattern_id}; `mira-ls memory patterns`."
            )
        return p


def _check_field(field: str) -> None:
    if field in FIELDS or (field.startswith(PREF) and len(field) > len(PREF)):
        return
    raise ProfileError(
        f"{field!r} is not a profile field: one of {', '.join(FIELDS)}, or "
        "coding_preferences.KEY for one preference."
    )


def _check_type(pattern_type: str) -> None:
    if pattern_type not in PATTERN_TYPES:
        raise ProfileError(f"A pattern's type is one of {', '.join(PATTERN_TYPES)}.")


def profile_lines(p: ProfileRow) -> list[str]:
    lines = []
    if p.tech_stack:
        lines.append("stack: " + ", ".join(p.tech_stack))
    lines += [
        f"prefers ({k.replace('_', ' ')}): {v}" for k, v in sorted(p.coding_preferences.items())
    ]
    if p.verbosity:
        lines.append(f"answers wanted: {p.verbosity}")
    if p.communication_style:
        lines.append(f"communication: {p.communication_style}")
    if p.experience_level:
        lines.append(f"experience: {p.experience_level}")
    if p.learning_goals:
        lines.append("learning: " + ", ".join(p.learning_goals))
    if p.preferred_language:
        lines.append(f"answer in: {p.preferred_language}")
    return lines


def pattern_line(p: PatternRow) -> str:
    seen = f"seen {p.times_observed} time{'s' * (p.times_observed != 1)}"
    when = f" ({p.applies_when})" if p.applies_when else ""
    return f"{p.description}{when}, {seen}" if p.times_observed else f"{p.description}{when}"


def profile_json(p: ProfileRow) -> dict[str, Any]:
    return {
        "coding_preferences": p.coding_preferences,
        "tech_stack": p.tech_stack,
        "communication_style": p.communication_style,
        "verbosity": p.verbosity,
        "experience_level": p.experience_level,
        "learning_goals": p.learning_goals,
        "preferred_language": p.preferred_language,
        "edited_fields": p.edited_fields,
        "updated_at": p.updated_at,
    }


def pattern_json(p: PatternRow) -> dict[str, Any]:
    return {
        "id": p.id,
        "type": p.pattern_type,
        "description": p.description,
        "applies_when": p.applies_when,
        "times_observed": p.times_observed,
        "confidence": round(p.confidence, 3),
        "evidence": p.examples,
        "rule": p.rule,
        "user_edited": p.user_edited,
        "dismissed": p.dismissed,
        "first_seen_at": p.first_seen_at,
        "last_seen_at": p.last_seen_at,
    }
