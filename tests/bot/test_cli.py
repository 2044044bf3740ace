"""The warta command as an operator runs it: real processes, exit codes, no tracebacks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from storage.migrate import head_revision

ROOT = Path(__file__).resolve().parents[2]


def warta(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_check_summarises_the_shipped_config():
    result = warta("check", "--config", str(ROOT / "config.yaml"))
    assert result.returncode == 0, result.stderr
    assert "config.yaml: OK" in result.stdout
    assert "SQLite file" in result.stdout
    assert "editing 180 min" in result.stdout
    assert "Rina Wulandari (reporter)" in result.stdout
    assert "arsip (folder)" in result.stdout


def test_check_reports_errors_without_a_traceback(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("sla:\n  editing: soon\npeople:\n  - {key: X, name: x, roles: []}\n")
    result = warta("check", "--config", str(bad))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "configuration error" in result.stderr
    assert "sla.editing: 'soon' is not a duration" in result.stderr
    assert "people[X].key" in result.stderr
    assert "people[X].roles" in result.stderr


def test_db_upgrade_then_current(tmp_path: Path):
    config = tmp_path / "config.yaml"
    config.write_text("data_dir: data\n")
    upgraded = warta("--config", str(config), "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"empty -> {head_revision()}" in upgraded.stdout
    current = warta("--config", str(config), "db", "current")
    head = head_revision()
    assert f"database schema: {head} (this Warta: {head})" in current.stdout
    assert (tmp_path / "data" / "warta.db").exists()


def test_start_refuses_an_empty_schema_when_auto_upgrade_is_off(tmp_path: Path):
    from bot.app import build
    from bot.config import load_settings
    from storage.migrate import SchemaError

    config = tmp_path / "config.yaml"
    config.write_text("data_dir: data\ndatabase: {auto_upgrade: false}\n")
    with pytest.raises(
        SchemaError, match=f"at empty, Warta needs {head_revision()}: run 'warta db upgrade' first"
    ):
        build(load_settings(config, environ={}))
    assert warta("--config", str(config), "db", "upgrade").returncode == 0
    build(load_settings(config, environ={})).close()


def test_demo_shows_a_working_day_in_indonesian_with_live_alarms():
    result = warta("demo")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Berita #1" in out and "[📷 1 foto]" in out
    assert "Versi 2 berita #1" in out
    assert "Maaf, hanya Kasi atau Redaktur yang dapat memverifikasi berita" in out
    assert "terverifikasi oleh Dedi Kurniawan" in out
    assert "sudah terbit" in out and "arsip: file://" in out
    assert "sudah diarsipkan" in out
    # The month's roster, an assignment confirmed with a button, the story linked to it.
    assert "🗓️ Jadwal piket" in out and "disetujui oleh Hendra Saputra" in out
    assert "[✅ Terima]  [❌ Tolak]" in out and "menekan tombol: /terima 1" in out
    assert "Terhubung ke penugasan A1 «Musrenbang Kecamatan Jekan Raya», tepat waktu." in out
    assert "📅 Agenda pimpinan besok" in out and "belum ada peliputnya — A3" in out
    # Yesterday on the simulated clock: a reminder, a breach escalated, /terlambat.
    assert "⏰ Pengingat untuk semua Redaktur" in out
    assert "Lewat batas waktu (2)" in out
    # Today on the real clock: the digest at its time, reminders, the breach and escalation.
    live = out.split("=== Hari ini, waktu nyata")[1]
    assert "📊 Ringkasan harian" in live
    assert "⏰ Pengingat untuk Dedi Kurniawan" in live
    assert "🔺 Eskalasi: berita #4" in live
    # The night the simulated day skipped is not replayed as a burst of late reminders.
    assert "(Pengingat ini terlambat dikirim karena Warta sempat tidak aktif.)" not in live
    assert "malam berlalu" in out.split("=== Hari ini, waktu nyata")[0]


def test_demo_in_english():
    result = warta("demo", "--locale", "en", "--quick")
    assert result.returncode == 0, result.stderr
    assert "Story #1" in result.stdout and "is published" in result.stdout
    assert "Reminder for all editors" in result.stdout
    assert "Hari ini" not in result.stdout  # --quick leaves out the live part


def test_readme_generated_sections_are_fresh():
    result = warta("docs", "--check", "--readme", str(ROOT / "README.md"))
    assert result.returncode == 0, result.stderr + result.stdout


def test_digest_prints_the_digest_of_a_day(tmp_path: Path):
    config = tmp_path / "config.yaml"
    config.write_text("data_dir: data\npeople: []\n")
    result = warta("--config", str(config), "digest", "--date", "2026-12-02")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("📊 Ringkasan harian — Rabu, 2 Desember 2026\n")
    assert "<b>" not in result.stdout  # plain text on a terminal
    english = warta("--config", str(config), "digest", "--date", "2026-12-02", "--locale", "en")
    assert english.stdout.startswith("📊 Daily digest — Wednesday 2 December 2026\n")
    wrong = warta("--config", str(config), "digest", "--date", "2/12")
    assert wrong.returncode == 2 and "'2/12' is not a date like 2026-12-02" in wrong.stderr


AGENDA_CSV = (
    "tanggal,mulai,selesai,kegiatan,pimpinan,tempat\n"
    "03/12/2026,09.00,11.00,Rapat koordinasi <banjir>,Wali Kota,Aula Peteng Karuhei\n"
)


def test_agenda_import_and_the_printable_agenda_book(tmp_path: Path):
    config = tmp_path / "config.yaml"
    config.write_text("data_dir: data\n")
    source = tmp_path / "agenda.csv"
    source.write_text(AGENDA_CSV, encoding="utf-8")

    first = warta("--config", str(config), "agenda", "import", str(source))
    again = warta("--config", str(config), "agenda", "import", str(source))

    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "agenda.csv: 1 added, 0 updated, 0 unchanged, 0 cancelled"
    assert again.stdout.strip() == "agenda.csv: 0 added, 0 updated, 1 unchanged, 0 cancelled"
    html = warta("--config", str(config), "agenda", "export", "--month", "2026-12")
    assert html.returncode == 0, html.stderr
    assert html.stdout.startswith("<!DOCTYPE html>")
    assert "Rapat koordinasi &lt;banjir&gt;" in html.stdout
    assert "Kamis, 3 Desember 2026" in html.stdout
    out = tmp_path / "buku.csv"
    csv = warta(
        "--config",
        str(config),
        "agenda",
        "export",
        "--month",
        "2026-12",
        "--format",
        "csv",
        "--out",
        str(out),
    )
    assert csv.returncode == 0, csv.stderr
    text = out.read_text(encoding="utf-8-sig")
    assert text.startswith("no,tanggal,mulai,selesai,kegiatan")
    assert "Rapat koordinasi <banjir>" in text and "ditambahkan oleh Warta" in text

    broken = tmp_path / "rusak.csv"
    broken.write_text(AGENDA_CSV + "31/02/2026,09.00,10.00,Salah,,\n", encoding="utf-8")
    refused = warta("--config", str(config), "agenda", "import", str(broken))
    assert refused.returncode == 1
    assert "rusak.csv was not imported (nothing was saved)" in refused.stderr
    assert "line 3:" in refused.stderr


def test_roster_generate_and_export(tmp_path: Path):
    config = tmp_path / "config.yaml"
    config.write_text(
        "data_dir: data\n"
        "people:\n"
        "  - {key: rina, name: Rina, roles: [reporter]}\n"
        "  - {key: anton, name: Anton, roles: [reporter]}\n"
        "  - {key: dedi, name: Dedi, roles: [editor]}\n"
    )
    made = warta("--config", str(config), "roster", "generate", "--month", "2026-12")
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("🗓️ Jadwal piket Desember 2026 (draf)")
    assert "Jumlah piket: Rina 7, Anton 7, Dedi 7." in made.stdout
    csv = warta("--config", str(config), "roster", "export", "--month", "2026-12")
    assert csv.stdout.splitlines()[0] == "tanggal,hari,shift,petugas"
    assert len(csv.stdout.splitlines()) == 22
    out = tmp_path / "piket.ics"
    ics = warta(
        "--config",
        str(config),
        "roster",
        "export",
        "--month",
        "2026-12",
        "--format",
        "ics",
        "--out",
        str(out),
    )
    assert ics.returncode == 0, ics.stderr
    assert out.read_bytes().startswith(b"BEGIN:VCALENDAR\r\n")  # RFC 5545 line ends kept
    assert out.read_bytes().count(b"BEGIN:VEVENT") == 21
    missing = warta("--config", str(config), "roster", "export", "--month", "2027-01")
    assert missing.returncode == 1 and "no roster for 2027-01" in missing.stderr


def test_the_record_of_a_demo_day_exports_searches_and_reports(tmp_path: Path):
    kept = tmp_path / "demo"
    played = warta("demo", "--quick", "--keep", str(kept))
    assert played.returncode == 0, played.stderr
    config = tmp_path / "config.yaml"
    config.write_text(f"data_dir: {kept}\n")

    exported = warta("--config", str(config), "export", "--story", "1", "--out", str(tmp_path))
    assert exported.returncode == 0, exported.stderr
    folder = Path(exported.stdout.strip())
    assert (folder / "index.html").is_file()
    assert "Wali Kota Buka Musrenbang" in (folder / "cerita-1" / "naskah.txt").read_text()
    missing = warta("--config", str(config), "export", "--story", "99", "--out", str(tmp_path))
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert "99" in missing.stderr

    found = warta("--config", str(config), "search", "musrenbang", "status:arsip")
    assert found.returncode == 0, found.stderr
    assert found.stdout.startswith("#1\t") and "Wali Kota Buka Musrenbang" in found.stdout
    assert "arsip: file://" in found.stdout
    unclear = warta("--config", str(config), "search", "banjir", "dari:kemarin")
    assert unclear.returncode == 2 and "dari:kemarin" in unclear.stderr
    rebuilt = warta("--config", str(config), "search", "--rebuild")
    assert rebuilt.returncode == 0 and "search index rebuilt" in rebuilt.stdout

    reported = warta(
        "--config", str(config), "report", "--month", _demo_month(kept), "--out", str(tmp_path)
    )
    assert reported.returncode == 0, reported.stderr
    names = [Path(line).name for line in reported.stdout.splitlines()]
    assert any(name.endswith(".pdf") for name in names) and any("cerita-" in n for n in names)


def _demo_month(kept: Path) -> str:
    """The month of the demo's first story (the demo plays yesterday)."""
    import sqlite3

    with sqlite3.connect(kept / "warta.db") as connection:
        (created,) = connection.execute("SELECT created_at FROM story WHERE number = 1").fetchone()
    return str(created)[:7]
