"""Analytics: the Kafka → ClickHouse sink, its schema, the metric queries and the analysts' HTTP access."""
