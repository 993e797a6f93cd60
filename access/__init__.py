"""Who is calling and what they may do: API keys (stored as hashes), roles, permissions.

Below the gateway and analytics, which both ask it (access.keys)."""
