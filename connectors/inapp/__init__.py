"""The in-app channel: notifications published to Kafka for the patient app (connector, capabilities)."""
