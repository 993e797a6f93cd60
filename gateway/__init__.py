"""The HTTP gateway: the only door into carelay. Validates, authenticates, publishes to Kafka, answers."""
