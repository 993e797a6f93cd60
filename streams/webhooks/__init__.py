"""The outbound webhook process: events for the clinic's endpoints, signed, retried, in order (docs/webhooks.md)."""
