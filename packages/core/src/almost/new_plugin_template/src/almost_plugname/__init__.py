"""almost-plugname: an Almost plugin (see plugin.py for what it registers)."""
