"""Full-text search over stories, on SQLite (FTS5) and PostgreSQL (tsvector): ranking, word
forms, filters, the index kept in step, hostile input, and the chat syntax."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text, update

from storage import repo, search
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Person, Story
from storage.search import QueryProblem, normalise, parse_query, snippet
from workflow.calendar import BusinessCalendar
from workflow.sla import SlaPolicy

JAKARTA = ZoneInfo("Asia/Jakarta")
START = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # 08.00 WIB
POLICY = SlaPolicy(calendar=BusinessCalendar(tz=JAKARTA))
FILLER = (
    "Kegiatan dihadiri camat, lurah dan perwakilan warga dari tiga kelurahan. Usulan yang masuk "
    "mencakup drainase, penerangan jalan umum dan pelatihan usaha kecil."
)


class Desk:
    """A migrated database with two reporters, where tests write stories at chosen times."""

    def __init__(self, db: Database) -> None:
        self.db = db
        with db.transaction() as session:
            for key in ("rina", "anton"):
                session.add(Person(key=key, name=key.title()))
            session.flush()
            self.people = {
                person.key: person.id for person in session.exec(text("SELECT id, key FROM person"))
            }
        self.clock = START

    def add(
        self,
        title: str,
        body: str = FILLER,
        *,
        at: datetime | None = None,
        reporter: str = "rina",
        state: str | None = None,
    ) -> int:
        self.clock += timedelta(minutes=1)
        with self.db.transaction() as session:
            story = repo.create_story(
                session,
                title=title,
                body=body,
                reporter_id=self.people[reporter],
                channel="local",
                chat_id="redaksi",
                now=at or self.clock,
                policy=POLICY,
            )
            assert story.id is not None
            if state:
                session.exec(update(Story).where(Story.id == story.id).values(state=state))
            return story.id

    def revise(self, story_id: int, title: str, body: str) -> None:
        with self.db.transaction() as session:
            story = session.get(Story, story_id)
            assert story is not None
            repo.add_version(session, story, title=title, body=body, author_id=None, now=self.clock)

    def find(self, query: str, **filters: Any) -> list[search.Hit]:
        with self.db.transaction() as session:
            return search.search(session, query, **filters)

    def ids(self, query: str, **filters: Any) -> list[int]:
        """The ids of the stories found, best first."""
        return [hit.story_id for hit in self.find(query, **filters)]


@pytest.fixture
def desk(db_url: str) -> Iterator[Desk]:
    db = Database(db_url)
    upgrade(db)
    yield Desk(db)
    db.dispose()


def test_a_title_hit_ranks_above_a_body_hit(desk: Desk):
    in_title = desk.add("Banjir Rendam Tiga Kelurahan", FILLER)
    in_body = desk.add("Warga Gotong Royong", f"{FILLER} Banjir surut sore hari.")  # newer
    for index in range(6):
        desk.add(f"Rapat Koordinasi {index}")
    hits = desk.find("banjir")
    assert [hit.story_id for hit in hits] == [in_title, in_body]
    assert hits[0].score > hits[1].score > 0


def test_every_word_must_be_found(desk: Desk):
    both = desk.add("Banjir di Samarinda", FILLER)
    desk.add("Banjir di Balikpapan", FILLER)
    desk.add("Pasar Samarinda Dibuka", FILLER)
    assert desk.ids("banjir samarinda") == [both]
    assert desk.ids("banjir samarinda pontianak") == []


def test_a_quoted_phrase_must_appear_in_order(desk: Desk):
    phrase = desk.add("Wali Kota Tinjau Pasar", FILLER)
    apart = desk.add("Kota Tua", f"Sang wali datang ke kota lama. {FILLER}")
    assert sorted(desk.ids("wali kota")) == sorted([phrase, apart])
    assert desk.ids('"wali kota"') == [phrase]
    assert desk.ids('"kota wali"') == []
    assert desk.ids('"wali kota" pasar') == [phrase]


@pytest.mark.parametrize(
    ("written", "query"),
    [
        ("Gedung Baru Diresmikan", "peresmian"),
        ("Peresmian Gedung Baru", "resmi"),
        ("Peresmian Gedung Baru", "meresmikan"),
        ("Pembangunan Jembatan", "dibangun"),
        ("Kebakaran di Pasar", "terbakar"),
        ("Pemerintah Kota Bagikan Beras", "pemerintahan"),
        ("Perbaikan Jalan Rampung", "diperbaiki"),
        ("Jalan Ditutup Sementara", "penutupan"),
        ("Rumahnya Terendam", "rumah"),
        ("Wali Kota Meninjau Pasar", "peninjauan"),
        ("Penanaman Seribu Pohon", "ditanam"),
        ("Pertemuan Forum RT", "bertemu"),
    ],
)
def test_word_forms_meet_at_their_stem(desk: Desk, written: str, query: str):
    story = desk.add(written, FILLER)
    desk.add("Rapat Koordinasi", FILLER)
    assert desk.ids(query) == [story]


def test_case_punctuation_and_diacritics_do_not_matter(desk: Desk):
    story = desk.add(
        "KAFÉ Naïve di Tepian Mahakam!",
        f"Dibuka hari Jum'at; warga menyebutnya kupu-kupu. {FILLER}",
    )
    desk.add("Rapat Koordinasi", FILLER)
    for query in ("kafe naive", "Kafé", "TEPIAN, mahakam.", "jumat", "kupu", "“Mahakam”"):
        assert desk.ids(query) == [story], query


def test_empty_and_stop_word_queries_find_nothing(desk: Desk):
    desk.add("Yang Dan Di Ke", f"yang dan di ke dari untuk {FILLER}")
    for query in ("", "   ", "yang dan di", '"yang"', "!!! ... ---", "a" * 500):
        assert desk.find(query) == [], query


def test_dates_are_the_desk_s_local_days(desk: Desk):
    # 23.59 WIB on 30 November, and 00.30 WIB on 1 December (still 30 November in UTC).
    late = desk.add("Banjir Malam", at=datetime(2026, 11, 30, 16, 59, tzinfo=UTC))
    early = desk.add("Banjir Dini Hari", at=datetime(2026, 11, 30, 17, 30, tzinfo=UTC))
    november, december = date(2026, 11, 30), date(2026, 12, 1)
    assert desk.ids("banjir", until=november) == [late]
    assert desk.ids("banjir", since=december) == [early]
    assert desk.ids("banjir", since=november, until=november) == [late]
    assert sorted(desk.ids("banjir", since=november, until=december)) == sorted([late, early])
    utc = ZoneInfo("UTC")
    assert sorted(desk.ids("banjir", since=november, until=november, tz=utc)) == sorted(
        [late, early]
    )


def test_reporter_and_state_filters(desk: Desk):
    rina_open = desk.add("Banjir Kelurahan Sidomulyo", reporter="rina")
    rina_archived = desk.add("Banjir Kelurahan Karang", reporter="rina", state="archived")
    anton_published = desk.add("Banjir Kelurahan Loa", reporter="anton", state="published")
    rina, anton = desk.people["rina"], desk.people["anton"]
    assert sorted(desk.ids("banjir", reporter_id=rina)) == sorted([rina_open, rina_archived])
    assert desk.ids("banjir", reporter_id=anton) == [anton_published]
    assert desk.ids("banjir", states=["archived"]) == [rina_archived]
    assert sorted(desk.ids("banjir", states=("archived", "published"))) == sorted(
        [rina_archived, anton_published]
    )
    assert desk.ids("banjir", states=["submitted"], reporter_id=anton) == []
    assert desk.ids("banjir", states=[]) == []
    hit = desk.find("banjir", reporter_id=anton)[0]
    assert (hit.state, hit.reporter_id, hit.title) == ("published", anton, "Banjir Kelurahan Loa")


def test_the_filters_follow_a_change_of_state_or_reporter(desk: Desk):
    story = desk.add("Banjir Kelurahan Sidomulyo", reporter="rina")
    assert desk.ids("banjir", states=["submitted"]) == [story]
    with desk.db.transaction() as session:
        session.exec(
            update(Story)
            .where(Story.id == story)
            .values(state="published", reporter_id=desk.people["anton"])
        )
    assert desk.ids("banjir", states=["submitted"]) == []
    assert desk.ids("banjir", states=["published"], reporter_id=desk.people["anton"]) == [story]
    desk.revise(story, "Banjir Surut di Sidomulyo", FILLER)  # written again: still published
    assert desk.ids("surut", states=["published"]) == [story]


def test_older_stories_are_found_however_far_back_they_are(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
):
    # PostgreSQL looks among the newest ids first and widens its window as it goes; the
    # answer is the same as one look at everything (which SQLite takes).
    monkeypatch.setattr(search, "FIRST_WINDOW", 2)
    monkeypatch.setattr(search, "RANKED_AT_MOST", 3)
    written = [
        desk.add(f"Banjir ke-{index}" if index in (0, 1, 5, 13) else f"Rapat ke-{index}")
        for index in range(16)
    ]
    assert sorted(desk.ids("banjir")) == [written[1], written[5], written[13]]
    anton = desk.add("Banjir Pagi", reporter="anton", at=datetime(2026, 1, 5, 3, 0, tzinfo=UTC))
    assert desk.ids("banjir", reporter_id=desk.people["anton"]) == [anton]
    assert desk.ids("banjir", until=date(2026, 1, 31)) == [anton]
    assert desk.ids("rapat", limit=1, offset=2) != []
    assert desk.ids("kemarau") == []


def test_the_index_follows_the_current_version(desk: Desk):
    story = desk.add("Pasar Sayur Dibuka", f"Pedagang sayur berjualan di perahu. {FILLER}")
    desk.revise(story, "Pasar Ikan Diresmikan", f"Pedagang ikan berjualan di dermaga. {FILLER}")
    assert desk.ids("sayur") == []
    assert desk.ids("perahu") == []
    assert desk.ids("ikan dermaga") == [story]
    hit = desk.find("peresmian")[0]
    assert hit.title == "Pasar Ikan Diresmikan"


def test_rebuild_writes_the_whole_index_again(desk: Desk):
    first = desk.add("Banjir Rob", f"Air pasang merendam pesisir. {FILLER}")
    second = desk.add("Festival Budaya", f"Banjir pengunjung. {FILLER}")
    desk.revise(first, "Banjir Rob Surut", f"Air laut surut sore hari. {FILLER}")
    with desk.db.transaction() as session:
        session.connection().execute(text("DELETE FROM story_search"))
    assert desk.find("banjir") == []
    with desk.db.transaction() as session:
        assert search.rebuild(session) == 2
        assert search.rebuild(session) == 2  # twice is the same as once
    assert desk.ids("banjir") == [first, second]
    assert desk.ids("surut laut") == [first]
    assert desk.ids("pesisir") == []  # the replaced version's words


def test_a_very_long_text_is_indexed_up_to_a_limit(desk: Desk):
    # A million characters of distinct words would make a tsvector PostgreSQL refuses.
    words = [f"w{index:x}q" for index in range(140_000)]
    story = desk.add("Lampiran Panjang", " ".join(words))
    assert desk.ids(words[0]) == [story]
    assert desk.ids(words[-1]) == []


HOSTILE = [
    "banjir NEAR(pasar kota, 2)",
    'banjir" OR "pasar',
    '"banjir',
    'banjir"" *',
    "banjir*",
    "* - : ^ ( ) { } [ ]",
    "-banjir",
    "title:banjir",
    "story_search:banjir",
    "banjir AND NOT pasar OR kota",
    "banjir & pasar | !kota <-> ':*'",
    "banjir \x00 pasar",
    "banjir \ud800 pasar",
    "'; DROP TABLE story; --",
    "بانجير 洪水 🌊 Ⅻ ² ﬁ",
    "banjir " * 2000,
    "x" * 10_000,
    " ".join(f"kata{index}" for index in range(1500)),
]


@pytest.mark.parametrize("query", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_queries_never_raise(desk: Desk, query: str):
    story = desk.add("Banjir di Pasar Kota", FILLER)
    hits = desk.find(query)
    assert all(hit.story_id == story for hit in hits)
    assert len(desk.find(query, since=date(2026, 1, 1), states=["submitted"], limit=3)) <= 1


def test_limit_and_offset_page_through_newest_first(desk: Desk):
    stories = [desk.add(f"Banjir Hari ke {index}", FILLER) for index in range(15)]
    newest_first = stories[::-1]
    assert desk.ids("banjir") == newest_first[:10]
    assert desk.ids("banjir", limit=10, offset=10) == newest_first[10:]
    assert desk.ids("banjir", limit=4, offset=2) == newest_first[2:6]
    assert desk.ids("banjir", offset=15) == []
    assert desk.ids("banjir", limit=0) == []
    with pytest.raises(ValueError):
        desk.find("banjir", limit=-1)


def test_only_the_newest_stories_found_are_ranked_when_very_many_are(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(search, "RANKED_AT_MOST", 3)
    old_title = desk.add("Banjir Besar", FILLER, at=datetime(2026, 1, 5, 3, 0, tzinfo=UTC))
    newer = [desk.add(f"Kabar {index}", f"Banjir kecil. {FILLER}") for index in range(4)]
    assert desk.ids("banjir") == newer[:0:-1]  # the three newest, best first
    assert desk.ids("banjir", until=date(2026, 1, 31)) == [old_title]  # filters come first
    assert desk.ids("banjir", reporter_id=desk.people["rina"]) == newer[:0:-1]
    monkeypatch.setattr(search, "RANKED_AT_MOST", 10)
    assert desk.ids("banjir") == [old_title, *newer[::-1]]


def test_snippet_shows_the_body_around_the_first_word_found(desk: Desk):
    body = f"{FILLER} {FILLER} Jembatan Mahulu diresmikan Wali Kota pada Senin pagi.\n\n{FILLER}"
    desk.add("Jembatan Baru", body)
    hit = desk.find("peresmian")[0]
    assert "diresmikan" in hit.snippet and len(hit.snippet) <= 160
    assert "\n" not in hit.snippet and hit.snippet.startswith("…") and hit.snippet.endswith("…")
    title_only = desk.find("baru")[0]
    assert title_only.snippet.startswith("Kegiatan dihadiri") and len(title_only.snippet) <= 160


def test_stories_written_before_the_index_existed_are_indexed_by_the_migration(db_url: str):
    db = Database(db_url)
    upgrade(db, "0011")
    with db.engine.begin() as connection:
        connection.execute(
            text("INSERT INTO person (key, name, active) VALUES ('rina', 'Rina', true)")
        )
        connection.execute(
            text(
                "INSERT INTO story (number, title, state, reporter_id, current_version, "
                "origin_channel, origin_chat, created_at, updated_at, lock_version) VALUES "
                "(1, 'Pasar Ikan', 'archived', 1, 2, 'local', 'redaksi', :at, :at, 1)"
            ),
            {"at": START},
        )
        for number, title in ((1, "Pasar Sayur"), (2, "Pasar Ikan")):
            connection.execute(
                text(
                    "INSERT INTO storyversion (story_id, number, title, body, created_at) "
                    "VALUES (1, :number, :title, :body, :at)"
                ),
                {
                    "number": number,
                    "title": title,
                    "body": f"Peresmian pasar. {FILLER}",
                    "at": START,
                },
            )
    upgrade(db)
    with db.transaction() as session:
        assert [hit.number for hit in search.search(session, "ikan peresmian")] == [1]
        assert search.search(session, "sayur") == []
    db.dispose()


def test_the_filter_indexes_migration_goes_down_and_up_again(db_url: str):
    from alembic import command

    from storage.migrate import alembic_config

    db = Database(db_url)
    upgrade(db)
    desk = Desk(db)
    desk.add("Pasar Ikan Diresmikan", FILLER, reporter="anton")
    command.downgrade(alembic_config(db), "0013")
    with db.engine.connect() as connection:
        if not db.is_sqlite:  # 0013's PostgreSQL index kept the normalised texts beside it
            row = connection.execute(text("SELECT title, body FROM story_search")).one()
            assert row.title == "pasar ikan resmi" and row.body == normalise(FILLER)
    upgrade(db)
    assert [hit.title for hit in desk.find("peresmian", reporter_id=desk.people["anton"])] == [
        "Pasar Ikan Diresmikan"
    ]
    db.dispose()


# -- without a database -----------------------------------------------------------------------


def test_normalise_folds_and_stems():
    assert normalise("Wali Kota MERESMIKAN Gedung, Jum'at (café)!") == (
        "wali kota resmi gedung jumat cafe"
    )
    assert normalise("") == "" and normalise("... —") == ""


def test_snippet_is_short_plain_text():
    body = " ".join(f"kata{index}" for index in range(100)) + " banjir " + "akhir " * 50
    cut = snippet(body, {"banjir"})
    assert "banjir" in cut and len(cut) <= 160 and cut.startswith("…") and cut.endswith("…")
    assert snippet("Pendek saja.\n\nDua baris.", {"x"}) == "Pendek saja. Dua baris."
    assert len(snippet("x" * 500, {"banjir"})) <= 160


def test_parse_query_reads_words_and_filters():
    request = parse_query(
        'banjir "wali kota" dari:2026-11-01 sampai:30/11/2026 oleh:Rina status:terbit,arsip'
    )
    assert request.words == 'banjir "wali kota"'
    assert (request.since, request.until) == (date(2026, 11, 1), date(2026, 11, 30))
    assert request.reporter_key == "rina"
    assert request.states == ("published", "archived")
    assert request.problems == ()
    english = parse_query("flood from:1-11-2026 to:2026-11-30 by:anton status:published")
    assert (english.words, english.reporter_key, english.states) == (
        "flood",
        "anton",
        ("published",),
    )
    assert english.since == date(2026, 11, 1)


@pytest.mark.parametrize(
    ("state_name", "state"),
    [
        ("terkirim", "submitted"),
        ("disunting", "editing"),
        ("terverifikasi", "verified"),
        ("terbit", "published"),
        ("arsip", "archived"),
        ("ditolak", "spiked"),
        ("revisi", "revision_requested"),
        ("Revision_Requested", "revision_requested"),
        ("publishing", "publishing"),
    ],
)
def test_parse_query_knows_the_state_names(state_name: str, state: str):
    assert parse_query(f"status:{state_name}").states == (state,)


def test_parse_query_lists_what_it_did_not_understand():
    request = parse_query(
        "banjir warna:merah dari:2026-02-30 sampai:kemarin status:hilang oleh: lihat http://x.id"
    )
    assert request.words == "banjir lihat http://x.id"
    assert request.problems == (
        QueryProblem("unknown_filter", "warna:merah"),
        QueryProblem("bad_date", "dari:2026-02-30"),
        QueryProblem("bad_date", "sampai:kemarin"),
        QueryProblem("unknown_state", "status:hilang"),
        QueryProblem("empty_filter", "oleh:"),
    )
    assert request.since is None and request.states is None
    reversed_dates = parse_query("dari:2026-12-01 sampai:2026-11-01")
    assert [problem.kind for problem in reversed_dates.problems] == ["reversed_dates"]
    assert parse_query('"dari:2026-12-01" pukul 10:30').words == '"dari:2026-12-01" pukul 10:30'
