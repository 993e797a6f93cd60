"""Pure decisions over frozen dataclasses: no Kafka, no I/O, no clock (time comes in as epoch ms)."""
