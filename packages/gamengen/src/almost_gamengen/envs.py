"""Game environments (filled in by the data stages)."""


def register_envs(registry) -> None:
    pass
