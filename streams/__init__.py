"""carelay's stream workers: pure decisions in `streams.decide`, thin Faust agents around them."""
