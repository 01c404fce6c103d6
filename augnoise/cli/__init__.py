"""Command-line interface (``augnoise``). Each command imports what it needs when it runs."""
