"""The record handed over on request: real stories (an assignment, versions, photos, two
publish targets, a hostile title) on a real SQLite desk, exported as a folder and as a zip;
every link relative and present, story text shown as text, nothing of the machine written,
and the pages opened offline in a real browser."""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

import pytest
from bs4 import BeautifulSoup

from bot.export import ExportError, export_record
from handlers.messages import InboundMedia
from tests.support import FakeClock, chromium, jpeg, make_chat

WIB = ZoneInfo("Asia/Jakarta")
EXPORTED = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)  # Saturday 10.00 WIB
HOSTILE_TITLE = "<script>alert(1)</script>"
HOSTILE_BODY = (
    'Isi <img src=x onerror="alert(2)"> berita </div><a href="https://evil.example">x</a>'
)
DECODED = (
    "images => Promise.all(images.map(image => image.decode()"
    ".then(() => [image.naturalWidth, image.naturalHeight])))"
)
"""Each image's size once the browser has decoded it (a broken image rejects)."""
RED, GREEN = jpeg((200, 40, 40), (320, 240)), jpeg((40, 160, 60), (240, 320))


@dataclass
class Desk:
    """The desk after the scenario: where its database and media live."""

    folder: Path
    db: Any
    media_root: Path

    def export(self, out: Path, **options: Any) -> Path:
        options.setdefault("tz", WIB)
        options.setdefault("now", EXPORTED)
        return export_record(self.db, self.media_root, out=out, **options)


def at(clock: FakeClock, month: int, day: int, hour: int, minute: int = 0) -> None:
    """Move the clock to hh.mm WIB on ``day`` ``month`` 2026 (only forward)."""
    target = datetime(2026, month, day, hour, minute, tzinfo=WIB).astimezone(UTC)
    assert target >= clock.now
    clock.now = target


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    """#1 covers agenda A1 with two photos, is edited (version 2), verified and published to
    a web-served folder and a plain one; #2 (hostile text) arrives at 23.50 WIB on 30
    November, #3 at 00.10 WIB on 1 December (still 30 November in UTC)."""
    folder = tmp_path_factory.mktemp("desk")
    clock = FakeClock(datetime(2026, 11, 29, 10, 0, tzinfo=WIB).astimezone(UTC))
    chat = make_chat(
        f"sqlite:///{folder / 'warta.db'}",
        folder,
        clock=clock,
        sla={"submission": "1h", "editing": "3h", "publishing": "2h", "digest_at": "off"},
        roster={"announce_at": "off"},
        publish={
            "targets": [
                {
                    "name": "mediacenter",
                    "kind": "folder",
                    "path": str(folder / "mc"),
                    "base_url": "https://mediacenter.example.go.id/berita",
                },
                {"name": "arsip", "kind": "folder", "path": str(folder / "pub")},
            ]
        },
    )
    chat.send(
        "dedi",
        "/agenda tambah besok 09.00-11.00 | Rapat koordinasi penanganan banjir | Wali Kota | "
        "Aula Peteng Karuhei",
    )
    chat.send("dedi", "/tugaskan 1 rina")
    chat.send("rina", "/terima", private=True)
    at(clock, 11, 30, 11, 40)
    photos = (
        InboundMedia(
            kind="photo", data=RED, filename="../../etc/<b>rapat</b>.jpg", caption="Rapat"
        ),
        InboundMedia(kind="photo", data=GREEN, filename="IMG_0002.JPG", caption="<i>Aula</i>"),
    )
    replies = chat.send(
        "rina", "Banjir Surut\nPALANGKA RAYA – Wali Kota meminta warga waspada.", media=photos
    )
    assert "Terhubung ke penugasan A1" in replies[0]
    at(clock, 11, 30, 11, 50)
    chat.send("dedi", "/sunting 1")
    at(clock, 11, 30, 12, 10)
    assert (
        "Versi 2"
        in chat.send(
            "dedi",
            "/revisi 1 Banjir Surut, Wali Kota Minta Warga Waspada\n"
            "PALANGKA RAYA – Wali Kota Fairid Naparin meminta warga tetap waspada.\n\n"
            '"Air surut, tetapi hujan masih turun," katanya.',
        )[0]
    )
    at(clock, 11, 30, 12, 15)
    chat.send("dedi", "/verifikasi 1 semua")
    at(clock, 11, 30, 12, 30)
    assert any("sudah terbit" in reply for reply in chat.send("budi", "/terbitkan 1"))
    at(clock, 11, 30, 23, 50)
    chat.send("rina", f"{HOSTILE_TITLE}\n{HOSTILE_BODY}", media=(InboundMedia("photo", RED),))
    at(clock, 12, 1, 0, 10)
    chat.send("rina", "Pasar Murah di Kecamatan Jekan Raya\nPALANGKA RAYA – Pasar murah dibuka.")
    yield Desk(folder, chat.warta.db, chat.warta.settings.media_dir)
    chat.warta.close()


def files_of(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


# -- one story, as a folder ------------------------------------------------------------------


def test_one_story_is_a_folder_of_pages_data_text_and_photos(desk: Desk, tmp_path: Path):
    exported = desk.export(tmp_path / "out", story_numbers=[1])

    assert exported == tmp_path / "out" / "berkas-cerita-1"
    assert files_of(exported) == {
        "BACA-SAYA.txt",
        "index.html",
        "record.json",
        "cerita-1/index.html",
        "cerita-1/cerita.json",
        "cerita-1/naskah.txt",
        "cerita-1/foto/foto-1.jpg",
        "cerita-1/foto/foto-2.jpg",
    }
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["berkas-cerita-1"]  # no leftovers
    story = exported / "cerita-1"
    assert (story / "naskah.txt").read_text(encoding="utf-8") == (
        "Banjir Surut, Wali Kota Minta Warga Waspada\n\n"
        "PALANGKA RAYA – Wali Kota Fairid Naparin meminta warga tetap waspada.\n\n"
        '"Air surut, tetapi hujan masih turun," katanya.\n'
    )
    assert (story / "foto" / "foto-1.jpg").read_bytes() == RED
    assert (story / "foto" / "foto-2.jpg").read_bytes() == GREEN
    assert "cerita-<nomor>/" in (exported / "BACA-SAYA.txt").read_text(encoding="utf-8")

    record = read_json(exported / "record.json")
    assert record["format"] == "warta-record" and record["format_version"] == 1
    assert record["exported_at"] == "2026-12-05T10:00:00+07:00"
    assert record["time_zone"] == "Asia/Jakarta" and record["locale"] == "id"
    assert record["scope"] == {"stories": [1], "month": None, "description": "berita #1"}
    assert record["counts"] == {
        "stories": 1,
        "versions": 2,
        "photos": 2,
        "attachments": 0,
        "publications": 2,
        "audit_events": record["counts"]["audit_events"],
        "files_missing": 0,
    }
    assert record["stories"] == [
        {
            "number": 1,
            "title": "Banjir Surut, Wali Kota Minta Warga Waspada",
            "state": "published",
            "page": "cerita-1/index.html",
            "data": "cerita-1/cerita.json",
        }
    ]
    assert "warta_version" in record


def test_the_story_data_holds_versions_photos_agenda_links_steps_and_audit(
    desk: Desk, tmp_path: Path
):
    data = read_json(desk.export(tmp_path, story_numbers=[1]) / "cerita-1" / "cerita.json")

    assert (data["number"], data["state"], data["state_label"]) == (1, "published", "sudah terbit")
    assert data["reporter"] == "Rina" and data["current_version"] == 2
    assert data["created_at"] == "2026-11-30T11:40:00+07:00"
    assert data["first_published_at"] == "2026-11-30T12:30:00+07:00"
    assert [(v["number"], v["author"], v["created_at"]) for v in data["versions"]] == [
        (1, "Rina", "2026-11-30T11:40:00+07:00"),
        (2, "Dedi", "2026-11-30T12:10:00+07:00"),
    ]
    assert data["final"] == data["versions"][1]
    assert [p["file"] for p in data["photos"]] == ["foto/foto-1.jpg", "foto/foto-2.jpg"]
    first = data["photos"][0]
    assert first["sha256"] == first["sha256_of_copy"] == hashlib.sha256(RED).hexdigest()
    assert first["status"] == "ok" and first["mime"] == "image/jpeg" and first["size"] == len(RED)
    assert first["caption"] == "Rapat" and "rapat</b>" not in json.dumps(data)
    assert data["agenda"]["ref"] == "A1"
    assert data["agenda"]["title"] == "Rapat koordinasi penanganan banjir"
    assert data["agenda"]["starts_at"] == "2026-11-30T09:00:00+07:00"
    assert data["assignment"]["reporter"] == "Rina"
    assert data["assignment"]["assigned_by"] == "Dedi"
    assert data["assignment"]["status"] == "covered"
    links = {p["target"]: p for p in data["publications"]}
    assert links["mediacenter"]["permalink"] == (
        "https://mediacenter.example.go.id/berita/1-banjir-surut/"
    )
    assert links["mediacenter"]["status"] == "succeeded"
    assert links["mediacenter"]["published_at"] == "2026-11-30T12:30:00+07:00"
    # A folder without a web address: its file:// link would name a path on the server.
    assert links["arsip"]["permalink"] is None
    assert links["arsip"]["local_copy"] == "1-banjir-surut"
    steps = [(s["step"], s["took_seconds"], s["outcome"], s["on_time"]) for s in data["steps"]]
    assert steps == [
        ("submission", 40 * 60, "done", True),  # due an hour after the event ended at 11.00
        ("editing", 35 * 60, "done", True),
        ("publishing", 15 * 60, "done", True),
        ("documentation", None, "open", None),
    ]
    events = [(e["event"], e["actor"]) for e in data["audit"]]
    assert events[:2] == [("submit", "Rina"), ("claim", "Dedi")]
    assert ("add_version", "Dedi") in events and ("verify", "Dedi") in events
    assert ("publish", "Budi") in events and ("publish_succeeded", None) in events
    verified = next(e for e in data["audit"] if e["event"] == "verify")
    assert verified["detail"] == {
        "checklist": {"fakta": "Dedi", "foto": "Dedi", "nama": "Dedi"},
        "version": 2,
    }
    times = re.findall(r'"(\d{4}-\d\d-\d\dT[^"]+)"', json.dumps(data))
    assert times and all(time.endswith("+07:00") for time in times)


def test_the_story_page_shows_the_record_in_indonesian(desk: Desk, tmp_path: Path):
    page = soup(desk.export(tmp_path, story_numbers=[1]) / "cerita-1" / "index.html")
    text = page.get_text(" ", strip=True)

    assert page.find("meta", charset="utf-8") is not None
    assert page.html is not None and page.html["lang"] == "id"
    assert page.h1 is not None
    assert page.h1.get_text() == "#1 Banjir Surut, Wali Kota Minta Warga Waspada"
    for heading in ("Naskah akhir", "Foto", "Agenda dan penugasan", "Tautan terbit"):
        assert page.find("h2", string=heading) is not None, heading
    for heading in ("Waktu tiap tahap", "Riwayat versi", "Jejak audit"):
        assert page.find("h2", string=heading) is not None, heading
    assert [img["src"] for img in page.find_all("img")] == ["foto/foto-1.jpg", "foto/foto-2.jpg"]
    assert "A1 «Rapat koordinasi penanganan banjir»" in text
    assert "https://mediacenter.example.go.id/berita/1-banjir-surut/" in text
    assert "salinan di folder server: 1-banjir-surut" in text
    assert "Versi 2 — oleh Dedi, 30 November 2026, 12.10 WIB" in text
    assert "tepat waktu" in text and "40 menit" in text
    audit = page.find_all("table")[-1]
    first_row = [cell.get_text(strip=True) for cell in audit.find_all("tr")[1].find_all("td")]
    assert first_row[:4] == [
        "30 November 2026, 11.40 WIB",
        "Rina",
        "mengirim liputan",
        "menunggu penyuntingan",
    ]
    assert "daftar periksa: fakta, foto, nama; versi: 2" in text
    assert "<i>Aula</i>" in text  # a caption is text, never markup
    assert page.find("i") is None


# -- a month, links, hostile text, nothing of the machine ------------------------------------


def test_a_month_is_the_stories_received_in_it_by_local_date(desk: Desk, tmp_path: Path):
    november = desk.export(tmp_path, month=date(2026, 11, 1))
    december = desk.export(tmp_path, month=date(2026, 12, 17))

    assert november.name == "berkas-2026-11" and december.name == "berkas-2026-12"
    assert [s["number"] for s in read_json(november / "record.json")["stories"]] == [1, 2]
    assert [s["number"] for s in read_json(december / "record.json")["stories"]] == [3]
    scope = read_json(november / "record.json")["scope"]
    assert scope == {
        "stories": None,
        "month": "2026-11",
        "description": "berita yang masuk pada November 2026",
    }
    rows = soup(november / "index.html").find_all("tr")[1:]
    cells = [[td.get_text(" ", strip=True) for td in row.find_all("td")] for row in rows]
    assert cells[0][:6] == [
        "#1",
        "Banjir Surut, Wali Kota Minta Warga Waspada",
        "Rina",
        "30 November 2026, 11.40 WIB",
        "30 November 2026, 12.30 WIB",
        "sudah terbit",
    ]
    assert cells[1][0] == "#2" and cells[1][4] == "—" and cells[1][5] == "menunggu penyuntingan"
    assert "mediacenter: https://mediacenter.example.go.id/berita/1-banjir-surut/" in cells[0][6]


def test_every_link_and_image_is_relative_and_inside_the_export(desk: Desk, tmp_path: Path):
    exported = desk.export(tmp_path)  # every story
    pages = sorted(exported.rglob("*.html"))
    assert len(pages) == 4

    checked = 0
    for page in pages:
        html = page.read_text(encoding="utf-8")
        parsed = BeautifulSoup(html, "html.parser")
        assert parsed.find_all(["script", "link", "iframe", "object", "embed", "base"]) == []
        for tag in parsed.find_all(True):
            for attribute in ("href", "src", "srcset", "poster", "action"):
                value = tag.get(attribute)
                if value is None:
                    continue
                parts = urlsplit(value)
                assert not parts.scheme and not parts.netloc, f"{page.name}: {value}"
                assert not value.startswith("/"), f"{page.name}: {value}"
                target = (page.parent / unquote(parts.path)).resolve()
                assert target.is_file(), f"{page.relative_to(exported)}: {value} is missing"
                assert target.is_relative_to(exported.resolve())
                checked += 1
        for style in parsed.find_all("style"):
            assert "url(" not in style.get_text() and "@import" not in style.get_text()
    assert checked >= 20


def test_hostile_story_text_is_shown_as_text(desk: Desk, tmp_path: Path):
    exported = desk.export(tmp_path, story_numbers=[2])
    story_page = exported / "cerita-2" / "index.html"
    html = story_page.read_text(encoding="utf-8")
    page = BeautifulSoup(html, "html.parser")

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script" not in html
    assert page.h1 is not None and page.h1.get_text() == f"#2 {HOSTILE_TITLE}"
    assert page.title is not None and page.title.get_text() == f"#2 {HOSTILE_TITLE}"
    assert HOSTILE_BODY in page.get_text()
    assert [img["src"] for img in page.find_all("img")] == ["foto/foto-1.jpg"]
    assert not page.find_all(attrs={"onerror": True})
    assert all(a["href"] != "https://evil.example" for a in page.find_all("a"))
    index = (exported / "index.html").read_text(encoding="utf-8")
    assert "<script" not in index and "&lt;script&gt;" in index
    data = read_json(exported / "cerita-2" / "cerita.json")
    assert data["title"] == HOSTILE_TITLE and data["final"]["body"] == HOSTILE_BODY
    assert data["agenda"] is None and data["assignment"] is None and data["publications"] == []


def test_no_path_of_the_machine_is_written_anywhere(desk: Desk, tmp_path: Path):
    folder = desk.export(tmp_path, month=date(2026, 11, 1))
    archive = desk.export(tmp_path / "zip", month=date(2026, 11, 1), as_zip=True)

    contents = [path.read_bytes() for path in folder.rglob("*") if path.is_file()]
    with zipfile.ZipFile(archive) as opened:
        names = opened.namelist()
        contents += [opened.read(name) for name in names]
    for name in names:
        assert not name.startswith("/") and ".." not in name.split("/") and "\\" not in name
    for machine in (str(desk.folder), str(tmp_path), "file://", "/tmp/"):
        needle = machine.encode()
        assert not any(needle in content for content in contents), machine


# -- the zip ---------------------------------------------------------------------------------


def test_the_zip_is_the_folder_in_name_order_and_the_same_each_time(desk: Desk, tmp_path: Path):
    folder = desk.export(tmp_path / "a", month=date(2026, 11, 1))
    first = desk.export(tmp_path / "b", month=date(2026, 11, 1), as_zip=True)
    again = desk.export(tmp_path / "c", month=date(2026, 11, 1), as_zip=True)

    assert first.name == "berkas-2026-11.zip"
    assert first.read_bytes() == again.read_bytes()
    assert [p.name for p in (tmp_path / "b").iterdir()] == ["berkas-2026-11.zip"]
    with zipfile.ZipFile(first) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        assert names == sorted(names)
        assert all(name.startswith("berkas-2026-11/") for name in names)
        assert {name.removeprefix("berkas-2026-11/") for name in names} == files_of(folder)
        for name in names:
            inside = name.removeprefix("berkas-2026-11/")
            assert archive.read(name) == (folder / inside).read_bytes(), inside
        assert {info.date_time for info in archive.infolist()} == {(2026, 12, 5, 10, 0, 0)}


# -- refusals, English, a lost photo ---------------------------------------------------------


def test_nothing_to_export_or_already_exported_is_refused(desk: Desk, tmp_path: Path):
    with pytest.raises(ExportError) as nothing:
        desk.export(tmp_path, month=date(2026, 10, 1))
    assert nothing.value.reason == "no_story"
    with pytest.raises(ExportError) as unknown:
        desk.export(tmp_path, story_numbers=[1, 99, 98])
    assert unknown.value.reason == "missing" and unknown.value.numbers == (98, 99)
    assert str(unknown.value) == "no story #98, #99"
    made = desk.export(tmp_path, story_numbers=[3])
    stamp = (made / "index.html").stat().st_mtime_ns
    with pytest.raises(ExportError) as twice:
        desk.export(tmp_path, story_numbers=[3])
    assert twice.value.reason == "exists" and twice.value.path == made
    assert (made / "index.html").stat().st_mtime_ns == stamp
    assert sorted(p.name for p in tmp_path.iterdir()) == ["berkas-cerita-3"]


def test_english_labels_and_read_me(desk: Desk, tmp_path: Path):
    exported = desk.export(tmp_path, story_numbers=[1, 3], locale="en")

    assert exported.name == "berkas-cerita-1-3"
    assert (exported / "README.txt").is_file() and not (exported / "BACA-SAYA.txt").exists()
    index = soup(exported / "index.html")
    assert index.h1 is not None and index.h1.get_text() == "News record"
    assert index.html is not None and index.html["lang"] == "en"
    page = soup(exported / "cerita-1" / "index.html")
    text = page.get_text(" ", strip=True)
    assert page.find("h2", string="Audit trail") is not None
    assert "published" in text and "submitted the coverage" in text
    assert "Version 2 — by Dedi, 30 November 2026, 12:10 WIB" in text
    assert read_json(exported / "cerita-1" / "cerita.json")["state_label"] == "published"


def test_a_photo_lost_from_the_media_store_is_reported_not_fatal(desk: Desk, tmp_path: Path):
    exported = export_record(
        desk.db, tmp_path / "empty", out=tmp_path / "out", story_numbers=[1], tz=WIB
    )

    data = read_json(exported / "cerita-1" / "cerita.json")
    assert [(p["file"], p["status"]) for p in data["photos"]] == [
        (None, "missing"),
        (None, "missing"),
    ]
    assert read_json(exported / "record.json")["counts"]["files_missing"] == 2
    assert not (exported / "cerita-1" / "foto").exists()
    page = soup(exported / "cerita-1" / "index.html")
    assert page.find_all("img") == []
    assert "berkas tidak ditemukan di penyimpanan" in page.get_text()


# -- a real browser, offline -----------------------------------------------------------------


def test_the_export_opens_offline_in_a_browser_with_its_photos(desk: Desk, tmp_path: Path):
    exported = desk.export(tmp_path, month=date(2026, 11, 1))
    with zipfile.ZipFile(desk.export(tmp_path / "zip", month=date(2026, 11, 1), as_zip=True)) as z:
        z.extractall(tmp_path / "unzipped")
    unzipped = tmp_path / "unzipped" / "berkas-2026-11"

    with chromium() as browser:
        from playwright.sync_api import expect

        context = browser.new_context(offline=True)
        off_machine: list[str] = []

        def files_only(route: Any) -> None:
            if route.request.url.startswith("file:"):
                route.continue_()
            else:
                off_machine.append(route.request.url)
                route.abort()

        context.route("**/*", files_only)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.on(
            "request",
            lambda request: off_machine.extend(
                [request.url] if not request.url.startswith(("file:", "data:", "about:")) else []
            ),
        )
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

        for root in (exported, unzipped):
            page.goto((root / "index.html").as_uri())
            expect(page.locator("h1")).to_have_text("Berkas berita")
            page.get_by_role("link", name="Banjir Surut, Wali Kota Minta Warga Waspada").click()
            expect(page).to_have_url((root / "cerita-1" / "index.html").as_uri())
            expect(page.locator("h1")).to_contain_text("Banjir Surut")
            images = page.locator("img")
            expect(images).to_have_count(2)
            assert images.evaluate_all(DECODED) == [[320, 240], [240, 320]]
            page.get_by_role("link", name="← Daftar berita").click()
            page.get_by_role("link", name=HOSTILE_TITLE).click()
            expect(page.locator("h1")).to_have_text(f"#2 {HOSTILE_TITLE}")
            assert page.locator("img").evaluate_all(DECODED) == [[320, 240]]

        assert dialogs == [] and off_machine == []
        context.close()


def test_month_bounds_follow_the_local_calendar():
    from bot.export import month_bounds

    start, after = month_bounds(date(2026, 12, 31), WIB)
    assert start == datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    assert after - start == timedelta(days=31)
    assert after == datetime(2026, 12, 31, 17, 0, tzinfo=UTC)
