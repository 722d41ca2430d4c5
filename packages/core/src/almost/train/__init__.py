"""Training helpers for stages: checkpoints (:mod:`.checkpoint`) and the CPU thread policy
(:mod:`.threads`)."""
