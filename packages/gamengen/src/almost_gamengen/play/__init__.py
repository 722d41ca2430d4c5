"""Play a world model (or the real game): ``almost gamengen play RUN_DIR`` in the browser, and
``env/worldmodel``, the trained world model as a gymnasium game for people and agents."""
