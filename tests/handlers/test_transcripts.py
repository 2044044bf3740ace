"""Chat transcripts: each command, its refusals and bad input, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlmodel import select

from storage import repo
from storage.models import AuditEvent, ChecklistMark, InboxMessage, Media, OutboxItem, Story
from tests.support import GROUP, STORY, Chat, photo


def story(chat: Chat, number: int = 1) -> Story:
    with chat.warta.db.transaction() as session:
        found = repo.story_by_number(session, number)
        assert found is not None
        return found


def submit(chat: Chat, who: str = "rina", text: str = STORY, **options) -> list[str]:
    return chat.send(who, text, **options)


def to_verified(chat: Chat) -> None:
    submit(chat)
    chat.send("dedi", "/sunting 1")
    chat.send("dedi", "/verifikasi 1 semua")


# -- submission -----------------------------------------------------------------------------


def test_submission_with_photo_creates_story_and_confirms(chat: Chat):
    replies = submit(chat, media=(photo(caption="Wali Kota membuka Musrenbang"),))
    assert len(replies) == 1
    assert replies[0].startswith("Terima kasih, Rina. Berita #1 «Wali Kota Buka Musrenbang»")
    assert "1 foto" in replies[0]
    assert "pukul 11.00 WIB" in replies[0]  # 08.00 WIB + 3 hours of editing
    assert "/sunting 1" in replies[0]
    found = story(chat)
    assert found.state == "submitted"
    with chat.warta.db.transaction() as session:
        media = session.exec(select(Media)).all()
        version = repo.current_text(session, found)
    assert [m.caption for m in media] == ["Wali Kota membuka Musrenbang"]
    assert chat.warta.media.path_of(media[0].stored_path).read_bytes()[:3] == b"\xff\xd8\xff"
    assert version.body.startswith("PALANGKA RAYA")


def test_explicit_kirim_command_and_numbers_increase(chat: Chat):
    submit(chat)
    replies = chat.send("anton", "/kirim Pasar Murah\nWarga antre sejak pagi.")
    assert "Story #2 “Pasar Murah” was received" in replies[0]  # Anton reads English


def test_title_only_submission_is_refused_with_advice(chat: Chat):
    replies = chat.send("rina", "Judul saja", private=True)
    assert "isi beritanya belum ada" in replies[0]
    replies = chat.send("rina", "/kirim")
    assert "belum berisi berita" in replies[0]
    with chat.warta.db.transaction() as session:
        assert session.exec(select(Story)).all() == []


def test_short_group_chatter_is_stored_but_not_answered(chat: Chat):
    assert chat.send("rina", "siap, meluncur") == []
    assert chat.send("dedi", "ok") == []
    with chat.warta.db.transaction() as session:
        outcomes = [row.outcome for row in session.exec(select(InboxMessage))]
    assert outcomes == ["ignored", "ignored"]


def test_too_long_text_and_title_are_refused(chat: Chat):
    replies = chat.send("rina", "Judul\n" + "kata " * 5000)
    assert "terlalu panjang" in replies[0] and "20000" in replies[0]
    replies = chat.send("rina", "J" * 250 + "\nisi")
    assert "baris pertama terlalu panjang" in replies[0]


def test_wrong_file_type_is_refused_but_story_kept(chat: Chat):
    fake = photo()
    bad = type(fake)(kind="photo", data=b"MZ\x90\x00 not an image", filename="virus.exe")
    replies = submit(chat, media=(photo(), bad))
    assert "Berita #1" in replies[0]
    assert "virus.exe tidak disimpan: jenis berkas tidak diterima" in replies[0]


def test_unregistered_person_is_told_how_to_register(chat: Chat):
    replies = chat.send("tamu", "/sunting 1", sender="tamu-99")
    assert "belum terdaftar" in replies[0] and "local: tamu-99" in replies[0]
    assert chat.send("tamu", "halo semua\nini pesan", sender="tamu-99") == []
    replies = chat.send("tamu", "/siapa", sender="tamu-99")
    assert "belum terdaftar" in replies[0]


def test_unknown_command_suggests_the_closest(chat: Chat):
    replies = chat.send("dedi", "/suntingg 1")
    assert "perintah /suntingg tidak dikenal" in replies[0]
    assert "/sunting?" in replies[0]


def test_unknown_story_number_and_missing_number(chat: Chat):
    assert "berita #42 tidak ditemukan" in chat.send("dedi", "/sunting 42")[0]
    usage = chat.send("dedi", "/sunting")[0]
    assert "Format perintah: /sunting 12" in usage


def test_commands_accept_hash_numbers_and_bot_suffix(chat: Chat):
    submit(chat)
    assert "sedang disunting oleh Dedi" in chat.send("dedi", "/edit@WartaBot #1")[0]


# -- editing and versions --------------------------------------------------------------------


def test_claim_shows_text_and_reply_makes_new_version(chat: Chat):
    submit(chat)
    claimed = chat.send("dedi", "/sunting 1")[0]
    assert "sedang disunting oleh Dedi" in claimed and "Versi 1" in claimed
    claim_id = chat.last_id()
    edited = STORY.replace("Aula Peteng Karuhei", "Balai Kota")
    replies = chat.send("dedi", edited, reply_to=claim_id)
    assert "Versi 2 berita #1" in replies[0]
    versions = chat.send("dedi", "/versi 1")[0]
    assert "Versi 1 — Rina" in versions and "Versi 2 — Dedi" in versions
    assert "-PALANGKA RAYA – Wali Kota membuka Musrenbang di Aula Peteng Karuhei." in versions
    assert "+PALANGKA RAYA – Wali Kota membuka Musrenbang di Balai Kota." in versions


def test_revisi_command_and_unchanged_text(chat: Chat):
    submit(chat)
    chat.send("dedi", "/sunting 1")
    assert "Versi 2" in chat.send("dedi", "/revisi 1 Judul Baru\nIsi baru.")[0]
    assert "sama dengan versi terakhir" in chat.send("dedi", "/revisi 1 Judul Baru\nIsi baru.")[0]
    assert story(chat).title == "Judul Baru"


def test_another_editor_cannot_edit_a_claimed_story_but_section_head_can(chat: Chat):
    submit(chat)
    chat.send("dedi", "/sunting 1")
    refused = chat.send("sari", "/revisi 1 Judul\nIsi")[0]
    assert "sedang disunting oleh Dedi" in refused and "/lepas 1" in refused
    assert "Versi 2" in chat.send("hendra", "/revisi 1 Judul\nIsi")[0]


def test_release_lets_another_editor_claim(chat: Chat):
    submit(chat)
    chat.send("dedi", "/sunting 1")
    assert "dilepas oleh Dedi" in chat.send("dedi", "/lepas 1")[0]
    assert "sedang disunting oleh Sari" in chat.send("sari", "/sunting 1")[0]


def test_reporter_reply_before_claim_amends_own_story(chat: Chat):
    submit(chat)
    origin = "in-1"
    replies = chat.send(
        "rina", "Wali Kota Buka Musrenbang 2026\nIsi yang dilengkapi.", reply_to=origin
    )
    assert "Versi 2" in replies[0]
    refused = chat.send("anton", "/revisi 1 Judul\nIsi")[0]
    assert "belongs to another reporter" in refused  # Anton reads English


def test_reporter_adds_photos_by_replying(chat: Chat):
    submit(chat)
    replies = chat.send("rina", "", media=(photo((1, 2, 3)), photo((9, 9, 9))), reply_to="in-1")
    assert "2 foto/berkas ditambahkan ke berita #1" in replies[0]
    again = chat.send("rina", "", media=(photo((1, 2, 3)),), reply_to="in-1")
    assert "Tidak ada foto baru" in again[0]


# -- verification ----------------------------------------------------------------------------


def test_verify_item_by_item_records_who_confirmed(chat: Chat):
    submit(chat)
    chat.send("dedi", "/sunting 1")
    progress = chat.send("dedi", "/verifikasi 1 fakta")[0]
    assert "✅ fakta Fakta sudah dicek — Dedi" in progress
    assert "⬜ nama" in progress and "/verifikasi 1 nama foto" in progress
    done = chat.send("dedi", "/verifikasi 1 nama")[0]
    assert "terverifikasi oleh Dedi" in done and "/terbitkan 1" in done
    assert story(chat).state == "verified"
    with chat.warta.db.transaction() as session:
        marks = session.exec(select(ChecklistMark)).all()
        verified = session.exec(select(AuditEvent).where(AuditEvent.event == "verify")).one()
    assert sorted(m.item for m in marks) == ["fakta", "nama"]
    assert verified.detail["checklist"] == {"fakta": marks[0].person_id, "nama": marks[0].person_id}


def test_verify_without_items_shows_checklist_and_unknown_item_is_explained(chat: Chat):
    submit(chat)
    chat.send("dedi", "/sunting 1")
    shown = chat.send("dedi", "/verifikasi 1")[0]
    assert "⬜ fakta" in shown and "(opsional)" in shown
    unknown = chat.send("dedi", "/verifikasi 1 ejaan")[0]
    assert "ejaan tidak dikenal" in unknown and "fakta" in unknown
    assert story(chat).state == "editing"


def test_new_version_resets_the_checklist(chat: Chat):
    submit(chat)
    chat.send("dedi", "/sunting 1")
    chat.send("dedi", "/verifikasi 1 fakta")
    chat.send("dedi", "/revisi 1 Judul Lain\nIsi lain.")
    progress = chat.send("dedi", "/verifikasi 1 nama")[0]
    assert "⬜ fakta" in progress and "versi 2" in progress


def test_reporter_cannot_verify_and_is_told_who_can(chat: Chat):
    submit(chat)
    refused = chat.send("rina", "/verifikasi 1 semua")[0]
    assert refused.startswith("Maaf, hanya Kasi atau Redaktur yang dapat memverifikasi berita.")
    assert "Dedi" in refused


def test_verify_in_wrong_state_names_what_is_possible(chat: Chat):
    submit(chat)
    refused = chat.send("dedi", "/verifikasi 1 semua")[0]
    assert "sedang menunggu penyuntingan, sehingga tidak dapat diverifikasi" in refused
    assert "/sunting 1" in refused


# -- send back, spike ------------------------------------------------------------------------


def test_revise_needs_reason_and_reporter_resubmits_by_reply(chat: Chat):
    submit(chat)
    chat.send("dedi", "/sunting 1")
    assert "Mohon sertakan alasannya" in chat.send("dedi", "/kembalikan 1")[0]
    chat.send("dedi", "/kembalikan 1 nama Sekda belum lengkap")
    group, private = chat.to(GROUP), chat.to("rina")
    assert "dikembalikan ke Rina untuk diperbaiki" in group[0]
    assert "Alasan: nama Sekda belum lengkap" in private[0]
    private_id = chat.last_id("rina")
    chat.send("rina", "Judul Diperbaiki\nIsi lengkap.", private=True, reply_to=private_id)
    assert "diterima sebagai versi 2" in chat.to("rina")[0]
    assert any("sudah diperbaiki oleh Rina" in text for text in chat.to(GROUP))
    found = story(chat)
    assert found.state == "submitted" and found.holder_id is None


def test_spike_tells_the_reporter(chat: Chat):
    submit(chat, who="anton")
    chat.send("hendra", "/batal 1 sudah diberitakan kemarin")
    assert "dibatalkan" in chat.to(GROUP)[0]
    assert "not fit to publish" in chat.to("anton")[0]  # Anton reads English
    assert "dibatalkan" in chat.send("dedi", "/sunting 1")[0]


# -- publishing and archive ------------------------------------------------------------------


def test_publish_by_operator_writes_folder_and_reports_link(chat: Chat):
    to_verified(chat)
    refused = chat.send("dedi", "/terbitkan 1")[0]
    assert "hanya Kasi atau Admin/Operator" in refused
    replies = chat.send("budi", "/terbitkan 1")
    assert "sedang diterbitkan ke arsip" in replies[0]
    assert "sudah terbit" in replies[1] and "arsip: file://" in replies[1]
    found = story(chat)
    assert found.state == "published"
    page = (
        chat.warta.settings.publish.targets[0].path / "1-wali-kota-buka-musrenbang" / "index.html"
    )
    html = page.read_text()
    assert "<h1>Wali Kota Buka Musrenbang</h1>" in html
    assert "&#34;Usulan warga" in html or "&quot;Usulan warga" in html


def test_correction_after_publish_reopens_and_republishes(chat: Chat):
    to_verified(chat)
    chat.send("budi", "/terbitkan 1")
    assert "dibuka kembali untuk koreksi" in chat.send("dedi", "/sunting 1")[0]
    chat.send("dedi", "/revisi 1 Judul Koreksi\nIsi koreksi.")
    chat.send("dedi", "/verifikasi 1 semua")
    replies = chat.send("budi", "/terbitkan 1")
    assert "sudah terbit" in replies[-1]
    with chat.warta.db.transaction() as session:
        jobs = [item for item in session.exec(select(OutboxItem)) if item.kind == "publish"]
    assert [job.status for job in jobs] == ["succeeded", "succeeded"]
    assert jobs[0].payload["round"] != jobs[1].payload["round"]


def test_archive_after_publish(chat: Chat):
    to_verified(chat)
    chat.send("budi", "/terbitkan 1")
    assert "Memeriksa berita #1" in chat.send("dedi", "/arsipkan 1")[0]
    chat.warta.watch.sweep()  # the alarm clock checks the links and photos, then archives
    assert any("sudah diarsipkan" in text for text in chat.flush())
    status = chat.send("budi", "/status 1")[0]
    assert "Status: diarsipkan" in status and "✅ arsip: file://" in status


# -- information -----------------------------------------------------------------------------


def test_list_shows_open_stories_with_holder_and_time_left(chat: Chat):
    assert "Tidak ada berita" in chat.send("hendra", "/daftar")[0]
    submit(chat)
    chat.send("dedi", "/sunting 1")
    chat.clock.advance(hours=3, minutes=35)
    listing = chat.send("hendra", "/daftar")[0]
    assert (
        "#1 «Wali Kota Buka Musrenbang» — sedang disunting, dipegang Dedi, terlambat 35 menit"
        in listing
    )


def test_status_lists_next_steps_for_the_asker(chat: Chat):
    submit(chat)
    status = chat.send("dedi", "/status 1")[0]
    assert "Status: menunggu penyuntingan" in status
    assert "Langkah berikutnya: /sunting 1" in status
    assert "/terbitkan" not in status


def test_help_shows_only_what_the_role_allows(chat: Chat):
    reporter = chat.send("rina", "/bantuan")[0]
    operator = chat.send("budi", "/help")[0]
    assert "/kirim" in reporter and "/verifikasi" not in reporter and "/terbitkan" not in reporter
    assert "/terbitkan" in operator and "/verifikasi" not in operator
    english = chat.send("anton", "/help")[0]
    assert english.startswith("Commands you can use:") and "/submit" in english


def test_whoami_names_roles_and_address(chat: Chat):
    reply = chat.send("hendra", "/siapa")[0]
    assert "Hendra" in reply and "Kasi" in reply and "Redaktur" in reply
    assert "local: hendra" in reply


# -- delivery guarantees ---------------------------------------------------------------------


def test_same_message_delivered_twice_gives_one_story_and_one_reply(chat: Chat):
    msg = chat.message("rina", STORY, media=(photo(),))
    first = chat.deliver(msg)
    second = chat.deliver(msg)
    assert len(first) == 1 and second == []
    with chat.warta.db.transaction() as session:
        assert len(session.exec(select(Story)).all()) == 1
        assert len(session.exec(select(InboxMessage)).all()) == 1
        assert len(session.exec(select(OutboxItem)).all()) == 1


def test_every_change_writes_an_audit_entry(chat: Chat):
    to_verified(chat)
    chat.send("dedi", "/kembalikan 1 foto kurang")
    with chat.warta.db.transaction() as session:
        trail = repo.audit_trail(session, story(chat).id or 0)
    assert [(e.event, e.from_state, e.to_state) for e in trail] == [
        ("submit", None, "submitted"),
        ("claim", "submitted", "editing"),
        ("verify", "editing", "verified"),
        ("request_revision", "verified", "revision_requested"),
    ]
    assert trail[-1].reason == "foto kurang"
