"""audio.ShortNoises (issue 16, being written)."""
