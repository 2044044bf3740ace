"""The desk board on a real desk: stories by step with their deadlines, today's agenda and
duty, the week's on-time chart against the digest, escaping, English, and the login guard."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest
from starlette.applications import Starlette

from bot.web.board import board_routes, board_values
from bot.web.events import Hub
from bot.web.guard import COOKIE, Guard
from bot.web.pages import Pages
from handlers.oversight import digest_values
from storage import agenda as book
from tests.support import STORY, Chat, FakeClock, make_chat
from workflow.sla import Step

with warnings.catch_warnings():
    # Starlette 1.x asks for httpx2 and warns when it finds httpx; the client works the same.
    warnings.filterwarnings("ignore", message=".*`httpx2`", category=UserWarning)
    from starlette.testclient import TestClient

TODAY = date(2026, 12, 2)
"""The fake clock starts at 08.00 WIB on Wednesday 2 December 2026."""


def story_text(title: str) -> str:
    return STORY.replace("Wali Kota Buka Musrenbang", title)


@pytest.fixture
def desk(db_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[Chat]:
    chat = make_chat(db_url, tmp_path, clock=clock, publish=targets(tmp_path))
    yield chat
    chat.warta.close()


def targets(folder: Path) -> dict:
    """A folder site and a manual one, so a story waits in "being published" until an
    operator reports the manual site's address."""
    return {
        "targets": [
            {"name": "arsip", "kind": "folder", "path": str(folder / "pub")},
            {"name": "infopublik", "kind": "manual"},
        ]
    }


def client_for(chat: Chat, *, guard: Guard | None = None, hub: object = None) -> TestClient:
    options = chat.desk.options
    routes = board_routes(
        desk=chat.desk,
        pages=Pages(locale=options.locale, tz=options.tz),
        hub=hub or Hub(),  # type: ignore[arg-type]
        guard=guard or Guard(password=None),
    )
    return TestClient(Starlette(routes=routes))


@pytest.fixture
def board(desk: Chat) -> Iterator[TestClient]:
    with client_for(desk) as client:
        yield client


@dataclass
class Card:
    column: str
    classes: set[str]
    text: str


class Board(HTMLParser):
    """The fragment read back: each story card with its column, and the side boxes' text."""

    def __init__(self) -> None:
        super().__init__()
        self.cards: list[Card] = []
        self.boxes: dict[str, str] = {}
        self._column: str | None = None
        self._card: Card | None = None
        self._box: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "section" and (label := found.get("aria-labelledby") or ""):
            if label.startswith("column-"):
                self._column = label.removeprefix("column-")
            else:
                self._box = label.removeprefix("board-")
                self.boxes[self._box] = ""
        if tag == "article" and self._column:
            self._card = Card(self._column, set((found.get("class") or "").split()), "")
            self.cards.append(self._card)

    def handle_endtag(self, tag: str) -> None:
        if tag == "article":
            self._card = None
        if tag == "section":
            self._column = self._box = None

    def handle_data(self, data: str) -> None:
        if self._card is not None:
            self._card.text += data
        if self._box is not None:
            self.boxes[self._box] += data


def read(client: TestClient) -> Board:
    response = client.get("/board/fragment")
    assert response.status_code == 200
    parsed = Board()
    parsed.feed(response.text)
    for card in parsed.cards:
        card.text = " ".join(card.text.split())
    parsed.boxes = {key: " ".join(text.split()) for key, text in parsed.boxes.items()}
    return parsed


def card(client: TestClient, number: int) -> Card:
    found = [c for c in read(client).cards if c.text.startswith(f"#{number} ")]
    assert len(found) == 1, f"story #{number} is on the board {len(found)} times"
    return found[0]


def test_a_story_moves_across_the_columns_with_who_must_act(desk: Chat, board: TestClient):
    desk.send("rina", STORY)
    submitted = card(board, 1)
    assert submitted.column == "submitted" and "ok" in submitted.classes
    assert "Wali Kota Buka Musrenbang" in submitted.text
    assert "Reporter: Rina · Giliran: Redaktur" in submitted.text
    assert "Batas 11.00 WIB · 3 jam lagi" in submitted.text

    desk.send("dedi", "/sunting 1")
    editing = card(board, 1)
    assert editing.column == "editing" and "Giliran: Dedi" in editing.text
    assert "Batas 11.00 WIB" in editing.text  # claiming keeps the step's deadline

    desk.send("dedi", "/verifikasi 1 semua")
    verified = card(board, 1)
    assert verified.column == "verified" and "Giliran: Admin" in verified.text
    assert "Batas 10.00 WIB · 2 jam lagi" in verified.text

    desk.send("budi", "/terbitkan 1")
    publishing = card(board, 1)
    assert publishing.column == "publishing" and "Giliran: Admin" in publishing.text

    desk.send("budi", "/terbit 1 infopublik https://infopublik.id/kategori/berita/1")
    published = card(board, 1)
    assert published.column == "published" and "Giliran: Redaktur" in published.text
    assert "Reporter: Rina" in published.text and "Batas " in published.text
    page = board.get("/board").text
    assert "Terbit, menunggu dokumentasi H+1" in page

    desk.send("dedi", "/arsipkan 1 paksa")  # (infopublik.id is not reachable from the tests)
    desk.warta.watch.sweep()
    desk.flush()
    assert read(board).cards == []


def test_a_returned_story_waits_with_its_reporter_most_urgent_first(
    desk: Chat, board: TestClient, clock: FakeClock
):
    desk.send("rina", story_text("Pasar Murah di Kelurahan Menteng"))
    clock.advance(minutes=10)
    desk.send("rina", story_text("Vaksinasi di Taman Kota Kamaruddin"))
    desk.send("sari", "/sunting 2")
    desk.send("sari", "/kembalikan 2 Nama pejabat belum lengkap")
    clock.advance(minutes=10)
    desk.send("anton", story_text("Peninjauan Banjir Sungai Kahayan"))

    first = [c for c in read(board).cards if c.column == "submitted"]
    assert [c.text.split()[0] for c in first] == ["#2", "#1", "#3"]  # due 09.10, 11.00, 11.20
    returned = first[0]
    assert "dikembalikan ke reporter" in returned.text
    assert "Giliran: Rina" in returned.text and "Batas 09.10 WIB" in returned.text
    assert "dikembalikan" not in first[1].text


def test_near_turns_amber_and_late_turns_red(desk: Chat, board: TestClient, clock: FakeClock):
    desk.send("rina", STORY)
    clock.advance(hours=2, minutes=20)  # 40 minutes left of a 3-hour window (amber at 36)
    assert "ok" in card(board, 1).classes

    clock.advance(minutes=10)
    near = card(board, 1)
    assert "near" in near.classes and "30 menit lagi" in near.text
    [story] = board_values(desk.desk, now=clock())["columns"][0].stories
    assert story.status == "near" and story.near_at.isoformat() == "2026-12-02T03:24:00+00:00"

    clock.advance(minutes=35)  # the editing window of 3 hours has passed
    late = card(board, 1)
    assert "late" in late.classes and "near" not in late.classes
    assert "terlambat 5 menit" in late.text
    assert 'data-due="2026-12-02T04:00:00+00:00"' in board.get("/board").text


def test_today_agenda_shows_who_covers_each_item(desk: Chat, board: TestClient):
    assert "Belum ada kegiatan yang tercatat hari ini." in read(board).boxes["agenda"]

    desk.send("dedi", "/agenda tambah hari ini 14.00-15.00 | Rapat | Wali Kota | Aula")
    agenda = read(board).boxes["agenda"]
    assert "14.00–15.00 A1 Rapat — Wali Kota, Aula" in agenda
    assert "⚠️ belum ada peliput" in agenda

    desk.send("dedi", "/tugaskan 1 rina")
    assert "Peliput: Rina (menunggu jawaban)" in read(board).boxes["agenda"]

    desk.send("rina", "/terima")
    assert "👍 Peliput: Rina (siap meliput)" in read(board).boxes["agenda"]


def test_today_duty_officer_once_the_roster_is_approved(desk: Chat, board: TestClient):
    desk.send("dedi", "/roster buat")
    assert "Tidak ada jadwal piket hari ini." in read(board).boxes["duty"]  # a draft is no duty

    desk.send("hendra", "/roster setujui")
    with desk.warta.db.transaction() as session:
        [slot] = book.duty_on(session, TODAY)
    person = desk.desk.people.get(slot.person_id)
    assert person is not None
    assert read(board).boxes["duty"].endswith(f"{person.name} (piket, 07.30–16.00)")


def test_the_week_chart_agrees_with_the_digest(desk: Chat, board: TestClient, clock: FakeClock):
    desk.send("rina", story_text("Pasar Murah di Kelurahan Menteng"))
    desk.send("rina", story_text("Apel Pagi di Balai Kota"))
    clock.advance(hours=1)
    desk.send("dedi", "/sunting 1")
    desk.send("dedi", "/verifikasi 1 semua")  # editing on time
    desk.send("budi", "/terbitkan 1")
    clock.advance(minutes=30)
    desk.send("budi", "/terbit 1 infopublik https://infopublik.id/kategori/berita/1")
    clock.advance(hours=3)  # 12.30: story 2 is past its 11.00 editing deadline
    desk.send("sari", "/sunting 2")
    desk.send("sari", "/verifikasi 2 semua")  # editing late
    clock.advance(days=1)

    now = clock()
    chart = board_values(desk.desk, now=now)["chart"]
    with desk.warta.db.transaction() as session:
        digest = digest_values(session, desk.desk, TODAY, now)["figures"]
    assert chart.days[-2] == TODAY and len(chart.days) == 7
    for row, figure in zip(chart.rows, digest.steps, strict=True):
        shown = row.days[-2]
        assert (shown.step, shown.finished, shown.on_time) == (
            figure.step,
            figure.finished,
            figure.on_time,
        )
        assert shown.percent_on_time == figure.percent_on_time
    by_step = {row.step: row for row in chart.rows}
    assert by_step[Step.EDITING].days[-2].percent_on_time == 50
    assert by_step[Step.PUBLISHING].days[-2].percent_on_time == 100
    assert by_step[Step.DOCUMENTATION].total.percent_on_time is None

    page = board.get("/board").text
    assert "<svg" in page and "<script>" not in page.split("<svg", 1)[1].split("</svg>")[0]
    assert "Penyuntingan, Rab 2 Des: 1 dari 2 tepat waktu (50%)" in page
    assert "Penerbitan, Rab 2 Des: 1 dari 1 tepat waktu (100%)" in page
    assert "Penyuntingan, 7 hari: 1 dari 2 tepat waktu (50%)" in page
    assert "Pendokumentasian, Rab 2 Des: belum ada yang selesai" in page
    assert ">50%</text>" in page and ">1/2</text>" in page and ">–</text>" in page


def test_hostile_titles_are_shown_as_text(desk: Chat, board: TestClient):
    desk.send("rina", story_text("<script>alert('x')</script> Banjir <b>Kahayan</b>"))
    desk.send("dedi", "/agenda tambah hari ini 14.00-15.00 | <img src=x onerror=alert(1)> | Sekda")
    for path in ("/board", "/board/fragment"):
        text = board.get(path).text
        assert "<script>alert" not in text and "<b>Kahayan" not in text and "<img" not in text
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Banjir &lt;b&gt;Kahayan" in text
        assert "&lt;img src=x onerror=alert(1)&gt;" in text
    assert '<script src="/static/board.js" defer></script>' in board.get("/board").text


def test_the_board_speaks_english_when_the_desk_does(db_url: str, tmp_path: Path, clock: FakeClock):
    chat = make_chat(db_url, tmp_path, clock=clock, locale="en", publish=targets(tmp_path))
    try:
        chat.send("rina", STORY)
        chat.send("dedi", "/agenda tambah hari ini 14.00-15.00 | Rapat | Wali Kota | Aula")
        with client_for(chat) as client:
            page = client.get("/board").text
            story = card(client, 1)
        assert '<html lang="en">' in page and "Desk board" in page
        assert "Wednesday 2 December 2026" in page and "Waiting for an editor" in page
        assert "Due 11:00 WIB · 3 hours left" in story.text
        assert "Now with: Editors" in story.text
        assert "14:00–15:00" in page and "nobody assigned" in page
        assert "Documentation, Wed 2 Dec: none finished" in page
        assert "Papan redaksi" not in page and "Giliran" not in page
    finally:
        chat.warta.close()


def test_with_a_password_every_board_route_asks_for_a_login(desk: Chat):
    guard = Guard(password="rahasia-redaksi")
    with client_for(desk, guard=guard, hub=FiniteHub()) as client:
        for path in ("/board", "/board/fragment", "/board/events"):
            response = client.get(path, follow_redirects=False)
            assert response.status_code == 303 and response.headers["location"] == "/login"
        assert client.post("/board", follow_redirects=False).status_code == 405

        login = guard.login("rahasia-redaksi", secure=False)
        assert login is not None
        token = login.headers["set-cookie"].split(";")[0].split("=", 1)[1]
        client.cookies.set(COOKIE, token)
        assert client.get("/board", follow_redirects=False).status_code == 200
        assert client.get("/board/events", follow_redirects=False).status_code == 200


class FiniteHub:
    """A hub whose stream ends after two events (the real one runs until the browser leaves)."""

    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    async def stream(self, topics: Iterable[str]) -> AsyncIterator[str]:
        self.asked.append(list(topics))
        yield "retry: 2000\n\n"
        yield 'data: {"type": "changed"}\n\n'


def test_events_stream_the_board_topic_uncached(desk: Chat):
    hub = FiniteHub()
    with client_for(desk, hub=hub) as client:
        response = client.get("/board/events")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert "no-cache" in response.headers["cache-control"]
    assert response.text == 'retry: 2000\n\ndata: {"type": "changed"}\n\n'
    assert hub.asked == [["board"]]


def test_the_fragment_is_only_the_live_part_under_the_same_policy(desk: Chat, board: TestClient):
    desk.send("rina", STORY)
    response = board.get("/board/fragment")
    assert response.text.lstrip().startswith('<div id="board-live" data-now="2026-12-02T01:00:00')
    assert "<html" not in response.text and "<script" not in response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    page = board.get("/board").text
    assert page.count('id="board-live"') == 1
    assert "style=" not in page and "onclick" not in page  # the policy forbids inline styles
