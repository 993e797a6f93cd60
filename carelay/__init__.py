"""carelay for integrators: the typed HTTP client (`carelay.client`)."""
