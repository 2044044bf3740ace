"""/cari from the chat: words and filters, ranked results with links, polite answers to
filters it does not understand."""

from __future__ import annotations

from tests.support import Chat

FLOOD = "Banjir Rendam Jalan Yos Sudarso\nWarga Kelurahan Menteng mengungsi karena banjir."
MARKET = "Pasar Murah di Kelurahan Menteng\nPemerintah kota menggelar pasar murah sembako."


def test_search_finds_by_words_and_filters_in_the_chat(chat: Chat):
    chat.send("rina", FLOOD)
    chat.clock.advance(days=2)
    chat.send("rina", MARKET)
    found = chat.send("dedi", "/cari menteng", private=True)[0]
    assert "Hasil pencarian «menteng»" in found
    assert found.index("#2") < found.index("#1")  # both match: the newer first
    # The heading, then each story as a paragraph of its own (as a phone shows it).
    heading, first, second = found.split("\n\n")[:3]
    assert heading.endswith("Hasil pencarian «menteng»")
    assert first.startswith("#2 Pasar Murah di Kelurahan Menteng\n")
    assert second.startswith("#1 Banjir Rendam Jalan Yos Sudarso\n")
    assert "Rina" in found

    flood = chat.send("dedi", "/cari kebanjiran", private=True)[0]  # the stem of banjir
    assert "#1 Banjir Rendam Jalan Yos Sudarso" in flood and "#2" not in flood

    day_one = chat.send("dedi", "/cari menteng sampai:2026-12-02", private=True)[0]
    assert "#1" in day_one and "#2" not in day_one
    nothing = chat.send("dedi", "/cari menteng status:terbit", private=True)[0]
    assert "Tidak ada berita yang memuat «menteng»" in nothing


def test_unclear_searches_are_explained(chat: Chat):
    said = chat.send("dedi", "/cari banjir dari:31-02-2026 warna:merah oleh:joko", private=True)
    assert "dari:31-02-2026" in said[0] and "tanggal tidak dikenali" in said[0]
    assert "warna:merah" in said[0] and "oleh:joko" in said[0]
    assert "Tulis kata yang dicari" in chat.send("dedi", "/cari", private=True)[0]
