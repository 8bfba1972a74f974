"""Subcommands beyond the core ones: each module exposes a click ``command`` (see cli.py)."""
