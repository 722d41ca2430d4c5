"""almost-gamengen: a GameNGen-style neural game engine as an Almost plugin.

Stages: ``agent`` → ``collect`` → ``encode`` → ``train`` → ``decoder`` → ``rollout``
(see ``almost stages --plugin gamengen``). Heavy imports live inside the stages.
"""

__version__ = "0.1.0"
