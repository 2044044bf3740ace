"""Full-text search over stories: Indonesian word forms, the search index, ranked queries."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import snowballstemmer
from sqlalchemy import (
    Column,
    Connection,
    Integer,
    MetaData,
    Table,
    Text,
    func,
    literal_column,
    text,
)
from sqlalchemy import select as core_select
from sqlalchemy.dialects.postgresql import REGCONFIG, TSQUERY, TSVECTOR
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from storage.models import Story, StoryVersion, UTCDateTime
from workflow.lifecycle import StoryState

SEARCH_TABLE = "story_search"
DESK_ZONE = ZoneInfo("Asia/Jakarta")
SNIPPET_CHARS = 160
MAX_WORD_CHARS = 60
"""Longer "words" (hashes, glued URLs, base64) are not indexed nor searched for."""
MAX_INDEXED_CHARS = 200_000
"""A text's stems beyond these are not indexed (about 30,000 words: PostgreSQL refuses a
tsvector over 1 MB, which a long text of distinct words would reach)."""
MAX_QUERY_TERMS = 32
"""A query's words and phrases beyond these are ignored (no story would match them all)."""
RANKED_AT_MOST = 2000
"""When more stories than this are found, only the newest of them (by story id) are ranked:
ranking reads every story found, and a word most stories hold says little about relevance.
Narrower words, or dates, reach the older ones."""
TITLE_WEIGHT, BODY_WEIGHT = 10.0, 1.0
"""bm25 column weights on SQLite (PostgreSQL weighs title A against body B)."""

_STOP_WORDS_TEXT = """
ada adalah agar akan antara atau bagi bahwa bisa dalam dan dapat dari dengan di hingga ia ini
itu juga kami karena ke kepada kita lah masih mereka nya oleh pada para pun saat saya se sebagai
sedang sejak serta sudah telah tersebut tidak untuk yaitu yakni yang
"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())
"""Words a query drops (they are still indexed, so a "phrase" may contain them)."""

STEM_FIXES = {
    # Snowball's Indonesian stemmer does not put back the first letter of a root that a prefix
    # swallowed (meN-/peN- + t or k, pe- + r): "peresmian" gives "esmi" where "diresmikan"
    # gives "resmi". These are the news desk's common roots where that split the forms; a
    # change here needs ``warta search --rebuild``.
    "esmi": "resmi",
    "erbit": "terbit",
    "ertib": "tertib",
    "awat": "rawat",
    "umah": "rumah",
    "ekam": "rekam",
    "eruk": "keruk",
    "anggulang": "tanggulang",
    "utup": "tutup",
    "injau": "tinjau",
    "indak": "tindak",
    "anam": "tanam",
    "etap": "tetap",
    "encana": "rencana",
    "unjung": "kunjung",
    "andatangan": "tandatangan",
    "tandatang": "tandatangan",
    "intah": "perintah",
    "iksa": "periksa",
    "awasi": "awas",
    "berte": "temu",
    "kete": "temu",
}

STATE_NAMES = {
    "terkirim": "submitted",
    "disunting": "editing",
    "terverifikasi": "verified",
    "terbit": "published",
    "arsip": "archived",
    "ditolak": "spiked",
    "revisi": "revision_requested",
}
"""The Indonesian names the chat syntax accepts for story states (English values work too)."""
STATES = frozenset(state.value for state in StoryState)

_STEMMER = snowballstemmer.stemmer("indonesian")
_TOKEN = re.compile(r"[^\W_]+(?:['’ʼ`´][^\W_]+)*")
"""A written word: letters and digits, with apostrophes inside ("Jum'at")."""
_WORD = re.compile(r"[^\W_]+")
_NO_APOSTROPHES = str.maketrans("", "", "'’ʼ`´")
_PHRASE = re.compile(r'"([^"]*)"')


# -- normalisation ----------------------------------------------------------------------------


def _tokens(text: str) -> list[str]:
    # Composed first, so that a letter written with a separate accent stays in its word.
    return _TOKEN.findall(unicodedata.normalize("NFC", text))


@lru_cache(maxsize=100_000)
def _folded(token: str) -> tuple[str, ...]:
    """A written word in lower case without diacritics or apostrophes ("Jum'at" is "jumat");
    usually one word, more when compatibility forms split it ("½" is "1", "2")."""
    decomposed = unicodedata.normalize("NFKD", token.translate(_NO_APOSTROPHES))
    bare = "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()
    return tuple(word for word in _WORD.findall(bare) if len(word) <= MAX_WORD_CHARS)


@lru_cache(maxsize=100_000)
def _stem(word: str) -> str:
    stem = _STEMMER.stemWord(word)
    return STEM_FIXES.get(stem, stem)


@lru_cache(maxsize=100_000)
def _stems(token: str) -> tuple[str, ...]:
    return tuple(_stem(word) for word in _folded(token))


def _words(text: str) -> list[str]:
    """The folded (not yet stemmed) words of ``text``."""
    return [word for token in _tokens(text) for word in _folded(token)]


def normalise(text: str) -> str:
    """``text`` as the index holds it: lower-case stems without punctuation or diacritics,
    separated by single spaces, at most :data:`MAX_INDEXED_CHARS` of them. Indexing and
    querying both go through here."""
    stems = " ".join(stem for token in _tokens(text) for stem in _stems(token))
    if len(stems) > MAX_INDEXED_CHARS:
        stems = stems[: MAX_INDEXED_CHARS + 1].rsplit(" ", 1)[0]
    return stems


# -- the index --------------------------------------------------------------------------------

_SQLITE_DELETE = text("DELETE FROM story_search WHERE rowid = :story_id")
_SQLITE_INSERT = text(
    "INSERT INTO story_search (rowid, story_id, title, body) "
    "VALUES (:story_id, :story_id, :title, :body)"
)
_PG_DELETE = text("DELETE FROM story_search WHERE story_id = :story_id")
_PG_INSERT = text(
    "INSERT INTO story_search (story_id, document, reporter_id, state, created_at) "
    "SELECT story.id, setweight(to_tsvector('simple', :title), 'A') || "
    "setweight(to_tsvector('simple', :body), 'B'), story.reporter_id, story.state, "
    "story.created_at FROM story WHERE story.id = :story_id"
)
"""On PostgreSQL the index row carries the story's reporter, state and creation time, so that
a filtered search never leaves the index's table (a trigger on ``story`` keeps them in step,
migration 0014)."""
_CURRENT_TEXTS = text(
    "SELECT story.id, storyversion.title, storyversion.body FROM story "
    "JOIN storyversion ON storyversion.story_id = story.id "
    "AND storyversion.number = story.current_version "
    "WHERE story.id > :after ORDER BY story.id LIMIT :batch"
)
_ONE_CURRENT_TEXT = text(
    "SELECT storyversion.title, storyversion.body FROM story "
    "JOIN storyversion ON storyversion.story_id = story.id "
    "AND storyversion.number = story.current_version WHERE story.id = :story_id"
)
REBUILD_BATCH = 1000


def _is_postgresql(connection: Connection) -> bool:
    return connection.dialect.name == "postgresql"


def _row(story_id: int, title: str, body: str) -> dict[str, Any]:
    return {"story_id": story_id, "title": normalise(title), "body": normalise(body)}


def index_story(session: Session, story_id: int) -> None:
    """(Re)write ``story_id``'s entry in the index from its current version."""
    connection = session.connection()
    postgresql = _is_postgresql(connection)
    connection.execute(_PG_DELETE if postgresql else _SQLITE_DELETE, {"story_id": story_id})
    current = connection.execute(_ONE_CURRENT_TEXT, {"story_id": story_id}).one_or_none()
    if current is not None:
        connection.execute(
            _PG_INSERT if postgresql else _SQLITE_INSERT,
            _row(story_id, current.title, current.body),
        )


def rebuild(session: Session) -> int:
    """Index every story again from its current version; returns how many were indexed."""
    connection = session.connection()
    postgresql = _is_postgresql(connection)
    connection.execute(text("DELETE FROM story_search"))
    count = 0
    for batch in _current_texts(connection):
        connection.execute(_PG_INSERT if postgresql else _SQLITE_INSERT, batch)
        count += len(batch)
    if postgresql:
        connection.execute(text("ANALYZE story_search"))
    else:
        # Merge the index's segments into one: queries then read one b-tree per term.
        connection.execute(text("INSERT INTO story_search (story_search) VALUES ('optimize')"))
    return count


def _current_texts(connection: Connection) -> Iterator[list[dict[str, Any]]]:
    after = 0
    while rows := connection.execute(
        _CURRENT_TEXTS, {"after": after, "batch": REBUILD_BATCH}
    ).all():
        yield [_row(story_id, title, body) for story_id, title, body in rows]
        after = rows[-1][0]


# -- queries ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    """One story found, best first: what a result list shows."""

    story_id: int
    number: int
    title: str
    state: str
    created_at: datetime
    reporter_id: int
    score: float
    """Higher is better; comparable only within one result list."""
    snippet: str
    """Plain text from the body around the first word found (at most 160 characters)."""


@dataclass(frozen=True)
class _Terms:
    words: tuple[str, ...]
    """Stems every story found must contain."""
    phrases: tuple[tuple[str, ...], ...]
    """Runs of stems every story found must contain in this order."""

    @property
    def stems(self) -> frozenset[str]:
        return frozenset(self.words).union(*self.phrases)


def _terms(query: str) -> _Terms:
    """The user's words as stems, stop words dropped, and their "quoted phrases"."""
    words: dict[str, None] = {}  # in the order written, once each
    phrases: dict[tuple[str, ...], None] = {}
    for quoted in _PHRASE.findall(query):
        if all(word in STOP_WORDS for word in _words(quoted)):
            continue
        stems = tuple(normalise(quoted).split())
        if len(stems) == 1:
            words[stems[0]] = None
        else:
            phrases[stems] = None
    # Text outside a quote pair is loose words; an unpaired quote is just a character.
    for word in _words(_PHRASE.sub(" ", query)):
        if word not in STOP_WORDS:
            words[_stem(word)] = None
    kept_phrases = list(phrases)[:MAX_QUERY_TERMS]
    kept_words = list(words)[: MAX_QUERY_TERMS - len(kept_phrases)]
    return _Terms(tuple(kept_words), tuple(kept_phrases))


def _fts5_match(terms: _Terms) -> str:
    """An FTS5 query with every term quoted: nothing the user typed acts as FTS5 syntax."""
    quoted = [*terms.words, *(" ".join(phrase) for phrase in terms.phrases)]
    return " AND ".join('"' + term.replace('"', '""') + '"' for term in quoted)


_FTS = Table(
    SEARCH_TABLE,
    MetaData(),
    Column("rowid", Integer),
    Column("story_id", Integer),
    Column("title", Text),
    Column("body", Text),
    Column("document", TSVECTOR),
    Column("reporter_id", Integer),
    Column("state", Text),
    Column("created_at", UTCDateTime()),
)
"""The index as queries see it (SQLite has only ``rowid``, ``story_id``, ``title`` and ``body``,
PostgreSQL all but ``rowid``, ``title`` and ``body``): not part of the models' metadata, since
its shape differs per database."""
_SIMPLE = literal_column("'simple'::regconfig", REGCONFIG)
_STORY = Story.__table__  # type: ignore[attr-defined]
_VERSION = StoryVersion.__table__  # type: ignore[attr-defined]


def _pg_query(terms: _Terms) -> ColumnElement[Any]:
    parts: list[ColumnElement[Any]] = []
    if terms.words:
        parts.append(func.plainto_tsquery(_SIMPLE, " ".join(terms.words), type_=TSQUERY))
    parts.extend(
        func.phraseto_tsquery(_SIMPLE, " ".join(phrase), type_=TSQUERY) for phrase in terms.phrases
    )
    query = parts[0]
    for part in parts[1:]:
        query = query.op("&&", return_type=TSQUERY)(part)
    return query


def search(
    session: Session,
    query: str,
    *,
    since: date | None = None,
    until: date | None = None,
    reporter_id: int | None = None,
    states: Collection[str] | None = None,
    limit: int = 10,
    offset: int = 0,
    tz: ZoneInfo = DESK_ZONE,
) -> list[Hit]:
    """Stories, archived or open, whose current title and body hold every word of ``query``
    (in any form the stemmer reduces to the same stem) and each "quoted phrase", best first,
    newer first among equals. ``since`` and ``until`` are the desk's local days (``tz``),
    both included."""
    if limit < 0 or offset < 0:
        raise ValueError("limit and offset cannot be negative")
    terms = _terms(query)
    if not (terms.words or terms.phrases) or limit == 0:
        return []
    if states is not None and not states:
        return []
    connection = session.connection()
    if _is_postgresql(connection):
        # psycopg prepares a statement run often, and PostgreSQL's generic plan for it cannot
        # know how common the words are: it picks plans up to 5x slower than the custom ones.
        # (For this transaction only: it ends when the search's does.)
        connection.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
        filters = list(_filters(_FTS, since, until, reporter_id, states, tz))
        found = _found_on_postgresql(connection, terms, filters, _dated(_FTS, since, until, tz))
    else:
        filters = list(_filters(_STORY, since, until, reporter_id, states, tz))
        found = _found_on_sqlite(connection, terms, filters)
    # Best first; the newer of two equals (story ids follow the order they were written).
    found.sort(key=lambda item: (-item[1], -item[0]))
    page = dict(found[offset : offset + limit])
    if not page:
        return []
    statement = (
        core_select(*_STORY_COLUMNS, _VERSION.c.body)
        .select_from(
            _STORY.join(
                _VERSION,
                (_VERSION.c.story_id == _STORY.c.id)
                & (_VERSION.c.number == _STORY.c.current_version),
            )
        )
        .where(_STORY.c.id.in_(list(page)))
    )
    rows = {row.id: row for row in connection.execute(statement)}
    stems = terms.stems
    return [
        Hit(
            story_id=row.id,
            number=row.number,
            title=row.title,
            state=row.state,
            created_at=row.created_at,
            reporter_id=row.reporter_id,
            score=float(score),
            snippet=snippet(row.body, stems),
        )
        for story_id, score in page.items()
        if (row := rows.get(story_id)) is not None
    ]


_STORY_COLUMNS = (
    _STORY.c.id,
    _STORY.c.number,
    _STORY.c.title,
    _STORY.c.state,
    _STORY.c.created_at,
    _STORY.c.reporter_id,
)


def _found_on_sqlite(
    connection: Connection, terms: _Terms, filters: list[ColumnElement[bool]]
) -> list[tuple[int, float]]:
    """The newest stories found (at most :data:`RANKED_AT_MOST`), each with its score: FTS5
    reads its lists of stories newest first and stops at the limit."""
    # bm25 is lower for better matches; negated, the score reads as on PostgreSQL.
    score = -func.bm25(literal_column(SEARCH_TABLE), 0, TITLE_WEIGHT, BODY_WEIGHT)
    matches = text(f"{SEARCH_TABLE} MATCH :match").bindparams(match=_fts5_match(terms))
    story_id = _FTS.c.rowid
    statement = (
        core_select(story_id, score)
        .select_from(_FTS.join(_STORY, story_id == _STORY.c.id) if filters else _FTS)
        .where(matches, *filters)
        .order_by(story_id.desc())
        .limit(RANKED_AT_MOST)
    )
    return [(found, float(value)) for found, value in connection.execute(statement)]


FIRST_WINDOW = 8 * RANKED_AT_MOST
"""How many of the newest story ids PostgreSQL looks among first."""


def _found_on_postgresql(
    connection: Connection,
    terms: _Terms,
    filters: list[ColumnElement[bool]],
    dated: list[ColumnElement[bool]],
) -> list[tuple[int, float]]:
    """The newest stories found (at most :data:`RANKED_AT_MOST`), each with its score.

    A word in many stories has a long list in the GIN index, and every story on it costs a
    visit to its row; only the newest are wanted. So the stories are looked for among the
    newest :data:`FIRST_WINDOW` ids first, then in older windows, each as wide as the density
    found so far says is needed (at least doubling what was covered), until enough are found
    or the oldest is reached. Within a window PostgreSQL ANDs the word lists with the id range
    and the filters' own indexes before it reads a row."""
    tsquery = _pg_query(terms)
    story_id = _FTS.c.story_id
    # The ids of the stories written in the dates asked for (``dated``) bound the windows:
    # read from the creation times' index (the OFFSET keeps PostgreSQL from walking the ids
    # instead, looking for the first and last in those dates).
    if dated:
        written = core_select(story_id).where(*dated).offset(0).subquery("written")
        bounds = core_select(func.min(written.c.story_id), func.max(written.c.story_id))
    else:
        bounds = core_select(func.min(story_id), func.max(story_id))
    lowest, highest = connection.execute(bounds).one()
    if highest is None:
        return []
    found: list[tuple[int, float]] = []
    window, covered, upper = FIRST_WINDOW, 0, highest
    while upper >= lowest and len(found) < RANKED_AT_MOST:
        lower = max(lowest, upper - window + 1)
        statement = (
            core_select(story_id, func.ts_rank_cd(_FTS.c.document, tsquery))
            .where(
                _FTS.c.document.bool_op("@@")(tsquery),
                story_id.between(lower, upper),
                *filters,
            )
            .order_by(story_id.desc())
            .limit(RANKED_AT_MOST - len(found))
        )
        found.extend((row_id, float(value)) for row_id, value in connection.execute(statement))
        covered += upper - lower + 1
        upper = lower - 1
        if found:
            needed = RANKED_AT_MOST - len(found)
            window = max(covered, math.ceil(needed * covered / len(found) * 1.25))
        else:
            window = upper - lowest + 1
    return found


def _dated(
    table: Table, since: date | None, until: date | None, tz: ZoneInfo
) -> list[ColumnElement[bool]]:
    """The conditions on ``table``'s ``created_at``."""
    dated = []
    if since is not None:
        dated.append(table.c.created_at >= _local_midnight(since, tz))
    if until is not None:
        dated.append(table.c.created_at < _local_midnight(until + timedelta(days=1), tz))
    return dated


def _filters(
    table: Table,
    since: date | None,
    until: date | None,
    reporter_id: int | None,
    states: Collection[str] | None,
    tz: ZoneInfo,
) -> Iterable[ColumnElement[bool]]:
    """The conditions on ``table``'s ``created_at``, ``reporter_id`` and ``state``."""
    yield from _dated(table, since, until, tz)
    if reporter_id is not None:
        yield table.c.reporter_id == reporter_id
    if states is not None:
        yield table.c.state.in_([str(state) for state in states])


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)


def snippet(body: str, stems: Collection[str], *, width: int = SNIPPET_CHARS) -> str:
    """Plain text of ``body`` around its first word whose stem is in ``stems`` (the body's
    start when none is), at most ``width`` characters, cut at spaces, "…" where cut."""
    flat = unicodedata.normalize("NFC", " ".join(body.split()))
    if len(flat) <= width:
        return flat
    centre = next(
        (
            found.start()
            for found in _TOKEN.finditer(flat)
            if any(stem in stems for stem in _stems(found.group()))
        ),
        0,
    )
    start = max(0, centre - width // 3)
    if start:
        # Begin at a word: after the last space before the cut (or at the word found).
        space = flat.rfind(" ", start, centre)
        start = space + 1 if space >= 0 else centre
    room = width - (1 if start else 0)
    end = start + room
    if end < len(flat):
        room -= 1
        cut = flat.rfind(" ", start, start + room + 1)
        end = cut if cut > centre else start + room
    else:
        end = len(flat)
    excerpt = flat[start:end].rstrip()
    return ("…" if start else "") + excerpt + ("…" if end < len(flat) else "")


# -- the chat and CLI syntax ------------------------------------------------------------------


@dataclass(frozen=True)
class QueryProblem:
    """Something in a search request that was not understood, for a polite answer."""

    kind: str
    """``unknown_filter``, ``bad_date``, ``unknown_state``, ``empty_filter`` or
    ``reversed_dates`` (``sampai`` before ``dari``)."""
    written: str
    """What the user wrote, e.g. ``dari:31-02-2026``."""


@dataclass(frozen=True)
class SearchRequest:
    """A search as written in the chat or on the command line, read into its parts."""

    words: str
    """The words and "quoted phrases" to look for, as :func:`search` takes them."""
    since: date | None = None
    until: date | None = None
    reporter_key: str | None = None
    """A person's key (``oleh:rina``); the caller finds the person."""
    states: tuple[str, ...] | None = None
    problems: tuple[QueryProblem, ...] = field(default_factory=tuple)


FILTER_NAMES = {
    "dari": "since",
    "from": "since",
    "sampai": "until",
    "to": "until",
    "oleh": "reporter",
    "by": "reporter",
    "status": "state",
}
_FILTER = re.compile(r"(?P<name>[^\W\d_]{2,}):(?P<value>\S*)")
_REQUEST_PART = re.compile(r'"[^"]*"|\S+')
_DATE_FORMATS = ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y")


def parse_query(text: str) -> SearchRequest:
    """Read ``banjir "wali kota" dari:2026-11-01 sampai:2026-11-30 oleh:rina status:terbit``
    into its words and filters. Dates are written 2026-11-01, 1-11-2026 or 1/11/2026."""
    words: list[str] = []
    days: dict[str, tuple[date, str]] = {}  # since/until: the day, and how it was written
    reporter_key: str | None = None
    states: list[str] = []
    problems: list[QueryProblem] = []
    for token in _REQUEST_PART.findall(text):
        written = _FILTER.fullmatch(token)
        if written is None or written["value"].startswith("//"):  # a word, or a link
            words.append(token)
            continue
        name, value = written["name"].casefold(), written["value"]
        kind = FILTER_NAMES.get(name)
        if kind is None:
            problems.append(QueryProblem("unknown_filter", token))
        elif not value:
            problems.append(QueryProblem("empty_filter", token))
        elif kind in ("since", "until"):
            day = _read_date(value)
            if day is None:
                problems.append(QueryProblem("bad_date", token))
            else:
                days[kind] = (day, token)
        elif kind == "reporter":
            reporter_key = value.casefold()
        else:
            for state_name in filter(None, value.casefold().split(",")):
                state = STATE_NAMES.get(state_name, state_name)
                if state not in STATES:
                    problems.append(QueryProblem("unknown_state", f"{name}:{state_name}"))
                elif state not in states:
                    states.append(state)
    if "since" in days and "until" in days and days["until"][0] < days["since"][0]:
        written_dates = f"{days['since'][1]} {days['until'][1]}"
        problems.append(QueryProblem("reversed_dates", written_dates))
    return SearchRequest(
        words=" ".join(words),
        since=days["since"][0] if "since" in days else None,
        until=days["until"][0] if "until" in days else None,
        reporter_key=reporter_key,
        states=tuple(states) or None,
        problems=tuple(problems),
    )


def _read_date(value: str) -> date | None:
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    return None


def is_search_table(name: str) -> bool:
    """Whether ``name`` is the search index or, on SQLite, one of its FTS5 shadow tables
    (schema comparisons against the models leave them out: the index is not a model)."""
    return name == SEARCH_TABLE or name.startswith(f"{SEARCH_TABLE}_")
