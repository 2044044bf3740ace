"""``warta demo``: a simulated working day through the real engine, printed as the group chat."""

from __future__ import annotations

import asyncio
import io
import tempfile
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from PIL import Image, ImageDraw

from bot.app import Warta, build
from bot.channels.local import LocalChannel
from bot.channels.markup import plain
from bot.config import Settings
from handlers.messages import ChatKind, InboundMedia, InboundMessage
from storage import clocks

GROUP = "redaksi"
DEMO_PEOPLE = [
    {"key": "hendra", "name": "Hendra Saputra", "roles": ["section_head", "editor"]},
    {"key": "dedi", "name": "Dedi Kurniawan", "roles": ["editor"]},
    {"key": "budi", "name": "Budi Santoso", "roles": ["operator"]},
    {"key": "rina", "name": "Rina Wulandari", "roles": ["reporter"]},
    {"key": "anton", "name": "Anton Pratama", "roles": ["reporter"]},
]
STORY = """Wali Kota Buka Musrenbang Kecamatan Jekan Raya
PALANGKA RAYA – Wali Kota Palangka Raya membuka Musyawarah Perencanaan Pembangunan (Musrenbang) Kecamatan Jekan Raya di Aula Peteng Karuhei, Selasa pagi.

Musrenbang dihadiri lurah, ketua RT/RW dan tokoh masyarakat dari tujuh kelurahan.

"Usulan warga harus menjadi dasar perencanaan," kata Wali Kota dalam sambutannya."""
EDITED = STORY.replace("Selasa pagi", "Rabu (2/12/2026) pagi").replace(
    "tujuh kelurahan", "lima kelurahan"
)
SECOND = """Pasar Murah di Kelurahan Menteng
PALANGKA RAYA – Pemerintah Kota menggelar pasar murah di Kelurahan Menteng.

Warga antre sejak pagi."""
SECOND_FIXED = """Pasar Murah Sembako di Kelurahan Menteng
PALANGKA RAYA – Pemerintah Kota menggelar pasar murah sembako di halaman Kantor Kelurahan Menteng, Rabu (2/12/2026).

Sebanyak 500 paket beras dan minyak goreng disediakan. Warga antre sejak pukul 07.00 WIB."""


class SimulatedClock:
    """The demo's clock: starts at 08.00 WIB today and moves only when told."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += timedelta(minutes=minutes)


def demo_photo(caption: str) -> InboundMedia:
    image = Image.new("RGB", (640, 427), (32, 96, 160))
    ImageDraw.Draw(image).text((24, 24), caption, fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return InboundMedia(
        kind="photo", data=out.getvalue(), filename="musrenbang.jpg", caption=caption
    )


def demo_settings(folder: Path, locale: str) -> Settings:
    return Settings.model_validate(
        {
            "locale": locale,
            "data_dir": str(folder),
            "database_url": f"sqlite:///{folder / 'warta.db'}",
            "sla": {"submission": "90s", "editing": "3m", "publishing": "2m"},
            "verification": {
                "checklist": [
                    {"key": "fakta", "label": {"id": "Fakta sudah dicek", "en": "Facts checked"}},
                    {"key": "nama", "label": {"id": "Nama dan jabatan benar", "en": "Names right"}},
                    {"key": "layak", "label": {"id": "Layak berita", "en": "Newsworthy"}},
                ]
            },
            "people": DEMO_PEOPLE,
            "publish": {
                "targets": [
                    {"name": "arsip", "kind": "folder", "path": str(folder / "terbit")},
                ]
            },
        }
    )


class DemoDay:
    """Plays people's messages into the desk and prints the chat as the group would see it."""

    def __init__(self, warta: Warta, messenger: LocalChannel, clock: SimulatedClock) -> None:
        self.warta, self.messenger, self.clock = warta, messenger, clock
        self.names = {p["key"]: p["name"] for p in DEMO_PEOPLE}
        self._ids = 0

    def stamp(self) -> str:
        return self.clock().astimezone(self.warta.settings.zone).strftime("%H.%M")

    def say(
        self,
        who: str,
        text: str,
        *,
        media: tuple[InboundMedia, ...] = (),
        reply_to: str | None = None,
        private: bool = False,
    ) -> None:
        self._ids += 1
        chat = who if private else GROUP
        shown = text if "\n" not in text else text.splitlines()[0] + " […]"
        where = " (pribadi)" if private else ""
        extras = f" [📷 {len(media)} foto]" if media else ""
        reply = " ↩" if reply_to else ""
        print(f"[{self.stamp()}] {self.names[who]}{where}{reply}: {shown}{extras}")
        self.warta.intake.receive(
            InboundMessage(
                channel="local",
                chat_id=chat,
                message_id=f"m{self._ids}",
                sender=who,
                sender_name=self.names[who],
                text=text,
                chat_kind=ChatKind.PRIVATE if private else ChatKind.GROUP,
                media=media,
                reply_to_message_id=reply_to,
            )
        )
        self.flush()

    def flush(self) -> list[str]:
        asyncio.run(self.warta.dispatcher.drain())
        ids = []
        for said in self.messenger.take():
            where = "" if said.recipient == GROUP else f" → {self.names.get(said.recipient)}"
            body = plain(said.text).replace("\n", "\n        ")
            print(f"[{self.stamp()}] 🤖 Warta{where}: {body}")
            ids.append(said.message_id)
        for card in self.messenger.cards.values():
            if card.recipient == GROUP:
                continue  # story cards in the group are left out of the transcript
            body = plain(card.text).replace("\n", "\n        ")
            buttons = "  ".join(f"[{button.label}]" for button in card.buttons)
            who = self.names.get(card.recipient)
            print(f"[{self.stamp()}] 🤖 Warta → {who}: {body}\n        {buttons}")
        self.messenger.cards.clear()
        self.last_ids = ids
        print()
        return ids

    def press(self, who: str, command: str) -> None:
        """Press a button Warta sent (an assignment's ✅ Terima)."""
        self._ids += 1
        print(f"[{self.stamp()}] {self.names[who]} menekan tombol: {command}")
        self.warta.intake.receive(
            InboundMessage(
                channel="local",
                chat_id=who,
                message_id=f"button{self._ids}",
                sender=who,
                sender_name=self.names[who],
                text=command,
                chat_kind=ChatKind.PRIVATE,
                callback_id=f"button{self._ids}",
                card_version=0,
            )
        )
        self.flush()

    def wait_until(self, hour: int, minute: int, note: str) -> None:
        zone = self.warta.settings.zone
        now = self.clock().astimezone(zone)
        target = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        self.wait((target - now).total_seconds() / 60, note)

    def wait(self, minutes: float, note: str) -> None:
        """Let time pass; the watch looks at the deadlines as the alarm clock would."""
        self.clock.advance(minutes)
        print(f"            … {note}\n")
        assert self.warta.watch is not None
        report = self.warta.watch.sweep()
        if report.outbox_ids or report.archived:
            self.flush()


def run_demo(*, locale: str = "id", keep: Path | None = None, live: bool = True) -> None:
    """Play yesterday on a simulated clock, then (``live``) a few seconds of today on the real
    clock with the alarm clock running. The database and files live in a temporary folder
    unless ``keep`` is given."""
    with tempfile.TemporaryDirectory(prefix="warta-demo-") as temporary:
        folder = keep or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        settings = demo_settings(folder, locale)
        yesterday = datetime.now(settings.zone).date() - timedelta(days=1)
        clock = SimulatedClock(
            datetime.combine(yesterday, time(8, 0), settings.zone).astimezone(UTC)
        )
        messenger = LocalChannel()
        warta = build(settings, channels={"local": messenger}, clock=clock)
        try:
            _play(DemoDay(warta, messenger, clock))
        finally:
            warta.close()
        if live:
            asyncio.run(_play_live(folder, locale))
        print(f"Demo selesai. Berkas terbit: {folder / 'terbit'}" if keep else "Demo selesai.")


def _play(day: DemoDay) -> None:
    print("=== Warta demo: satu hari di grup Redaksi Media Center (jendela SLA diperkecil) ===\n")
    month = day.clock().astimezone(day.warta.settings.zone).strftime("%Y-%m")
    print("--- Jadwal piket bulan ini (SOP langkah 1) ---\n")
    day.say("hendra", f"/roster buat {month}")
    day.say("hendra", f"/roster setujui {month}")
    day.say("rina", "/piket")
    print("--- Agenda dan penugasan liputan (SOP langkah 2–3) ---\n")
    day.say(
        "dedi",
        "/agenda tambah hari ini 07.00-07.59 | Musrenbang Kecamatan Jekan Raya | Wali Kota | "
        "Aula Peteng Karuhei",
    )
    day.say("dedi", "/tugaskan 1 rina")
    day.press("rina", "/terima 1")
    print("--- Liputan masuk dan disunting (SOP langkah 4–7) ---\n")
    day.say("rina", STORY, media=(demo_photo("Wali Kota membuka Musrenbang"),))
    day.wait(1, "redaktur piket membaca berita")
    day.say("dedi", "/sunting 1")
    claim_message = day.last_ids[-1]
    day.wait(1, "Dedi menyunting naskah")
    day.say("dedi", EDITED, reply_to=claim_message)
    day.say("dedi", "/versi 1")
    day.say("rina", "/verifikasi 1 semua")
    day.say("dedi", "/verifikasi 1 fakta nama")
    day.say("dedi", "/verifikasi 1 layak")
    day.wait(1, "operator membuka grup")
    day.say("budi", "/terbitkan 1")
    day.say("anton", SECOND)
    day.say("hendra", "/kembalikan 2 jumlah paket dan lokasi belum ada")
    day.wait(1, "Anton melengkapi data di lapangan")
    day.say("anton", "/revisi 2 " + SECOND_FIXED, private=True)
    day.say("hendra", "/daftar")
    day.say("dedi", "/arsipkan 1")
    day.wait(1, "Warta memeriksa tautan dan foto berita #1")
    day.say("budi", "/status 1")
    day.say(
        "anton", "Peninjauan Banjir di Kelurahan Menteng\nAir mulai surut di Jalan Yos Sudarso."
    )
    day.wait(2, "belum ada redaktur yang mengambil berita #3")
    day.wait(1.5, "batas waktu penyuntingan berita #3 lewat")
    day.say("hendra", "/terlambat")
    day.say("dedi", "/sunting 3")
    day.say("dedi", "/verifikasi 3 semua")
    day.say("budi", "/terbitkan 3")
    print("--- Mencari berita di arsip (SOP langkah 7) ---\n")
    day.say("hendra", "/cari musrenbang")
    day.say("rina", '/cari "kelurahan menteng" status:terbit')
    print("--- Agenda besok diumumkan H-1 ---\n")
    day.say(
        "dedi",
        "/agenda tambah besok 09.00-11.00 | Rapat koordinasi penanganan banjir | Wali Kota | "
        "Balai Kota",
    )
    day.say("dedi", "/agenda tambah besok 14.00-selesai | Pasar murah | Sekda | Pasar Besar")
    day.say("dedi", "/tugaskan 2 anton")
    day.wait_until(15, 0, "pukul 15.00: pengumuman agenda H-1")


LIVE_SLA = {"submission": "8s", "editing": "12s", "publishing": "10s"}


async def _play_live(folder: Path, locale: str) -> None:
    """Today on the real clock: the alarm clock sends yesterday's digest at its time, then
    reminders, a breach and its escalation for a story edited with a 12-second window."""
    from handlers.desk import utc_now

    base = demo_settings(folder, locale)
    now = datetime.now(base.zone)
    digest_at = (now + timedelta(seconds=4)).time().replace(microsecond=0)
    settings = base.model_copy(
        update={
            "sla": base.sla.model_copy(
                update={
                    **{key: timedelta(seconds=int(v[:-1])) for key, v in LIVE_SLA.items()},
                    "digest_at": digest_at,
                    "sweep_every": timedelta(seconds=5),
                    "leader_lease": timedelta(seconds=15),
                }
            )
        }
    )
    messenger = LocalChannel()
    warta = build(settings, channels={"local": messenger}, clock=utc_now)
    # The simulated day ended yesterday afternoon and no Warta ran since: what would have
    # fallen due overnight belongs to that skipped time, not to today's live part.
    with warta.db.transaction() as session:
        skipped = clocks.skip_until(session, utc_now(), now=utc_now())
    # Always said, whatever the hour: the demo jumps from yesterday afternoon to now.
    passed = f" ({skipped} pengingat semalam dilewati demo)" if skipped else ""
    print(f"            … malam berlalu, demo melompat ke waktu sekarang{passed}\n")
    day = DemoDay(warta, messenger, utc_now)  # type: ignore[arg-type]
    day.stamp = lambda: datetime.now(base.zone).strftime("%H.%M.%S")  # type: ignore[method-assign]
    print(
        "=== Hari ini, waktu nyata: alarm Warta berjalan (ringkasan harian pukul "
        f"{digest_at:%H.%M.%S}, penyuntingan 12 detik, pengingat 50 % dan 80 %) ===\n"
    )
    stop = asyncio.Event()

    async def show() -> None:
        while not stop.is_set():
            await warta.dispatcher.run_once()
            for said in messenger.take():
                where = "" if said.recipient == GROUP else f" → {day.names.get(said.recipient)}"
                body = plain(said.text).replace("\n", "\n        ")
                print(f"[{day.stamp()}] 🤖 Warta{where}: {body}\n", flush=True)
            await asyncio.sleep(0.1)

    async def say(who: str, text: str) -> None:
        day._ids += 1
        print(f"[{day.stamp()}] {day.names[who]}: {text.splitlines()[0]}", flush=True)
        message = InboundMessage(
            channel="local",
            chat_id=GROUP,
            message_id=f"live{day._ids}",
            sender=who,
            sender_name=day.names[who],
            text=text,
            chat_kind=ChatKind.GROUP,
        )
        await asyncio.to_thread(warta.intake.receive, message)

    printer = asyncio.create_task(show())
    await warta.alarms.start()
    try:
        await asyncio.sleep(5)
        await say("rina", "Apel Pagi di Halaman Balai Kota\nWali Kota memimpin apel pagi.")
        await asyncio.sleep(2)
        await say("dedi", "/sunting 4")
        await asyncio.sleep(11)
        await say("hendra", "/terlambat")
        await asyncio.sleep(1)
    finally:
        await warta.alarms.stop()
        stop.set()
        await printer
        warta.close()
