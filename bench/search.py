"""Benchmark story search over 100,000 archived stories: index build, ranked search, LIKE scan.

Usage: python bench/search.py [--stories 100000 | --small] [--queries 200]
       [--postgres URL | --no-postgres] [--report-stories 3000]

Generated Indonesian city news (officials, places in Kalimantan, the desk's usual topics, words
in their affixed forms; the same text for the same seed) is written straight into the tables,
then the search index is built with ``storage.search.rebuild`` and ``storage.search.search``
is timed (with its transaction, as a chat command runs it) for a fixed set of queries of one
to three words, half of them with a filter (a month, a reporter, or states). The baseline,
measured in the same run on the same data, is the naive search: every word as
``LIKE '%word%'`` against the current version's title and body, newest first; at full size it
runs a sample of the queries (a scan takes up to a second), and the ratio compares the two on
that sample.

Figures printed per database: the seeding and index build times, search p50/p95, baseline
p50/p95 and the ratio baseline/search. Target: search p95 under 50 ms at 100,000 stories (the
exit status is 1 when it is missed, except with ``--small``: CI's smoke run of 2,000 stories).

Then the monthly report of a month of 3,000 stories (150 with ``--small``) is timed by
``bench/month_report.py`` (its figures, baseline and target are described there: the whole
report under 10 s).

SQLite runs in a temporary folder. PostgreSQL runs when it answers (by default at
postgresql+psycopg://postgres@127.0.0.1:5432/test) in a fresh database ``warta_bench``
created and dropped by the bench (or, without the right to create one, in a private schema of
the given database, dropped afterwards); the given database itself is not touched.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time as clock
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import bindparam, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import month_report  # bench/month_report.py, beside this file

from storage import search
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Person, Story, StoryVersion, UTCDateTime

TARGET_P95_MS = 50.0
DEFAULT_STORIES, SMALL_STORIES = 100_000, 2000
DEFAULT_QUERIES = 200
BASELINE_SAMPLE = 40
"""Queries the LIKE scan runs at full size (all of them when there are fewer stories)."""
SEED = 20261202
BATCH = 5000
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BENCH_DATABASE = "warta_bench"
FIRST_DAY = datetime(2024, 1, 1, 1, 0, tzinfo=UTC)
DAYS = 3 * 365
REPORTERS = ("rina", "anton", "dewi", "yusuf", "maria", "agus", "siti", "hendrik")
STATES = ("archived",) * 17 + ("published", "published", "spiked")

# -- the news generator -----------------------------------------------------------------------

CITIES = (
    "Samarinda",
    "Balikpapan",
    "Bontang",
    "Tenggarong",
    "Banjarmasin",
    "Banjarbaru",
    "Martapura",
    "Palangka Raya",
    "Sampit",
    "Pontianak",
    "Singkawang",
    "Ketapang",
    "Tarakan",
    "Nunukan",
    "Tanjung Selor",
    "Penajam",
)
DISTRICTS = (
    "Sidomulyo",
    "Sempaja Selatan",
    "Loa Bakung",
    "Air Hitam",
    "Gunung Kelua",
    "Karang Asam",
    "Sungai Pinang",
    "Teluk Lerong",
    "Klandasan",
    "Gunung Samarinda",
    "Kereng Bangkirai",
    "Panarung",
    "Kelayan",
    "Pasar Lama",
    "Benua Melayu",
    "Siantan Hulu",
    "Juata Laut",
    "Selumit Pantai",
)
LANDMARKS = (
    "Sungai Mahakam",
    "Sungai Kapuas",
    "Sungai Barito",
    "Sungai Kahayan",
    "Tepian Mahakam",
    "Pasar Segiri",
    "Bundaran Besar",
    "Taman Samarendah",
    "Aula Peteng Karuhei",
    "Balai Kota",
    "Gedung DPRD",
    "Stadion Segiri",
    "Jembatan Mahulu",
    "Pelabuhan Semayang",
    "Masjid Islamic Center",
)
OFFICIALS = (
    "Wali Kota",
    "Wakil Wali Kota",
    "Sekretaris Daerah",
    "Kepala Dinas Pekerjaan Umum",
    "Kepala Dinas Kesehatan",
    "Kepala Dinas Pendidikan",
    "Kepala Dinas Perhubungan",
    "Kepala Dinas Sosial",
    "Kepala BPBD",
    "Kepala Satpol PP",
    "Ketua DPRD",
    "Kapolresta",
    "Dandim",
    "Camat",
    "Lurah",
    "Kepala Bappeda",
)
PEOPLE_NAMES = (
    "Andi Harun",
    "Rusmadi",
    "Hero Mardanus",
    "Ismed Kusasih",
    "Desy Damayanti",
    "Asli Nuryadin",
    "Sugeng Chairuddin",
    "Marnabas Patiroy",
    "Ananta Fathurrozi",
    "Sutomo Jabir",
    "Rahmad Mas'ud",
    "Fitriani Kaltim",
)
TOPICS = (
    # A title, and sentences only stories of that topic use; the word forms vary on purpose.
    (
        "Banjir Rendam Permukiman",
        (
            "Banjir setinggi {n} sentimeter merendam {n2} rumah warga sejak dini hari.",
            "Petugas BPBD mengevakuasi warga lansia dan anak-anak ke posko pengungsian.",
            "Hujan deras selama {n2} jam membuat sungai meluap ke permukiman.",
        ),
    ),
    (
        "Kebakaran Hanguskan Rumah",
        (
            "Kebakaran menghanguskan {n2} rumah dan sejumlah kios di kawasan padat penduduk.",
            "Sebanyak {n2} unit mobil pemadam dikerahkan untuk memadamkan api.",
            "Dugaan sementara, api berasal dari korsleting listrik di salah satu rumah.",
        ),
    ),
    (
        "Peresmian Jembatan",
        (
            "Jembatan sepanjang {n} meter itu diresmikan setelah dibangun selama {n2} bulan.",
            "Peresmian ditandai dengan pengguntingan pita dan penandatanganan prasasti.",
            "Jembatan baru diharapkan memperlancar arus barang dan orang antarkecamatan.",
        ),
    ),
    (
        "Pembangunan Drainase",
        (
            "Pembangunan drainase sepanjang {n} meter ditargetkan rampung akhir bulan.",
            "Saluran lama yang tersumbat sedimen dibongkar dan diganti saluran beton.",
            "Kontraktor diminta menjaga akses warga selama pekerjaan berlangsung.",
        ),
    ),
    (
        "Perbaikan Jalan Rusak",
        (
            "Perbaikan jalan rusak dikerjakan di {n2} titik dengan pengaspalan ulang.",
            "Lubang jalan yang dikeluhkan pengendara akhirnya ditambal petugas.",
            "Pengaspalan dilakukan malam hari agar tidak mengganggu lalu lintas.",
        ),
    ),
    (
        "Vaksinasi Anak Sekolah",
        (
            "Sebanyak {n} siswa mengikuti vaksinasi di sekolah masing-masing.",
            "Tenaga kesehatan puskesmas memeriksa kondisi anak sebelum divaksin.",
            "Orang tua diminta membawa kartu imunisasi anaknya.",
        ),
    ),
    (
        "Penanganan Stunting",
        (
            "Angka stunting turun menjadi {n2} persen berkat posyandu yang aktif.",
            "Kader posyandu menimbang balita dan membagikan makanan tambahan bergizi.",
            "Pencegahan stunting dimulai sejak ibu hamil memeriksakan kandungannya.",
        ),
    ),
    (
        "Penataan Pasar Tradisional",
        (
            "Sebanyak {n} pedagang pasar dipindahkan ke los yang baru dibangun.",
            "Penataan pasar membuat lorong lebih lebar dan lantai tidak lagi becek.",
            "Pedagang berharap pembeli kembali ramai setelah pasar ditata.",
        ),
    ),
    (
        "Pengelolaan Sampah",
        (
            "Sampah sebanyak {n} ton diangkut dari tempat pembuangan sementara.",
            "Bank sampah di tiap kelurahan menampung plastik yang dipilah warga.",
            "Armada pengangkut sampah ditambah {n2} unit truk.",
        ),
    ),
    (
        "Penyaluran Bantuan Sosial",
        (
            "Bantuan sosial disalurkan kepada {n} keluarga penerima manfaat.",
            "Setiap keluarga menerima beras, minyak goreng dan telur.",
            "Penyaluran bantuan diawasi agar tepat sasaran.",
        ),
    ),
    (
        "Pelantikan Pejabat",
        (
            "Sebanyak {n2} pejabat dilantik dan diambil sumpahnya di Balai Kota.",
            "Pejabat yang baru dilantik diminta segera menyesuaikan diri.",
            "Rotasi jabatan disebut bagian dari penyegaran organisasi.",
        ),
    ),
    (
        "Musrenbang Kecamatan",
        (
            "Musrenbang menampung {n} usulan warga dari {n2} kelurahan.",
            "Usulan terbanyak menyangkut jalan lingkungan dan penerangan jalan umum.",
            "Usulan prioritas akan dibahas dalam forum perangkat daerah.",
        ),
    ),
    (
        "Festival Budaya",
        (
            "Festival budaya menampilkan {n2} sanggar seni dari berbagai daerah.",
            "Pengunjung memadati arena untuk menyaksikan tari pedalaman dan musik sampek.",
            "Festival ini juga menjadi ajang promosi kuliner khas daerah.",
        ),
    ),
    (
        "Pelatihan UMKM",
        (
            "Sebanyak {n} pelaku UMKM mengikuti pelatihan pemasaran daring.",
            "Peserta belajar memotret produk dan berjualan di lokapasar.",
            "Pelatihan UMKM berlanjut dengan pendampingan selama tiga bulan.",
        ),
    ),
    (
        "Beasiswa Mahasiswa",
        (
            "Beasiswa diberikan kepada {n} mahasiswa berprestasi dari keluarga kurang mampu.",
            "Pendaftaran beasiswa dibuka secara daring hingga akhir bulan.",
            "Penerima beasiswa wajib menjaga indeks prestasi.",
        ),
    ),
    (
        "Air Bersih PDAM",
        (
            "Layanan air bersih PDAM menjangkau {n} sambungan rumah baru.",
            "Pipa distribusi diperbaiki setelah aliran air terganggu beberapa hari.",
            "Pelanggan PDAM diminta melapor jika air keruh.",
        ),
    ),
    (
        "Penertiban Pedagang Kaki Lima",
        (
            "Satpol PP menertibkan {n2} lapak pedagang kaki lima di trotoar.",
            "Penertiban dilakukan secara persuasif tanpa penyitaan barang.",
            "Pedagang diarahkan berjualan di lokasi relokasi yang disediakan.",
        ),
    ),
    (
        "Pemeriksaan Kesehatan Gratis",
        (
            "Pemeriksaan kesehatan gratis melayani {n} warga lansia.",
            "Dokter memeriksa tekanan darah, gula darah dan kolesterol peserta.",
            "Warga dengan keluhan berat dirujuk ke rumah sakit daerah.",
        ),
    ),
    (
        "Penanaman Pohon",
        (
            "Sebanyak {n} bibit pohon ditanam di sepanjang bantaran sungai.",
            "Penanaman pohon melibatkan pelajar, komunitas dan aparatur sipil negara.",
            "Penghijauan diharapkan mencegah abrasi tepian sungai.",
        ),
    ),
    (
        "Operasi Pasar Murah",
        (
            "Operasi pasar murah menyediakan {n2} ton beras dan minyak goreng.",
            "Antrean warga mengular sejak pagi di lokasi operasi pasar.",
            "Harga yang dijual di bawah harga pasar untuk menekan inflasi.",
        ),
    ),
    (
        "Pengerukan Sungai",
        (
            "Pengerukan sedimen sungai sepanjang {n} meter dilakukan dengan ekskavator.",
            "Pendangkalan sungai disebut salah satu penyebab banjir.",
            "Material hasil pengerukan diangkut ke lokasi penimbunan.",
        ),
    ),
    (
        "Peninjauan Proyek",
        (
            "Peninjauan proyek dilakukan untuk memastikan mutu pekerjaan.",
            "Progres fisik proyek telah mencapai {n2} persen.",
            "Kontraktor yang terlambat akan dikenai denda sesuai kontrak.",
        ),
    ),
    (
        "Penandatanganan Kerja Sama",
        (
            "Nota kesepahaman ditandatangani bersama {n2} perusahaan daerah.",
            "Kerja sama mencakup pelatihan tenaga kerja dan program tanggung jawab sosial.",
            "Penandatanganan disaksikan unsur forum koordinasi pimpinan daerah.",
        ),
    ),
    (
        "Peluncuran Aplikasi Layanan",
        (
            "Aplikasi layanan publik diluncurkan dan sudah diunduh {n} warga.",
            "Melalui aplikasi, warga dapat mengurus surat keterangan tanpa antre.",
            "Data kependudukan dalam aplikasi dijamin keamanannya.",
        ),
    ),
)
VERBS = (
    "meresmikan",
    "meninjau",
    "membuka",
    "menghadiri",
    "memantau",
    "mengunjungi",
    "meluncurkan",
    "menyerahkan",
)
LEAD = "{official} {verb} kegiatan tersebut di {landmark}, {city}, {weekday} ({day})."
SENTENCES = (
    "Kegiatan dihadiri camat, lurah, tokoh masyarakat dan perwakilan warga Kelurahan {district}.",
    '"Pemerintah kota berkomitmen melayani warga sebaik-baiknya," kata {official} {person}.',
    "Menurut {official}, program ini dianggarkan sebesar Rp{n} juta dalam APBD tahun ini.",
    "Warga Kelurahan {district} menyambut baik kegiatan tersebut.",
    "Ia meminta seluruh perangkat daerah bekerja sama agar pelayanan publik makin cepat.",
    "Pihaknya juga berkoordinasi dengan pemerintah provinsi dan kabupaten di sekitar {city}.",
    "Kegiatan serupa dijadwalkan berlanjut ke {n2} kecamatan lain hingga akhir tahun.",
    "Sebelumnya, keluhan soal kondisi di sekitar {landmark} ramai di media sosial.",
    "{official} {person} menegaskan bahwa pengawasan akan dilakukan secara berkala.",
    "Hingga berita ini diturunkan, petugas masih berada di lokasi untuk pendataan.",
    "Masyarakat diimbau melapor melalui layanan pengaduan yang buka setiap hari kerja.",
    "Anggaran kegiatan bersumber dari dana kelurahan dan bantuan keuangan provinsi.",
    "Ketua RT {n2} mengatakan warganya sudah lama menunggu program ini.",
    "Evaluasi akan dilakukan setiap tiga bulan bersama inspektorat.",
    "Dinas terkait menyiapkan petugas tambahan selama kegiatan berlangsung.",
    "Sejumlah kendala di lapangan, seperti cuaca, sempat memperlambat pekerjaan.",
    "{person}, salah seorang warga, berharap kegiatan ini tidak berhenti di tengah jalan.",
    "Kepolisian turut membantu pengamanan dan pengaturan lalu lintas.",
    "Program ini termasuk prioritas dalam rencana pembangunan jangka menengah daerah.",
    "Informasi lebih lanjut dapat diperoleh di kantor kelurahan setempat.",
    "Pada kesempatan itu juga diserahkan piagam penghargaan kepada relawan.",
    "Target tahun ini meningkat dibanding capaian tahun lalu.",
    "DPRD mendukung program tersebut dan meminta laporan berkala.",
    "Sosialisasi kepada warga sudah dilakukan sejak awal bulan.",
    "Camat {district} menyebut partisipasi warga cukup tinggi.",
    "Pemerintah kota menyiapkan skema pemeliharaan agar hasilnya bertahan lama.",
    "Menurut data dinas, ada {n} laporan warga yang masuk sepanjang tahun ini.",
    "Kegiatan ditutup dengan doa bersama dan ramah tamah.",
)
WEEKDAYS = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")


@dataclass(frozen=True)
class Written:
    title: str
    body: str


class Newsroom:
    """Deterministic Indonesian city news: the same seed writes the same stories."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)

    def _pick(self, choices: tuple[str, ...]) -> str:
        # Zipf-like: the first choices come up far more often, as in real news.
        index = min(int(self.random.paretovariate(1.2)) - 1, len(choices) - 1)
        return choices[index] if self.random.random() < 0.6 else self.random.choice(choices)

    def story(self, day: date) -> Written:
        rnd = self.random
        topic_title, topic_sentences = rnd.choice(TOPICS)
        city, district = self._pick(CITIES), self._pick(DISTRICTS)
        slots = {
            "city": city,
            "district": district,
            "landmark": self._pick(LANDMARKS),
            "official": self._pick(OFFICIALS),
            "person": rnd.choice(PEOPLE_NAMES),
            "verb": rnd.choice(VERBS),
            "weekday": WEEKDAYS[day.weekday()],
            "day": f"{day.day}/{day.month}",
        }
        title = f"{topic_title} di {rnd.choice((city, district, slots['landmark']))}"
        own = list(topic_sentences)
        rnd.shuffle(own)
        common = rnd.sample(SENTENCES, rnd.randint(8, 14))
        if rnd.random() < 0.3:  # a story that touches on another topic
            common.append(rnd.choice(rnd.choice(TOPICS)[1]))
        lead = f"{city.upper()} – {self._sentence(LEAD, slots)} {self._sentence(own[0], slots)}"
        rest = [*own[1:], *common]
        paragraphs = [lead]
        while rest:
            size = rnd.randint(2, 3)
            paragraphs.append(" ".join(self._sentence(line, slots) for line in rest[:size]))
            rest = rest[size:]
        return Written(title, "\n\n".join(paragraphs))

    def _sentence(self, template: str, slots: dict[str, str]) -> str:
        return template.format(
            **slots, n=self.random.randint(2, 900), n2=self.random.randint(2, 40)
        )


# -- seeding ----------------------------------------------------------------------------------


def seed(db: Database, stories: int) -> dict[str, int]:
    """``stories`` stories, most archived, over three years (numbered in the order written),
    one in ten with an older version beside the current one. Returns the reporters' ids."""
    newsroom = Newsroom(SEED)
    with db.transaction() as session:
        for key in REPORTERS:
            session.add(Person(key=key, name=key.title()))
        session.flush()
        connection = session.connection()
        people = dict(connection.execute(text("SELECT key, id FROM person")).all())
        story_table = Story.__table__  # type: ignore[attr-defined]
        version_table = StoryVersion.__table__  # type: ignore[attr-defined]
        for first in range(1, stories + 1, BATCH):
            rows, versions = [], []
            for number in range(first, min(first + BATCH, stories + 1)):
                # Story numbers follow the time they were written, as at the desk.
                at = FIRST_DAY + timedelta(
                    seconds=(number + newsroom.random.random()) * DAYS * 86400 / stories
                )
                local_day = (at + timedelta(hours=7)).date()
                written = newsroom.story(local_day)
                revised = newsroom.random.random() < 0.1
                current = 2 if revised else 1
                rows.append(
                    {
                        "id": number,
                        "number": number,
                        "title": written.title,
                        "state": newsroom.random.choice(STATES),
                        "reporter_id": people[newsroom.random.choice(REPORTERS)],
                        "current_version": current,
                        "origin_channel": "local",
                        "origin_chat": "redaksi",
                        "created_at": at,
                        "updated_at": at,
                        "lock_version": 1,
                    }
                )
                if revised:
                    draft = newsroom.story(local_day)
                    versions.append(_version(number, 1, draft, at))
                versions.append(_version(number, current, written, at))
            connection.execute(story_table.insert(), rows)
            connection.execute(version_table.insert(), versions)
    with db.engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    return people


def _version(story_id: int, number: int, written: Written, at: datetime) -> dict[str, Any]:
    return {
        "story_id": story_id,
        "number": number,
        "title": written.title,
        "body": written.body,
        "author_id": None,
        "created_at": at,
        "note": None,
    }


# -- queries ----------------------------------------------------------------------------------

QUERY_WORDS = (
    "banjir",
    "kebakaran",
    "peresmian",
    "diresmikan",
    "jembatan",
    "drainase",
    "perbaikan jalan",
    "vaksinasi",
    "stunting",
    "pasar",
    "sampah",
    "bantuan sosial",
    "pelantikan",
    "musrenbang",
    "festival",
    "umkm",
    "beasiswa",
    "pdam",
    "penertiban",
    "pedagang",
    "pohon",
    "beras",
    "pengerukan",
    "proyek",
    "aplikasi",
    "wali kota",
    "camat",
    "lurah",
    "dprd",
    "sekretaris daerah",
    "kesehatan",
    "pendidikan",
    "warga",
    "pemerintah",
    "sungai",
    "mahakam",
    "kapuas",
    "samarinda",
    "balikpapan",
    "pontianak",
    "palangka raya",
    "tarakan",
    "sidomulyo",
    "loa bakung",
    "klandasan",
    "meninjau",
    "pengawasan",
    "lansia",
    "minyak goreng",
    "sambungan rumah",
)


@dataclass(frozen=True)
class Query:
    words: str
    filters: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        return self.words + "".join(f" {key}={value}" for key, value in self.filters.items())


def queries(count: int, people: dict[str, int]) -> list[Query]:
    """``count`` queries of one to three words; every second one with a filter."""
    rnd = random.Random(SEED + 1)
    made: list[Query] = []
    for index in range(count):
        words: list[str] = []
        while len(words) < rnd.choice((1, 1, 2, 2, 3)):
            words.extend(rnd.choice(QUERY_WORDS).split())
        filters: dict[str, Any] = {}
        if index % 2:
            kind = rnd.choice(("month", "reporter", "states"))
            if kind == "month":
                start = (FIRST_DAY + timedelta(days=rnd.randrange(DAYS - 31))).date()
                filters = {"since": start, "until": start + timedelta(days=30)}
            elif kind == "reporter":
                filters = {"reporter_id": people[rnd.choice(REPORTERS)]}
            else:
                filters = {"states": ("published", "spiked")}
        made.append(Query(" ".join(words[:3]), filters))
    return made


def like_scan(db: Database, query: Query) -> list[int]:
    """The naive search: each word as LIKE '%word%' on title or body, newest first."""
    clauses, params = [], {}
    for index, word in enumerate(query.words.split()):
        params[f"w{index}"] = f"%{word.lower()}%"
        clauses.append(f"(lower(v.title) LIKE :w{index} OR lower(v.body) LIKE :w{index})")
    filters = query.filters
    if "since" in filters:
        clauses.append("s.created_at >= :since")
        params["since"] = local_midnight(filters["since"])
    if "until" in filters:
        clauses.append("s.created_at < :until")
        params["until"] = local_midnight(filters["until"] + timedelta(days=1))
    if "reporter_id" in filters:
        clauses.append("s.reporter_id = :reporter_id")
        params["reporter_id"] = filters["reporter_id"]
    if "states" in filters:
        clauses.append("s.state IN ('published', 'spiked')")
    statement = text(
        "SELECT s.id FROM story s JOIN storyversion v "
        "ON v.story_id = s.id AND v.number = s.current_version "
        f"WHERE {' AND '.join(clauses)} ORDER BY s.created_at DESC LIMIT 10"
    ).bindparams(
        *(bindparam(key, type_=UTCDateTime()) for key in ("since", "until") if key in params)
    )
    with db.transaction() as session:
        return [row[0] for row in session.connection().execute(statement, params)]


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=search.DESK_ZONE)


# -- measuring --------------------------------------------------------------------------------


@dataclass
class Figures:
    backend: str
    stories: int
    seeded_s: float
    build_s: float
    search_ms: list[float]
    sampled_search_ms: list[float]
    baseline_ms: list[float]
    found: int
    empty: int


def timed_each(run: Callable[[Query], Any], batch: list[Query]) -> tuple[list[float], list[Any]]:
    times, results = [], []
    for query in batch:
        began = clock.perf_counter()
        results.append(run(query))
        times.append((clock.perf_counter() - began) * 1000)
    return times, results


def measure(db: Database, stories: int, count: int, sample: int) -> Figures:
    upgrade(db)
    began = clock.perf_counter()
    people = seed(db, stories)
    seeded = clock.perf_counter() - began
    began = clock.perf_counter()
    with db.transaction() as session:
        indexed = search.rebuild(session)
    build = clock.perf_counter() - began
    assert indexed == stories, (indexed, stories)
    if not db.is_sqlite:
        # What autovacuum does soon after 100,000 inserts: the visibility map and statistics.
        with db.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                text("VACUUM ANALYZE story_search")
            )
    batch = queries(count, people)

    def ranked(query: Query) -> list[search.Hit]:
        with db.transaction() as session:
            return search.search(session, query.words, **query.filters)

    for query in batch[:20]:  # warm the caches, as a running desk has them
        ranked(query)
    search_ms, hits = timed_each(ranked, batch)
    sampled = batch[:sample]
    baseline_ms, _ = timed_each(lambda query: like_scan(db, query), sampled)
    return Figures(
        backend=db.engine.dialect.name,
        stories=stories,
        seeded_s=seeded,
        build_s=build,
        search_ms=search_ms,
        sampled_search_ms=search_ms[:sample],
        baseline_ms=baseline_ms,
        found=sum(len(found) for found in hits),
        empty=sum(1 for found in hits if not found),
    )


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def report(figures: Figures) -> bool:
    p50, p95 = percentile(figures.search_ms, 0.5), percentile(figures.search_ms, 0.95)
    s50, s95 = (
        percentile(figures.sampled_search_ms, 0.5),
        percentile(figures.sampled_search_ms, 0.95),
    )
    b50, b95 = percentile(figures.baseline_ms, 0.5), percentile(figures.baseline_ms, 0.95)
    queries_run = len(figures.search_ms)
    print(f"\n{figures.backend}: {figures.stories:,} stories (seeded in {figures.seeded_s:.1f} s)")
    print(f"  index build (rebuild):  {figures.build_s:8.1f} s")
    print(
        f"  search, {queries_run} queries:    p50 {p50:7.2f} ms   p95 {p95:7.2f} ms   "
        f"max {max(figures.search_ms):7.2f} ms  ({figures.found:,} hits, "
        f"{figures.empty} queries found nothing)"
    )
    print(
        f"  same {len(figures.baseline_ms)} queries:        search p50 {s50:7.2f} ms   "
        f"p95 {s95:7.2f} ms"
    )
    print(f"  baseline LIKE scan:     p50 {b50:7.2f} ms   p95 {b95:7.2f} ms")
    print(f"  ratio baseline/search:  p50 {b50 / s50:7.1f}x    p95 {b95 / s95:7.1f}x")
    met = p95 < TARGET_P95_MS
    print(f"  target (p95 < {TARGET_P95_MS:.0f} ms): {'met' if met else 'NOT met'}")
    return met


# -- PostgreSQL: a database of our own --------------------------------------------------------


@contextmanager
def bench_postgres(url: str) -> Iterator[str | None]:
    """A URL of a fresh database (or private schema) for the bench, removed afterwards; None
    (after saying why) when PostgreSQL does not answer."""
    given = make_url(url)
    if given.drivername in ("postgresql", "postgres"):
        given = given.set(drivername="postgresql+psycopg")
    admin = given.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        connection = psycopg.connect(admin, autocommit=True, connect_timeout=3)
    except psycopg.Error as error:
        print(f"\npostgresql: skipped, not reachable ({str(error).strip().splitlines()[0]})")
        yield None
        return
    with connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (BENCH_DATABASE,)
        ).fetchone()
        if exists:
            print(
                f"\npostgresql: skipped, database {BENCH_DATABASE} exists already (a bench "
                f"running, or one that died: DROP DATABASE {BENCH_DATABASE} when it is yours)"
            )
            yield None
            return
        try:
            connection.execute(f"CREATE DATABASE {BENCH_DATABASE}")
        except psycopg.errors.InsufficientPrivilege:
            schema = f"warta_bench_{uuid.uuid4().hex[:8]}"
            connection.execute(f'CREATE SCHEMA "{schema}"')
            try:
                yield given.set(query={"options": f"-csearch_path={schema}"}).render_as_string(
                    hide_password=False
                )
            finally:
                connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
            return
        try:
            yield given.set(database=BENCH_DATABASE).render_as_string(hide_password=False)
        finally:
            connection.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")


def run(url: str, stories: int, count: int, sample: int) -> bool:
    db = Database(url)
    try:
        return report(measure(db, stories, count, sample))
    finally:
        db.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=None, help=f"({DEFAULT_STORIES:,})")
    parser.add_argument(
        "--small", action="store_true", help=f"{SMALL_STORIES:,} stories (CI's smoke run)"
    )
    parser.add_argument("--queries", type=int, default=DEFAULT_QUERIES, help="(200)")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="where PostgreSQL is")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument(
        "--report-stories",
        type=int,
        default=None,
        help=f"the monthly report's month ({month_report.DEFAULT_STORIES:,}; 0: no report)",
    )
    args = parser.parse_args(argv)
    stories = args.stories or (SMALL_STORIES if args.small else DEFAULT_STORIES)
    if stories < 100 or args.queries < 20:
        parser.error("at least 100 stories and 20 queries")
    # A LIKE scan over a small desk is quick: run them all; at full size, a sample.
    sample = args.queries if stories <= 10_000 else min(BASELINE_SAMPLE, args.queries)
    print(f"{stories:,} stories, {args.queries} queries (baseline on {sample} of them)")
    results = []
    with tempfile.TemporaryDirectory(prefix="warta-bench-") as folder:
        results.append(run(f"sqlite:///{Path(folder) / 'warta.db'}", stories, args.queries, sample))
    if not args.no_postgres:
        with bench_postgres(args.postgres) as url:
            if url is not None:
                results.append(run(url, stories, args.queries, sample))
    report_stories = args.report_stories
    if report_stories is None:
        small = month_report.SMALL_STORIES
        report_stories = small if args.small else month_report.DEFAULT_STORIES
    if report_stories:
        print(f"\nthe monthly report of {report_stories:,} stories (bench/month_report.py)")
        results.append(month_report.run_month_report(report_stories))
    return 0 if all(results) or args.small else 1


if __name__ == "__main__":
    sys.exit(main())
