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


def test_run_without_a_channel_explains_what_to_do(tmp_path: Path):
    config = tmp_path / "config.yaml"
    config.write_text("data_dir: data\n")
    result = run_warta("run", "--config", str(config), env={}, cwd=tmp_path)
    assert result.returncode == 2
    assert "no chat channel is enabled" in result.stderr and "warta demo" in result.stderr
