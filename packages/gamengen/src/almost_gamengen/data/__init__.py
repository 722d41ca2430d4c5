"""The recorded data: games (ViZDoom components), policies, reward shaping, seeds, and the
episode format with its recorder and collectors."""
