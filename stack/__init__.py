"""The local development stack: a real Kafka broker and schema registry run from Maven Central jars."""
