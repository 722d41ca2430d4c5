"""An Almost plugin (its stages arrive with its own issue)."""

__version__ = "0.1.0"
