"""image.SensorNoise (issue 16, being written)."""
