"""Play a world model (or the real game) in the browser: ``almost gamengen play RUN_DIR``."""
