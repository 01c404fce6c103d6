"""image.AdditiveNoise and image.MultiplicativeNoise (issue 16, being written)."""
