"""Durable state: tables, engine set-up, the inbox and outbox, repositories and migrations."""
