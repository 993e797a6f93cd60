"""The I/O shells: each agent decodes a batch, asks a pure decision, and emits what it says."""
