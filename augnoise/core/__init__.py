"""Core machinery: the transform contract, keyed randomness, composition, registry and config."""
