"""How numbers and durations read, in the terminal and in the report alike.

One rule for a metric's value (:func:`format_number`): ``-`` for none, ``nan``, ``true``/``false``
as JSON writes them; 4 significant digits (``0.5``, ``26.7``); from 1,000 on, whole numbers with
thousands separators (``1,210``, ``100,000``) rather than ``1.21e+03``; scientific notation only
where plain digits would mislead: from 1e9 on and below 0.001 (``3.2e+12``, ``9.8e-05``).
"""

from __future__ import annotations

from typing import Any


def format_number(v: Any) -> str:
    """A metric's value as the summary table and the report show it."""
    if v is None:
        return "-"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        if v != v:
            return "nan"
        if abs(v) >= 1e9 or (abs(v) < 0.001 and v != 0):
            return f"{v:.3g}"
        if abs(v) >= 1000:  # 1,210 rather than 1.21e+03
            return f"{v:,.0f}"
        return f"{v:.4g}"
    return str(v)


def format_duration(s: Any) -> str:
    """Seconds as ``12.5 s``, ``3 min 5 s`` or ``1 h 2 min``; ``-`` when not a number."""
    if not isinstance(s, int | float):
        return "-"
    s = float(s)
    if s < 60:
        return f"{s:.1f} s"
    if s < 3600:
        return f"{int(s // 60)} min {int(s % 60)} s"
    return f"{int(s // 3600)} h {int(s % 3600 // 60)} min"
