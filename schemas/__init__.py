"""carelay's contracts: Avro schemas and codecs, the topic catalog, templates, PHI sealing, settings."""
