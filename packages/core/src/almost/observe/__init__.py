"""Seeing a run: the terminal (:mod:`.console`), one number format (:mod:`.format`), the step
history (:mod:`.history`), experiment trackers (:mod:`.tracking`) and the HTML report
(:mod:`.report`). Nothing here imports :mod:`almost.runs`' driver; the report reads runs back."""
