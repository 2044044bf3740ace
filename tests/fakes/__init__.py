"""Fakes of outside services (Telegram, ...) that Warta's end-to-end tests run against."""
