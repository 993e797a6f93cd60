"""Provider connectors: one package per provider behind a neutral interface (base, webhooks), named only by
the registry (factory)."""
