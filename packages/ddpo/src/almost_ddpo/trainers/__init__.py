"""Policy trainers (``trainer/NAME``) for the ``policy`` stage: :mod:`.ddpo` and :mod:`.d3po`."""

from __future__ import annotations
