"""Queries over user_profile and learned_patterns (migrations 001, 025 and 039), and the
messages a fold reads (memory/profile.py).

The profile is one row per user of plain columns; ``edited_fields`` names the fields (and
``coding_preferences.KEY`` entries) the user set or cleared, which a fold leaves alone. A
pattern found by a rule keeps that rule's name (``rule``), so the next fold updates the
same row; one the user edited keeps its wording, one the user forgot stays ``dismissed``
(never found again by its rule), and one the user wrote has no rule.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mira_ls.store.connection import Connection, inserted_id

PATTERN_TYPES = ("coding_style", "workflow", "preference", "communication", "mistake", "other")
EXPERIENCE_LEVELS = ("beginner", "intermediate", "advanced", "expert")


@dataclass(frozen=True)
class ProfileRow:
    user_id: int
    coding_preferences: dict[str, str]
    communication_style: str | None
    tech_stack: list[str]
    experience_level: str | None
    learning_goals: list[str]
    preferred_language: str | None
    verbosity: str | None
    edited_fields: list[str]
    updated_at: int


_PROFILE = (
    "user_id, coding_preferences, communication_style, tech_stack, experience_level,"
    " learning_goals, preferred_language, verbosity, edited_fields, updated_at"
)


def profile(conn: Connection, user_id: int) -> ProfileRow | None:
    r = conn.execute(
        f"SELECT {_PROFILE} FROM user_profile WHERE user_id = ?", (user_id,)
    ).fetchone()
    if r is None:
        return None
    return ProfileRow(
        int(r[0]),
        json.loads(r[1]),
        r[2],
        json.loads(r[3]),
        r[4],
        json.loads(r[5]),
        r[6],
        r[7],
        json.loads(r[8]),
        int(r[9]),
    )


def save_profile(conn: Connection, p: ProfileRow, now: int) -> None:
    """Write the whole row (created on first use)."""
    conn.execute(
        "INSERT INTO user_profile(user_id, coding_preferences, communication_style, tech_stack,"
        " experience_level, learning_goals, preferred_language, verbosity, edited_fields,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(user_id) DO UPDATE SET coding_preferences = excluded.coding_preferences,"
        " communication_style = excluded.communication_style, tech_stack = excluded.tech_stack,"
        " experience_level = excluded.experience_level,"
        " learning_goals = excluded.learning_goals,"
        " preferred_language = excluded.preferred_language, verbosity = excluded.verbosity,"
        " edited_fields = excluded.edited_fields, updated_at = excluded.updated_at",
        (
            p.user_id,
            json.dumps(p.coding_preferences, sort_keys=True),
            p.communication_style,
            json.dumps(p.tech_stack),
            p.experience_level,
            json.dumps(p.learning_goals),
            p.preferred_language,
            p.verbosity,
            json.dumps(sorted(set(p.edited_fields))),
            now,
            now,
        ),
    )


# -- patterns ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PatternRow:
    id: int
    user_id: int
    project_id: int | None
    pattern_type: str
    description: str
    applies_when: str | None
    examples: list[Any]  # evidence: message ids (newest last)
    confidence: float
    times_observed: int
    first_seen_at: int
    last_seen_at: int
    updated_at: int
    user_edited: bool
    rule: str | None
    dismissed: bool


_PAT = (
    "id, user_id, project_id, pattern_type, description, applies_when, examples, confidence,"
    " times_observed, first_seen_at, last_seen_at, updated_at, user_edited, rule, dismissed"
)


def _pattern(r: Any) -> PatternRow:
    return PatternRow(
        int(r[0]),
        int(r[1]),
        r[2],
        r[3],
        r[4],
        r[5],
        json.loads(r[6]),
        float(r[7]),
        int(r[8]),
        int(r[9]),
        int(r[10]),
        int(r[11]),
        bool(r[12]),
        r[13],
        bool(r[14]),
    )


def patterns(conn: Connection, user_id: int, *, dismissed: bool = False) -> list[PatternRow]:
    """The user's patterns, the best-evidenced first."""
    return [
        _pattern(r)
        for r in conn.execute(
            f"SELECT {_PAT} FROM learned_patterns WHERE user_id = ? AND (dismissed = 0 OR ?)"
            " ORDER BY dismissed, times_observed DESC, confidence DESC, id",
            (user_id, int(dismissed)),
        )
    ]


def pattern(conn: Connection, pattern_id: int) -> PatternRow | None:
    r = conn.execute(f"SELECT {_PAT} FROM learned_patterns WHERE id = ?", (pattern_id,)).fetchone()
    return _pattern(r) if r else None


@dataclass(frozen=True)
class Found:
    """A pattern a rule found, with its evidence."""

    rule: str
    pattern_type: str
    description: str
    applies_when: str | None
    evidence: list[int]  # message ids, oldest first
    confidence: float
    first_seen_at: int
    last_seen_at: int


def fold_patterns(
    conn: Connection, user_id: int, found: Sequence[Found], now: int, max_examples: int
) -> None:
    """Make the rule-found patterns what ``found`` says: new ones added, the others' evidence
    and counts updated (an edited one keeps its wording and confidence), those a rule no
    longer finds removed unless the user edited them (then their evidence is cleared) or
    forgot them (dismissed rows stay, so the rule does not bring them back)."""
    rows = {
        r[0]: (int(r[1]), bool(r[2]), bool(r[3]))
        for r in conn.execute(
            "SELECT rule, id, user_edited, dismissed FROM learned_patterns"
            " WHERE user_id = ? AND project_id IS NULL AND rule IS NOT NULL",
            (user_id,),
        )
    }
    for f in found:
        examples = json.dumps(f.evidence[-max_examples:])
        old = rows.pop(f.rule, None)
        if old is None:
            conn.execute(
                "INSERT INTO learned_patterns(user_id, project_id, pattern_type, description,"
                " applies_when, examples, confidence, times_observed, first_seen_at,"
                " last_seen_at, updated_at, rule) VALUES (?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    user_id,
                    f.pattern_type,
                    f.description,
                    f.applies_when,
                    examples,
                    f.confidence,
                    len(f.evidence),
                    f.first_seen_at,
                    f.last_seen_at,
                    now,
                    f.rule,
                ),
            )
            continue
        pid, edited, dismissed = old
        if dismissed:
            continue
        if edited:
            conn.execute(
                "UPDATE learned_patterns SET examples = ?, times_observed = ?,"
                " first_seen_at = ?, last_seen_at = ? WHERE id = ?",
                (examples, len(f.evidence), f.first_seen_at, f.last_seen_at, pid),
            )
        else:
            conn.execute(
                "UPDATE learned_patterns SET pattern_type = ?, description = ?,"
                " applies_when = ?, examples = ?, confidence = ?, times_observed = ?,"
                " first_seen_at = ?, last_seen_at = ?, updated_at = ? WHERE id = ?",
                (
                    f.pattern_type,
                    f.description,
                    f.applies_when,
                    examples,
                    f.confidence,
                    len(f.evidence),
                    f.first_seen_at,
                    f.last_seen_at,
                    now,
                    pid,
                ),
            )
    for pid, edited, dismissed in rows.values():  # no longer found
        if edited:
            conn.execute(
                "UPDATE learned_patterns SET examples = '[]', times_observed = 0 WHERE id = ?",
                (pid,),
            )
        elif not dismissed:
            conn.execute("DELETE FROM learned_patterns WHERE id = ?", (pid,))


def add_pattern(
    conn: Connection,
    user_id: int,
    project_id: int | None,
    pattern_type: str,
    description: str,
    applies_when: str | None,
    now: int,
) -> int:
    """A pattern the user wrote (no rule, edited by definition)."""
    cur = conn.execute(
        "INSERT INTO learned_patterns(user_id, project_id, pattern_type, description,"
        " applies_when, confidence, times_observed, first_seen_at, last_seen_at, updated_at,"
        " user_edited) VALUES (?, ?, ?, ?, ?, 1.0, 0, ?, ?, ?, 1)",
        (user_id, project_id, pattern_type, description, applies_when, now, now, now),
    )
    return inserted_id(cur)


def edit_pattern(
    conn: Connection,
    pattern_id: int,
    description: str | None,
    applies_when: str | None,
    pattern_type: str | None,
    now: int,
) -> None:
    conn.execute(
        "UPDATE learned_patterns SET description = coalesce(?, description),"
        " applies_when = coalesce(?, applies_when), pattern_type = coalesce(?, pattern_type),"
        " user_edited = 1, dismissed = 0, updated_at = ? WHERE id = ?",
        (description, applies_when, pattern_type, now, pattern_id),
    )


def forget_pattern(conn: Connection, p: PatternRow, now: int) -> None:
    """A rule's pattern stays as a dismissed row without its evidence (the rule does not
    find it again); one the user wrote is deleted."""
    if p.rule is None:
        conn.execute("DELETE FROM learned_patterns WHERE id = ?", (p.id,))
        return
    conn.execute(
        "UPDATE learned_patterns SET dismissed = 1, examples = '[]', times_observed = 0,"
        " updated_at = ? WHERE id = ?",
        (now, p.id),
    )


# -- what a fold reads ---------------------------------------------------------------------


@dataclass(frozen=True)
class Said:
    """A user or assistant message with what its analysis says (None: not analysed)."""

    id: int
    session_id: str
    role: str
    content: str
    created_at: int
    operation: str | None  # the chat operation that recorded it (chat, explain, fix_error)
    intent: str | None
    topics: list[str]


def conversation(conn: Connection, user_id: int) -> list[Said]:
    """Every user/assistant message of the user, by session and in order."""
    out: list[Said] = []
    for r in conn.execute(
        "SELECT e.id, e.session_id, e.role, e.content, e.created_at,"
        " json_extract(CASE WHEN json_valid(e.metadata) THEN e.metadata END, '$.operation'),"
        " CASE WHEN a.status = 'done' THEN a.intent_label END,"
        " CASE WHEN a.status = 'done' THEN a.topics END"
        " FROM memory_entries e JOIN sessions s ON s.id = e.session_id"
        " LEFT JOIN message_analysis a ON a.entry_id = e.id"
        " WHERE s.user_id = ? AND e.role IN ('user', 'assistant')"
        " ORDER BY e.session_id, e.id",
        (user_id,),
    ):
        topics = json.loads(r[7]) if r[7] else []
        out.append(Said(int(r[0]), r[1], r[2], r[3], int(r[4]), r[5], r[6], topics))
    return out


def user_facts(conn: Connection, user_id: int) -> list[tuple[str, str, str | None, bool]]:
    """(key, value, category, user-wide) of the user's current facts in every project,
    oldest change first (a later one wins)."""
    return [
        (r[0], r[1], r[2], r[3] is None)
        for r in conn.execute(
            "SELECT key, value, category, project_id FROM memory_facts"
            " WHERE user_id = ? AND deprecated = 0 ORDER BY updated_at, id",
            (user_id,),
        )
    ]
