"""Channel-agnostic handlers: normalized messages in, workflow calls, rendered replies out."""
