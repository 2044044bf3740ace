"""Odd files sent with coverage: bombs, broken, empty and hostile names; the story is kept."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.channels.markup import plain
from handlers.messages import InboundMedia
from handlers.render import Renderer
from storage.models import InboxMessage, Media
from tests.storage.test_media_limits import blank_png
from tests.support import STORY, Chat, jpeg, photo


def sent(data: bytes, filename: str | None) -> InboundMedia:
    return InboundMedia(kind="photo", data=data, filename=filename)


def attached(chat: Chat) -> list[Media]:
    with chat.warta.db.transaction() as session:
        return list(session.exec(select(Media).order_by(Media.position)))


def inbox_media(chat: Chat) -> list[dict]:
    with chat.warta.db.transaction() as session:
        rows = session.exec(select(InboxMessage).order_by(InboxMessage.id)).all()
        return [entry for row in rows for entry in row.payload.get("media", [])]


# -- what works with the media store alone ------------------------------------------------------


def test_bomb_is_refused_but_the_story_and_other_photos_are_kept(chat: Chat):
    bomb = sent(blank_png(30000, 30000), "bom.png")
    replies = chat.send("rina", STORY, media=(photo(), bomb, photo((30, 200, 30))))
    assert "Berita #1 «Wali Kota Buka Musrenbang» sudah diterima dengan 2 foto/berkas" in replies[0]
    assert "bom.png tidak disimpan" in replies[0]
    assert [media.mime for media in attached(chat)] == ["image/jpeg", "image/jpeg"]
    refused = [entry for entry in inbox_media(chat) if entry.get("rejected")]
    assert [(entry["rejected"], entry["mime"]) for entry in refused] == [
        ("too_many_pixels", "image/png")
    ]


def test_broken_and_empty_photos_are_refused_but_the_story_is_kept(chat: Chat):
    broken = sent(b"\xff\xd8\xff\xe0" + b"not a jpeg" * 20, "rusak.jpg")
    empty = sent(b"", "kosong.jpg")
    replies = chat.send("rina", STORY, media=(broken, photo(), empty))
    assert "Berita #1 «Wali Kota Buka Musrenbang» sudah diterima dengan 1 foto/berkas" in replies[0]
    assert "rusak.jpg tidak disimpan" in replies[0]
    assert "kosong.jpg tidak disimpan" in replies[0]
    assert len(attached(chat)) == 1
    assert [entry.get("rejected") for entry in inbox_media(chat)] == ["broken_image", None, "empty"]


def test_jpeg_named_png_is_stored_as_the_jpeg_it_is(chat: Chat):
    chat.send("rina", STORY, media=(sent(jpeg(), "foto.png"),))
    [media] = attached(chat)
    assert media.mime == "image/jpeg" and media.stored_path.endswith(".jpg")


# -- what needs handlers/intake.py and the refused_files template wired ---------------------------


def test_files_go_downstream_under_generated_names(chat: Chat):
    media = (
        sent(jpeg(), "../../../etc/passwd"),
        sent(jpeg((0, 0, 200)), ".png"),
        sent(jpeg((0, 200, 0)), "🎉 pesta.jpg"),
    )
    chat.send("rina", STORY, media=media)
    assert [m.filename for m in attached(chat)] == ["foto-1.jpg", "foto-2.jpg", "foto-3.jpg"]
    assert [(e["filename"], e["original_filename"]) for e in inbox_media(chat)] == [
        ("foto-1.jpg", "passwd"),
        ("foto-2.jpg", ".png"),
        ("foto-3.jpg", "🎉 pesta.jpg"),
    ]


def test_long_name_keeps_the_story_on_every_database(chat: Chat):
    # media.filename is VARCHAR(300): a reporter's 400-character name used to be stored there.
    replies = chat.send("rina", STORY, media=(sent(jpeg(), "a" * 400 + ".jpg"),))
    assert "Berita #1 «Wali Kota Buka Musrenbang» sudah diterima dengan 1 foto/berkas" in replies[0]
    [entry] = inbox_media(chat)
    assert len(entry["original_filename"]) == 120 and entry["filename"] == "foto-1.jpg"


def test_refusal_note_names_the_file_by_its_cleaned_name(chat: Chat):
    hostile = sent(b"MZ\x90\x00 not an image", "laporan\u202egpj.exe\n../../x")
    replies = chat.send("rina", STORY, media=(photo(), hostile))
    assert "⚠️ Berkas x tidak disimpan: jenis berkas tidak diterima" in replies[0]
    assert "\u202e" not in replies[0] and "../" not in replies[0]
    [_, entry] = inbox_media(chat)
    assert entry["filename"] == "foto-2.bin" and entry["original_filename"] == "x"


def test_refusal_notes_say_why_in_words(chat: Chat):
    media = (
        photo(),
        sent(blank_png(30000, 30000), "bom.png"),
        sent(b"\x89PNG\r\n\x1a\n" + bytes(40), "rusak.png"),
        sent(b"", None),
    )
    replies = chat.send("rina", STORY, media=media)
    assert "bom.png tidak disimpan: resolusi gambarnya terlalu besar (900 megapiksel" in replies[0]
    assert "rusak.png tidak disimpan: gambarnya rusak atau tidak dapat dibaca" in replies[0]
    assert "foto-4.bin tidak disimpan: berkasnya kosong (0 byte)" in replies[0]


REFUSED = [
    {
        "kind": "photo",
        "filename": "foto-2.png",
        "original_filename": "bom.png",
        "rejected": "too_many_pixels",
        "size": 109_283,
        "limit": 40_000_000,
        "pixels": 900_000_000,
        "mime": "image/png",
    },
    {
        "kind": "photo",
        "filename": "foto-3.png",
        "original_filename": "besar.png",
        "rejected": "too_many_pixels",
        "size": 2_000,
        "limit": 40_000_000,
        "pixels": None,
        "mime": "image/png",
    },
    {
        "kind": "photo",
        "filename": "foto-4.jpg",
        "original_filename": "rusak.jpg",
        "rejected": "broken_image",
        "size": 200,
        "limit": 20_971_520,
        "mime": "image/jpeg",
    },
    {
        "kind": "photo",
        "filename": "foto-5.bin",
        "original_filename": "kosong.jpg",
        "rejected": "empty",
        "size": 0,
        "limit": 20_971_520,
        "mime": None,
    },
]


@pytest.mark.parametrize(
    ("locale", "lines"),
    [
        (
            "id",
            [
                "⚠️ Berkas bom.png tidak disimpan: resolusi gambarnya terlalu besar (900 megapiksel;"
                " batasnya 40 megapiksel).",
                "⚠️ Berkas besar.png tidak disimpan: resolusi gambarnya melebihi batas 40"
                " megapiksel.",
                "⚠️ Berkas rusak.jpg tidak disimpan: gambarnya rusak atau tidak dapat dibaca.",
                "⚠️ Berkas kosong.jpg tidak disimpan: berkasnya kosong (0 byte).",
            ],
        ),
        (
            "en",
            [
                "⚠️ File bom.png was not saved: its resolution is too high (900 megapixels; the"
                " limit is 40 megapixels).",
                "⚠️ File besar.png was not saved: its resolution is over the 40 megapixel limit.",
                "⚠️ File rusak.jpg was not saved: the image is damaged or cannot be read.",
                "⚠️ File kosong.jpg was not saved: the file is empty (0 bytes).",
            ],
        ),
    ],
)
def test_refused_files_explains_the_new_reasons(locale: str, lines: list[str]):
    text = plain(
        Renderer(tz=ZoneInfo("Asia/Jakarta")).render(
            "refused_files", locale=locale, refused=REFUSED
        )
    )
    said = text.splitlines()
    assert len(said) == len(lines)
    for line, expected in zip(said, lines, strict=True):
        assert line.startswith(expected), line


def test_refused_files_falls_back_for_entries_stored_before_the_wiring():
    old = {"kind": "photo", "filename": "lama.jpg", "rejected": "empty", "size": 0, "limit": 1}
    text = plain(
        Renderer(tz=ZoneInfo("Asia/Jakarta")).render("refused_files", locale="id", refused=[old])
    )
    assert text.startswith("⚠️ Berkas lama.jpg tidak disimpan: berkasnya kosong (0 byte).")
