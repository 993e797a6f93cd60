"""Provider connectors: one module per provider behind the neutral interface in connectors.base."""
