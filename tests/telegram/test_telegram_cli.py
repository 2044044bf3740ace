"""The operator's Telegram commands: whereami against the fake Bot API, run without a channel."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.fakes.telegram_server import FakeTelegram

GROUP = -1009876543210


def run_warta(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**os.environ, **env},
    )


def test_whereami_lists_the_chats_without_consuming_updates(tmp_path: Path):
    with FakeTelegram() as tg:
        tg.add_chat(GROUP, "supergroup", title="Redaksi Media Center")
        tg.push_message(GROUP, 4242, text="/siapa")
        config = tmp_path / "config.yaml"
        config.write_text(
            "data_dir: data\n"
            "telegram:\n"
            "  enabled: true\n"
            f"  base_url: {tg.base_url}\n"
            f"  base_file_url: {tg.base_file_url}\n"
        )
        result = run_warta(
            "telegram",
            "whereami",
            "--config",
            str(config),
            env={"WARTA_TELEGRAM_TOKEN": tg.token},
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stderr
        assert f"{GROUP}" in result.stdout and "supergroup" in result.stdout
        assert "Redaksi Media Center" in result.stdout
        assert len(tg.pending_updates) == 1  # still there for Warta to handle


def test_enabled_telegram_without_a_token_is_a_clear_error(tmp_path: Path):
    config = tmp_path / "config.yaml"
    config.write_text("telegram: {enabled: true}\n")
    result = run_warta(
        "check", "--config", str(config), env={"WARTA_TELEGRAM_TOKEN": ""}, cwd=tmp_path
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "WARTA_TELEGRAM_TOKEN is not set" in result.stderr


def test_run_without_a_channel_serves_the_playground_and_says_where(tmp_path: Path):
    import signal
    import socket

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "config.yaml"
    config.write_text(
        "data_dir: data\n"
        "people:\n"
        "  - {key: rina, name: Rina Wulandari, roles: [reporter]}\n"
        f"http: {{port: {port}}}\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--config", str(config), "--fast"],
        cwd=tmp_path,
        env={**os.environ},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(5)]
        assert f"Open http://127.0.0.1:{port}/ in a browser" in "".join(lines)
        assert "Training clock: deadlines 60× faster" in "".join(lines)
        picker = httpx.get(f"http://127.0.0.1:{port}/play", timeout=10)
        assert picker.status_code == 200 and "Rina Wulandari" in picker.text
        chat = httpx.get(f"http://127.0.0.1:{port}/play/rina", timeout=10)
        assert "Mode latihan" in chat.text  # the page says the clock runs fast
    finally:
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=15)
    assert process.returncode == 0 and "Traceback" not in err


def test_warta_run_serves_the_group_and_stops_cleanly(tmp_path: Path):
    import signal
    import socket

    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with FakeTelegram() as tg:
        tg.add_chat(GROUP, "supergroup", title="Redaksi Media Center")
        tg.add_user(501, "Rina")
        tg.push_message(GROUP, 501, text="/siapa")  # sent while Warta was down
        config = tmp_path / "config.yaml"
        config.write_text(
            "data_dir: data\n"
            "people:\n"
            "  - {key: rina, name: Rina, roles: [reporter], telegram: 501}\n"
            "publish: {targets: [{name: arsip, kind: folder, path: data/pub}]}\n"
            f"http: {{port: {port}}}\n"
            "telegram:\n"
            "  enabled: true\n"
            f"  group_chat_id: {GROUP}\n"
            "  poll_timeout: 1\n"
            f"  base_url: {tg.base_url}\n"
            f"  base_file_url: {tg.base_file_url}\n"
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run", "--config", str(config)],
            cwd=tmp_path,
            env={**os.environ, "WARTA_TELEGRAM_TOKEN": tg.token},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            tg.wait_until(lambda: len(tg.messages_in(GROUP, from_bot=True)) >= 1, timeout=30)
            assert "Rina" in tg.messages_in(GROUP, from_bot=True)[0]["text"]
            tg.push_message(GROUP, 501, text="Judul Berita\nIsi berita dari lapangan.")
            tg.wait_until(
                lambda: any(
                    "#1" in m.get("text", "") and m.get("reply_markup")
                    for m in tg.messages_in(GROUP, from_bot=True)
                ),
                timeout=30,
            )
            assert tg.commands[("all_group_chats", "id")]
            # The port was taken before "Warta is running" was printed: no waiting needed.
            health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=10)
            assert health.json()["status"] == "ok"
            assert health.json()["scheduler"]["leader"] is True  # the alarm clock is running
        finally:
            process.send_signal(signal.SIGTERM)
            _out, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        assert "Traceback" not in err


def _config(tmp_path: Path, tg_lines: str, port: int) -> Path:
    config = tmp_path / "config.yaml"
    config.write_text(
        "data_dir: data\n"
        "people:\n"
        "  - {key: rina, name: Rina, roles: [reporter], telegram: 501}\n"
        f"http: {{port: {port}}}\n"
        "channels:\n"
        "  - kind: telegram\n" + tg_lines
    )
    return config


def test_a_taken_port_is_one_clear_line(tmp_path: Path):
    import socket

    with socket.socket() as taken, FakeTelegram() as tg:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        config = _config(tmp_path, f"    base_url: {tg.base_url}\n", port)
        result = run_warta(
            "run", "--config", str(config), env={"WARTA_TELEGRAM_TOKEN": tg.token}, cwd=tmp_path
        )
    assert result.returncode == 2
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "Traceback" not in result.stderr and tg.token not in result.stderr


def test_a_bot_api_address_without_bot_is_refused_by_check(tmp_path: Path):
    config = _config(tmp_path, "    base_url: http://127.0.0.1:8081\n", 8080)
    result = run_warta(
        "check", "--config", str(config), env={"WARTA_TELEGRAM_TOKEN": "1:x"}, cwd=tmp_path
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "must end in /bot" in result.stderr


def test_an_unreachable_bot_api_is_retried_in_one_line_and_ctrl_c_stops_at_once(tmp_path: Path):
    import signal
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = "123456789:AAF-unreachable-test-token-000000000"
    config = _config(
        tmp_path,
        f"    base_url: http://127.0.0.1:{dead}/bot\n"
        f"    base_file_url: http://127.0.0.1:{dead}/file/bot\n"
        "    poll_timeout: 50\n",
        port,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--config", str(config)],
        cwd=tmp_path,
        env={**os.environ, "WARTA_TELEGRAM_TOKEN": token},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stderr is not None
        assert "Warta is running" in process.stdout.readline()
        line = ""
        while "cannot start" not in line:
            line = process.stderr.readline()
            assert line, "Warta stopped instead of waiting for the Bot API"
        assert "telegram: cannot start (NetworkError" in line and "trying again in 2 s" in line
    finally:
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=15)  # far less than the 50 s long poll
    assert process.returncode == 0
    assert "Traceback" not in err and token not in err and token.split(":")[1] not in line
