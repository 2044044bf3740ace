"""Configuration: the shipped file, durations and sizes, and errors that name the key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings, parse_duration, parse_size

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_config_works_as_is():
    settings = load_settings(ROOT / "config.yaml", environ={})
    assert settings.timezone == "Asia/Jakarta" and settings.locale == "id"
    assert settings.database_url.get_secret_value() == f"sqlite:///{ROOT / 'data' / 'warta.db'}"
    assert settings.sla.editing == timedelta(hours=3)
    assert [item.key for item in settings.verification.checklist] == [
        "fakta",
        "nama",
        "layak",
        "foto",
    ]
    assert {role for person in settings.people for role in person.roles} == {
        "section_head",
        "editor",
        "operator",
        "reporter",
    }
    assert settings.publish.targets[0].path == ROOT / "data" / "published"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("45m", timedelta(minutes=45)),
        ("1h", timedelta(hours=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2d", timedelta(days=2)),
        (3600, timedelta(hours=1)),
    ],
)
def test_durations(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "3x", "h", "-1h", "0s", "1.5h"])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_sizes():
    assert parse_size("20MB") == 20 * 1024**2
    assert parse_size("512kb") == 512 * 1024
    assert parse_size(1000) == 1000
    with pytest.raises(ValueError):
        parse_size("lots")


def test_errors_name_the_key_and_the_problem(tmp_path: Path):
    path = write(
        tmp_path,
        """
timezone: Asia/Jakrta
locale: fr
sla: {editing: 3x}
people:
  - key: rina
    name: Rina
    roles: [reporter, boss]
  - key: dedi
    name: Dedi
    roles: [editor]
    whatsapp: "0812"
publish:
  targets:
    - {name: arsip, kind: ftp, path: x}
""",
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    problems = "\n".join(caught.value.problems)
    assert "timezone: 'Asia/Jakrta' is not a time zone" in problems
    assert "locale: " in problems
    assert "sla.editing: '3x' is not a duration" in problems
    assert "people[rina].roles[1]" in problems
    assert "people[dedi].whatsapp: write the number with its country code" in problems
    assert "publish.targets[arsip]" in problems


def test_duplicate_identities_are_refused(tmp_path: Path):
    path = write(
        tmp_path,
        """
people:
  - {key: a, name: A, roles: [editor], telegram: 5}
  - {key: b, name: B, roles: [editor], telegram: 5}
""",
    )
    with pytest.raises(ConfigError, match="two people share the telegram 5"):
        load_settings(path, environ={})


def test_unknown_keys_are_refused_with_advice(tmp_path: Path):
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, "colour: blue\nsla: {edting: 3h}\n"), environ={})
    assert sorted(caught.value.problems) == [
        "colour: not a setting Warta knows (check the spelling and the indentation)",
        "sla.edting: not a setting Warta knows (check the spelling and the indentation)",
    ]


def test_database_url_comes_from_the_named_environment_variable(tmp_path: Path):
    path = write(tmp_path, "database: {url_env: MY_DB}\n")
    settings = load_settings(path, environ={"MY_DB": "postgresql://u:hunter2@db/warta"})
    assert settings.database_url.get_secret_value() == "postgresql://u:hunter2@db/warta"
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings.database_url)


def test_relative_paths_are_relative_to_the_config_file(tmp_path: Path):
    path = write(tmp_path, "data_dir: var\ndatabase: {url: 'sqlite:///db/w.db'}\n")
    settings = load_settings(path, environ={})
    assert settings.data_dir == tmp_path / "var"
    assert settings.database_url.get_secret_value() == f"sqlite:///{tmp_path / 'db/w.db'}"


def test_missing_file_and_broken_yaml(tmp_path: Path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.yaml", environ={})
    with pytest.raises(ConfigError, match="not valid YAML at line 2, column 5"):
        load_settings(write(tmp_path, "a: 1\nb: c: d\n"), environ={})


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ('sla: {digest_at: "07.00"}', "07:00"),
        ("sla: {digest_at: 07.30}", "07:30"),  # YAML hands over the number 7.3
        ("sla: {digest_at: 7:00}", "07:00"),  # YAML's sexagesimal 420
        ("sla: {digest_at: off}", None),
    ],
)
def test_times_of_day_however_yaml_reads_them(tmp_path: Path, yaml_text: str, expected):
    settings = load_settings(write(tmp_path, yaml_text), environ={})
    found = settings.sla.digest_at
    assert (found.strftime("%H:%M") if found else None) == expected


@pytest.mark.parametrize(
    ("yaml_text", "problem"),
    [
        ("sla: {digest_at: 7}", "'7' is not a time of day"),
        ("sla: {reminders_per_step: {publishing: [3h before]}}", "'3h before' does not fit"),
        ("sla: {reminders: [120%]}", "between 0 % and 100 %"),
        ("sla: {late_after: 10s}", "late_after must be longer than sla.sweep_every"),
        ("sla: {sweep_every: 2m, leader_lease: 1m}", "shorter than sla.leader_lease"),
        ("calendar: {working_hours: {mon-fri: 16.00-07.30}}", "ends before it starts"),
        ("roster: {people: [joko]}", "roster.people names unknown people: joko"),
        ("roster: {shifts: [pagi, siang]}", "no hours for pagi, siang"),
    ],
)
def test_sla_calendar_and_roster_settings_that_cannot_work(
    tmp_path: Path, yaml_text: str, problem: str
):
    with pytest.raises(ConfigError) as refused:
        load_settings(write(tmp_path, yaml_text), environ={})
    assert problem in " ".join(refused.value.problems)


def test_a_day_off_written_as_yaml_off(tmp_path: Path):
    settings = load_settings(
        write(tmp_path, "calendar: {working_hours: {mon-fri: 08.00-16.00, sat: off}}"),
        environ={},
    )
    calendar = settings.calendar.build(settings.zone)
    assert calendar.hours[5] == () and calendar.hours[0][0][0].hour == 8


def test_pages_reachable_from_other_machines_need_a_password(tmp_path: Path):
    with pytest.raises(ConfigError) as refused:
        load_settings(write(tmp_path, "http: {host: 0.0.0.0}\n"), environ={})
    assert "set web.password_env" in str(refused.value)
    settings = load_settings(
        write(tmp_path, "http: {host: 0.0.0.0}\nweb: {password_env: WEB_PASS}\n"),
        environ={"WEB_PASS": "kata-sandi-redaksi"},
    )
    assert settings.web.password.get_secret_value() == "kata-sandi-redaksi"
    with pytest.raises(ConfigError, match="WEB_PASS is not set"):
        load_settings(
            write(tmp_path, "http: {host: 0.0.0.0}\nweb: {password_env: WEB_PASS}\n"), environ={}
        )
    # On this machine only, no password is needed.
    assert load_settings(write(tmp_path, "http: {host: 127.0.0.1}\n"), environ={}).web


def test_the_playground_is_the_default_channel_and_the_training_clock_shrinks_windows(
    tmp_path: Path,
):
    from bot.config import PlaygroundConfig, fast

    settings = load_settings(write(tmp_path, "sla: {reminders: ['50%', '30m before']}\n"), {})
    assert settings.active_channels == ()
    served = settings.with_default_channel()
    assert [type(channel) for channel in served.active_channels] == [PlaygroundConfig]
    quick = fast(served, 60)
    assert quick.training == 60
    assert (quick.sla.submission, quick.sla.editing, quick.sla.publishing) == (
        timedelta(minutes=1),
        timedelta(minutes=3),
        timedelta(minutes=2),
    )
    assert [point.key for point in quick.sla.reminders] == ["50%", "-0m30s"]
    assert quick.assignments.answer_within == timedelta(minutes=2)
