"""The edges and the wiring: configuration, channels, the outbox dispatcher, CLI and app."""
