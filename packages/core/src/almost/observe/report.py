"""``almost report RUN_DIR [RUN_B] [--open]``: one self-contained ``report.html`` for a run.

The page holds the resolved config, each stage's status and duration, its curves (drawn as
inline SVG from ``<stage>/history.jsonl``), its metrics table and its pictures and GIFs (as
``data:`` URIs). It loads nothing from the network and runs no script: open it from disk,
mail it, attach it to an issue.

With two runs it puts them side by side: the config keys that differ, every metric the two
share (with the change), and each shared curve drawn with both runs on one plot. The page is
written into the first run (``report-vs-<B>.html``).

While a run trains, ``almost report RUN --watch`` rewrites the page every few seconds and the
page reloads itself (a ``<meta http-equiv="refresh">``, still no script): live curves.
"""

from __future__ import annotations

import base64
import html
import math
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from ..config import flat_items
from ..errors import UserError
from ..runs.rundir import read_manifest, read_metrics
from .format import format_duration, format_number
from .history import HISTORY_FILE, media, series

REPORT_FILE = "report.html"
PICTURES = {".png": "image/png", ".gif": "image/gif", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
            ".webp": "image/webp"}
MAX_PICTURE_BYTES = 6 * 2**20  # one picture larger than this is linked, not embedded
MAX_EMBED_BYTES = 48 * 2**20  # pictures embedded in one page at most
MAX_PICTURES_PER_STAGE = 16
TEXTS = (".md", ".txt")  # text artifacts shown as they are (an evaluation report)
MAX_TEXT_BYTES = 256 * 2**10
MAX_POINTS = 800  # points per curve (longer histories keep each bucket's min and max)
SMOOTH_FROM = 60  # curves with more points get a smoothed line over the faint raw one
COLORS = ("#1f77b4", "#d62728")  # run A, run B


@attrs.define
class StageRecord:
    name: str  # "train", or "round-002/policy"
    folder: Path
    status: str = "-"
    seconds: float | None = None
    metrics: dict[str, Any] = attrs.Factory(dict)
    curves: dict[str, list[tuple[int, float]]] = attrs.Factory(dict)
    pictures: list[tuple[str, Path]] = attrs.Factory(list)  # (caption, path)
    texts: list[tuple[str, Path]] = attrs.Factory(list)  # small text artifacts (an evaluation report.md)
    error: str = ""


@attrs.define
class RunRecord:
    path: Path
    config_text: str
    config: dict[str, Any]
    manifest: dict[str, Any]
    stages: list[StageRecord]
    problems: list[str] = attrs.Factory(list)  # records that could not be read (left out of the page)
    headline: tuple[str, ...] = ()  # the pipeline's headline words (almost.Pipeline.headline)

    @property
    def title(self) -> str:
        return self.path.name


# ---------------------------------------------------------------------------------------
# reading a run
# ---------------------------------------------------------------------------------------
class _Problems(list):
    """What the report could not read: one short phrase per record, named by its file."""

    def read(self, fn, *args, default):
        try:
            return fn(*args)
        except UserError as e:
            self.append(str(e).split("; ")[0])
            return default


def _history(sdir: Path, problems: _Problems) -> list[dict]:
    """A stage's history records; a file that is not JSON lines (binary, damaged) is a problem,
    a torn last line (kill -9 mid-write) is not."""
    from .history import parse_lines

    path = sdir / HISTORY_FILE
    if not path.exists():
        return []
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        problems.append(f"history {path} is not UTF-8 text (binary or damaged)")
        return []
    except OSError as e:
        problems.append(f"history {path} cannot be read ({e.strerror or e})")
        return []
    records, bad = parse_lines(text)
    torn_tail = bad == 1 and not text.endswith("\n")
    if bad and not torn_tail:
        problems.append(f"history {path} has {bad} line(s) that are not step records")
    return records


def _picture_ok(path: Path) -> str | None:
    """Why a PNG/GIF/JPEG cannot be shown (``None``: it decodes, every frame of a GIF too)."""
    try:
        from PIL import Image, ImageSequence
    except ImportError:  # pragma: no cover
        return None
    try:
        with Image.open(path) as im:
            for frame in ImageSequence.Iterator(im):
                frame.load()
    except Exception as e:  # PIL raises OSError, SyntaxError, ValueError... for damaged files
        return f"picture {path} cannot be decoded ({(str(e) or type(e).__name__)[:80]})"
    return None


def load_run(run_dir: str | os.PathLike) -> RunRecord:
    """Everything the report shows about ``run_dir``; a folder that is not a run is a UserError.
    Records it cannot read (a damaged manifest, metrics or history, a picture that does not
    decode) are left out and listed in ``problems``."""
    import tomllib

    from ..io import read_text

    run = Path(run_dir)
    if not run.is_dir():
        raise UserError(f"run directory {run} does not exist; give the folder an `almost run` wrote (e.g. runs/<plugin>/tiny)")
    if not (run / "manifest.json").exists() and not (run / "config.toml").exists():
        raise UserError(f"{run} is not a run directory (no manifest.json or config.toml); give the folder an `almost run` wrote")
    problems = _Problems()
    manifest, words = _open(run, problems)
    config_text, config = "", {}
    if (run / "config.toml").exists():
        config_text = problems.read(read_text, run / "config.toml", "config file", default="")
        try:
            config = tomllib.loads(config_text)
        except tomllib.TOMLDecodeError as e:
            problems.append(f"config file {run / 'config.toml'} is not valid TOML ({e})")
            config_text, config = "", {}
    stages: list[StageRecord] = []
    rounds = sorted(p for p in run.glob("round-[0-9][0-9][0-9]") if p.is_dir())
    if rounds:
        past = {h.get("round"): h.get("stages", {}) for h in manifest.get("history", []) if isinstance(h, dict)}
        for rdir in rounds:
            r = int(rdir.name.split("-")[1])
            recs = manifest.get("stages", {}) if r == manifest.get("round") else past.get(r, {})
            metrics = problems.read(read_metrics, rdir / "metrics.json", default={})
            stages += _stages(rdir, recs, metrics, prefix=f"{rdir.name}/", problems=problems)
    else:
        metrics = problems.read(read_metrics, run / "metrics.json", default={})
        stages = _stages(run, manifest.get("stages", {}), metrics, problems=problems)
    return RunRecord(run, config_text, config, manifest, stages, list(problems), headline=words)


def _open(run: Path, problems: _Problems) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The run's manifest and its pipeline's headline words, through :func:`almost.open_run`; a run
    it cannot open (damaged, or of a pipeline not installed here) is read as far as it can be,
    what cannot be read going to ``problems``."""
    from ..plugins import get_app
    from ..runs import open_run

    try:
        opened = open_run(run)
    except UserError:
        manifest = problems.read(read_manifest, run, default={})
        name = manifest.get("pipeline")
    else:
        manifest, name = dict(opened.manifest), opened.pipeline
    try:
        words = tuple(get_app().pipeline(name).headline) if isinstance(name, str) else ()
    except UserError:  # a pipeline not installed here: the generic words
        words = ()
    return manifest, words


def _order(folder: Path, recs: Mapping[str, Any], metrics: Mapping[str, Any]) -> list[str]:
    names = list(recs)
    for n in metrics:
        if n not in names:
            names.append(n)
    for p in sorted(folder.iterdir()):
        # a stage folder the manifest does not name (not a --force/stale copy set aside: NAME.replaced-...)
        if p.is_dir() and "." not in p.name and (p / HISTORY_FILE).is_file() and p.name not in names:
            names.append(p.name)
    return names


def _stages(folder: Path, recs: Mapping[str, Any], metrics: Mapping[str, Any], prefix: str = "",
            problems: list[str] | None = None) -> list[StageRecord]:
    problems = problems if problems is not None else _Problems()
    out = []
    for name in _order(folder, recs, metrics):
        rec = recs.get(name, {}) if isinstance(recs.get(name), dict) else {}
        sdir = folder / name
        hist = _history(sdir, problems)
        if not metrics.get(name) and isinstance(rec.get("metrics"), dict):
            metrics = {**metrics, name: rec["metrics"]}  # the done record holds them (a kill lost the file's)
        st = StageRecord(prefix + name, sdir, status=str(rec.get("status", "-")),
                         seconds=rec.get("seconds"), metrics=dict(metrics.get(name, {}) or {}),
                         curves=series(hist), error=str(rec.get("error", "") or ""))
        pics: list[tuple[str, Path]] = []
        for step, label, p in media(hist):
            path = Path(p) if os.path.isabs(p) else sdir / p
            pics.append((f"{label} (step {step})", path))
        run_dir = folder if not prefix else folder.parent
        for label, rel in (rec.get("artifacts") or {}).items():
            path = run_dir / rel
            if path.suffix.lower() in PICTURES and path.is_file():
                pics.append((label, path))
            elif path.suffix.lower() in TEXTS and path.is_file() and path.stat().st_size <= MAX_TEXT_BYTES:
                st.texts.append((label, path))
        if sdir.is_dir():  # pictures the stage wrote but did not name
            for path in sorted(sdir.rglob("*")):
                if path.suffix.lower() in PICTURES and path.is_file() and "checkpoints" not in path.parts:
                    pics.append((str(path.relative_to(sdir)), path))
        seen, st.pictures = set(), []
        for label, path in pics:
            key = path.resolve() if path.exists() else path
            if key in seen or not path.is_file():
                continue
            seen.add(key)
            why = _picture_ok(path) if path.stat().st_size <= MAX_PICTURE_BYTES else None
            if why:
                problems.append(why)
                continue
            st.pictures.append((label, path))
        st.pictures = st.pictures[:MAX_PICTURES_PER_STAGE]
        out.append(st)
    return out


# ---------------------------------------------------------------------------------------
# drawing
# ---------------------------------------------------------------------------------------
def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


_fmt = format_number  # the one number format (almost.observe.format)


def _tick(v: float) -> str:
    """An axis label: short, ``0.00098`` rather than ``9.800e-04``."""
    if v == 0:
        return "0"
    text = f"{v:.4g}"
    return text.replace("e-0", "e-").replace("e+0", "e").replace("e+", "e")


def _thin(points: Sequence[tuple[int, float]], n: int = MAX_POINTS) -> list[tuple[int, float]]:
    """At most ~``n`` points: each bucket keeps its first, min and max (spikes stay visible)."""
    if len(points) <= n:
        return list(points)
    size = math.ceil(len(points) / (n / 3))
    out: list[tuple[int, float]] = []
    for i in range(0, len(points), size):
        b = points[i:i + size]
        finite = [p for p in b if math.isfinite(p[1])]
        keep = {b[0]}
        if finite:
            keep |= {min(finite, key=lambda p: p[1]), max(finite, key=lambda p: p[1])}
        out += sorted(keep)
    return out


def _smooth(points: Sequence[tuple[int, float]]) -> list[tuple[int, float]]:
    """A debiased exponential moving average (as TensorBoard's smoothing), gaps kept."""
    w = 1 - min(0.2, 20 / len(points))
    out, avg, n = [], 0.0, 0
    for s, v in points:
        if not math.isfinite(v):
            out.append((s, v))
            continue
        avg, n = w * avg + (1 - w) * v, n + 1
        out.append((s, avg / (1 - w ** n)))
    return out


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=raw)
    start = math.ceil(lo / step) * step
    out, v = [], start
    while v <= hi + step * 1e-9:
        out.append(round(v, 12))
        v += step
    return out


def svg_curve(key: str, runs: Sequence[tuple[str, Sequence[tuple[int, float]]]], stage: str = "",
              width: int = 420, height: int = 220) -> str:
    """An inline SVG line chart of ``runs`` = [(label, [(step, value), ...]), ...]."""
    ml, mr, mt, mb = 62, 12, 26, 30
    pw, ph = width - ml - mr, height - mt - mb
    pts_all = [(s, v) for _, pts in runs for s, v in pts if math.isfinite(v)]
    head = (f'<svg class="curve" role="img" data-stage="{_e(stage)}" data-key="{_e(key)}" '
            f'xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
            f'<title>{_e(stage + " · " if stage else "")}{_e(key)}</title>'
            f'<text x="{ml}" y="16" class="ct">{_e(key)}</text>')
    if not pts_all:
        return head + f'<text x="{ml}" y="{mt + ph / 2}" class="ax">no finite values</text></svg>'
    x0, x1 = min(p[0] for p in pts_all), max(p[0] for p in pts_all)
    ys = [p[1] for p in pts_all]
    y0, y1 = min(ys), max(ys)
    log = y0 > 0 and y1 / y0 > 100  # a loss falling over decades reads better on a log axis
    f = (lambda v: math.log10(v)) if log else (lambda v: v)
    fy0, fy1 = f(y0), f(y1)
    if fy1 == fy0:
        fy0, fy1 = fy0 - (abs(fy0) * 0.05 or 0.5), fy1 + (abs(fy1) * 0.05 or 0.5)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1

    def X(s: float) -> float:
        return ml + (s - x0) / (x1 - x0) * pw

    def Y(v: float) -> float:
        return mt + ph - (f(v) - fy0) / (fy1 - fy0) * ph

    parts = [head, f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" class="pl"/>']
    if log:
        yt = [10.0 ** e for e in range(math.ceil(fy0), math.floor(fy1) + 1)] or [y0, y1]
    else:
        yt = _ticks(fy0, fy1)
    for t in yt:
        y = Y(t)
        if mt - 0.5 <= y <= mt + ph + 0.5:
            parts.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{y:.1f}" y2="{y:.1f}" class="gr"/>'
                         f'<text x="{ml - 4}" y="{y + 4:.1f}" text-anchor="end" class="ax">{_e(_tick(float(t)))}</text>')
    for t in _ticks(x0, x1):
        x = X(t)
        parts.append(f'<text x="{x:.1f}" y="{mt + ph + 16}" text-anchor="middle" class="ax">{_e(_fmt(int(t) if float(t).is_integer() else t))}</text>')
    parts.append(f'<text x="{ml + pw}" y="{height - 2}" text-anchor="end" class="ax">step</text>')
    def lines(points, color: str, extra: str = "") -> None:
        segs, cur = [], []
        for s, v in points:
            if math.isfinite(v) and not (log and v <= 0):
                cur.append(f"{X(s):.1f},{Y(v):.1f}")
            elif cur:
                segs.append(cur)
                cur = []
        if cur:
            segs.append(cur)
        for seg in segs:
            if len(seg) == 1:
                x, y = seg[0].split(",")
                parts.append(f'<circle cx="{x}" cy="{y}" r="2.5" fill="{color}"{extra}/>')
            else:
                parts.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="{color}" stroke-width="1.5"{extra}/>')

    for i, (label, pts) in enumerate(runs):
        color = COLORS[i % len(COLORS)]
        if len(pts) > SMOOTH_FROM:  # noisy: the raw values faint, a smoothed line on top
            lines(_thin(pts), color, ' stroke-opacity="0.25" class="raw"')
            lines(_thin(_smooth(pts)), color, ' class="smooth"')
        else:
            lines(_thin(pts), color)
        last = next((v for s, v in reversed(pts) if math.isfinite(v)), None)
        if len(runs) > 1:
            parts.append(f'<text x="{ml + pw - 4}" y="{mt + 14 + 14 * i}" text-anchor="end" fill="{color}" '
                         f'class="ax">{_e(label)}: {_e(_fmt(last))}</text>')
        elif last is not None:
            parts.append(f'<text x="{ml + pw - 4}" y="{mt + 14}" text-anchor="end" class="ax">last {_e(_fmt(last))}</text>')
    parts.append("</svg>")
    return "".join(parts)


class _Embedder:
    def __init__(self) -> None:
        self.used = 0

    def img(self, path: Path, caption: str, base: Path) -> str:
        mime = PICTURES.get(path.suffix.lower(), "application/octet-stream")
        size = path.stat().st_size
        kind = "gif" if path.suffix.lower() == ".gif" else "picture"
        if size > MAX_PICTURE_BYTES or self.used + size > MAX_EMBED_BYTES:
            try:
                rel = os.path.relpath(path, base)
            except ValueError:
                rel = str(path)
            return (f'<figure class="{kind}"><p>{_e(caption)}: {size / 2**20:.1f} MB, too large to embed '
                    f'({_e(rel)})</p></figure>')
        self.used += size
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return (f'<figure class="{kind}"><img src="data:{mime};base64,{data}" alt="{_e(caption)}">'
                f'<figcaption>{_e(caption)}</figcaption></figure>')


_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:14px 24px}header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;color:#c9d1e0}main{padding:8px 24px 40px;max-width:1400px}
section{background:#fff;border:1px solid #dde1e8;border-radius:6px;margin:16px 0;padding:8px 16px 16px}
h2{font-size:17px;margin:10px 0}h3{font-size:14px;margin:12px 0 6px;color:#4a5366}
table{border-collapse:collapse;font-size:13px}td,th{border-bottom:1px solid #e6e9ef;padding:3px 10px;text-align:left}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.curves{display:flex;flex-wrap:wrap;gap:10px}.pics{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}
figure{margin:0;max-width:100%}figure img{min-width:160px;max-width:640px;max-height:420px;image-rendering:pixelated;border:1px solid #dde1e8}
figcaption{font-size:12px;color:#4a5366}pre{background:#f3f4f7;padding:10px;overflow:auto;font-size:12px;max-height:480px}
.st-done{color:#1a7f37}.st-failed{color:#cf222e}.st-interrupted,.st-running,.st-stale{color:#9a6700}
.ct{font-size:13px;font-weight:600;fill:#1d2330}.ax{font-size:11px;fill:#4a5366}.gr{stroke:#e6e9ef}
.pl{fill:#fbfbfc;stroke:#dde1e8}.diff td:first-child{font-family:monospace}
.up{color:#1a7f37}.down{color:#cf222e}.legend span{display:inline-block;margin-right:14px}
"""


def _page(title: str, subtitle: str, body: str, refresh: int | None = None) -> str:
    again = f'<meta http-equiv="refresh" content="{int(refresh)}">' if refresh else ""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">" + again +
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            # nothing may load from anywhere: the page is the whole report
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
            "style-src 'unsafe-inline'\">"
            f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
            f"<header><h1>{_e(title)}</h1><p>{subtitle}</p></header><main>{body}</main></body></html>\n")


def _overview(run: RunRecord) -> str:
    from .console import headline

    rows = []
    for st in run.stages:
        figs = " · ".join(f"{_e(k)} <b>{_e(_fmt(st.metrics[k]))}</b>" for k in headline(st.metrics, run.headline))
        rows.append(f'<tr><td><a href="#stage-{_e(st.name)}">{_e(st.name)}</a></td>'
                    f'<td class="st-{_e(st.status)}">{_e(st.status)}</td><td class="n">{_e(format_duration(st.seconds))}</td>'
                    f'<td>{figs}</td><td class="n">{len(st.curves)}</td><td class="n">{len(st.pictures)}</td></tr>')
    return ('<section id="overview"><h2>Stages</h2><table><tr><th>stage</th><th>status</th><th class="n">duration</th>'
            '<th>headline figures</th><th class="n">curves</th><th class="n">pictures</th></tr>'
            + "".join(rows) + "</table></section>")


def _metrics_table(metrics: Mapping[str, Any]) -> str:
    if not metrics:
        return ""
    rows = "".join(f'<tr><td>{_e(k)}</td><td class="n">{_e(_fmt(v))}</td></tr>' for k, v in metrics.items())
    return f'<table class="metrics"><tr><th>metric</th><th class="n">value</th></tr>{rows}</table>'


def _subtitle(run: RunRecord) -> str:
    m = run.manifest
    bits = [f"pipeline {_e(m.get('pipeline', '?'))}", f"profile {_e(m.get('profile', '?'))}", _e(str(run.path))]
    if m.get("round", 1) and any(st.name.startswith("round-") for st in run.stages):
        bits.append(f"round {_e(m.get('round'))}")
    v = m.get("versions") or {}
    if v:
        bits.append(" · ".join(f"{_e(k)} {_e(x)}" for k, x in v.items() if k in ("almost-core", "torch", "python")))
    return " · ".join(bits) + f" · written {_e(time.strftime('%Y-%m-%d %H:%M'))}"


def render_run(run: RunRecord, refresh: int | None = None) -> str:
    emb = _Embedder()
    body = [_overview(run)]
    for st in run.stages:
        parts = [f'<section class="stage" id="stage-{_e(st.name)}" data-stage="{_e(st.name)}">'
                 f'<h2>{_e(st.name)} <small class="st-{_e(st.status)}">'
                 + (f"{_e(st.status)} · {_e(format_duration(st.seconds))}" if st.status != "-" else "") + "</small></h2>"]
        if st.error:
            parts.append(f"<p class=\"st-failed\">{_e(st.error)}</p>")
        if st.curves:
            parts.append('<h3>Curves</h3><div class="curves">'
                         + "".join(svg_curve(k, [(run.title, pts)], stage=st.name) for k, pts in st.curves.items())
                         + "</div>")
        if st.metrics:
            parts.append("<h3>Metrics</h3>" + _metrics_table(st.metrics))
        if st.pictures:
            parts.append('<h3>Pictures</h3><div class="pics">'
                         + "".join(emb.img(p, cap, run.path) for cap, p in st.pictures) + "</div>")
        for label, path in st.texts:
            text = path.read_text(encoding="utf-8", errors="replace")
            parts.append(f'<details class="text"><summary>{_e(label)} ({_e(path.name)})</summary><pre>{_e(text)}</pre></details>')
        parts.append("</section>")
        body.append("".join(parts))
    if run.config_text:
        body.append(f'<section id="config"><h2>Config</h2><pre>{_e(run.config_text)}</pre></section>')
    return _page(f"Almost run · {run.title}", _subtitle(run), "".join(body), refresh)


def render_compare(a: RunRecord, b: RunRecord, refresh: int | None = None) -> str:
    la, lb = f"A: {a.title}", f"B: {b.title}"
    if a.title == b.title:
        la, lb = f"A: {a.path}", f"B: {b.path}"
    body = [f'<section><p class="legend"><span style="color:{COLORS[0]}">■ {_e(la)}</span>'
            f'<span style="color:{COLORS[1]}">■ {_e(lb)}</span></p></section>']
    fa, fb = flat_items(a.config), flat_items(b.config)
    keys = sorted(k for k in fa.keys() | fb.keys() if fa.get(k) != fb.get(k))
    rows = "".join(f"<tr><td>{_e(k)}</td><td>{_e(fa.get(k, '—'))}</td><td>{_e(fb.get(k, '—'))}</td></tr>" for k in keys)
    body.append('<section id="config-diff"><h2>Config differences</h2>'
                + (f'<table class="diff"><tr><th>key</th><th>A</th><th>B</th></tr>{rows}</table>' if keys
                   else "<p>The two configs are the same.</p>") + "</section>")
    sa, sb = {s.name: s for s in a.stages}, {s.name: s for s in b.stages}
    shared = [n for n in sa if n in sb]
    mrows = []
    for n in shared:
        for k, va in sa[n].metrics.items():
            if k not in sb[n].metrics:
                continue
            vb = sb[n].metrics[k]
            change = ""
            if isinstance(va, int | float) and isinstance(vb, int | float) and not isinstance(va, bool):
                d = vb - va
                rel = f" ({d / abs(va) * 100:+.1f}%)" if va else ""
                change = f'{"+" if d > 0 else ""}{_fmt(float(d))}{rel}' if d else "="
            mrows.append(f'<tr><td>{_e(n)}</td><td>{_e(k)}</td><td class="n">{_e(_fmt(va))}</td>'
                         f'<td class="n">{_e(_fmt(vb))}</td><td class="n">{_e(change)}</td></tr>')
        mrows.append(f'<tr><td>{_e(n)}</td><td><i>duration</i></td><td class="n">{_e(format_duration(sa[n].seconds))}</td>'
                     f'<td class="n">{_e(format_duration(sb[n].seconds))}</td><td></td></tr>')
    body.append('<section id="metrics"><h2>Shared metrics</h2>'
                + (f'<table><tr><th>stage</th><th>metric</th><th class="n">A</th><th class="n">B</th>'
                   f'<th class="n">B − A</th></tr>{"".join(mrows)}</table>' if mrows else "<p>No shared metrics.</p>")
                + "</section>")
    for n in shared:
        keys = [k for k in sa[n].curves if k in sb[n].curves]
        if not keys:
            continue
        body.append(f'<section class="stage" data-stage="{_e(n)}"><h2>{_e(n)}</h2><div class="curves">'
                    + "".join(svg_curve(k, [(la, sa[n].curves[k]), (lb, sb[n].curves[k])], stage=n) for k in keys)
                    + "</div></section>")
    only = [f"{n} (A only)" for n in sa if n not in sb] + [f"{n} (B only)" for n in sb if n not in sa]
    if only:
        body.append(f"<section><h2>Not in both runs</h2><p>{_e(', '.join(only))}</p></section>")
    return _page(f"Almost runs · {a.title} vs {b.title}", f"{_e(a.path)} vs {_e(b.path)}", "".join(body), refresh)


def write_report(run_dir: str | os.PathLike, other: str | os.PathLike | None = None,
                 out: str | os.PathLike | None = None, refresh: int | None = None, strict: bool = True) -> Path:
    """Write the report of ``run_dir`` (or ``run_dir`` vs ``other``); returns its path.
    ``refresh``: the page reloads itself every so many seconds (``almost report --watch``).
    Records it could not read are left out of the page; ``strict``: then a UserError names them."""
    from ..io import atomic_write

    a = load_run(run_dir)
    if other is None:
        text = render_run(a, refresh)
        path = Path(out) if out else a.path / REPORT_FILE
    else:
        b = load_run(other)
        text = render_compare(a, b, refresh)
        path = Path(out) if out else a.path / f"report-vs-{b.title}.html"
    atomic_write(path, text)
    problems = a.problems + (b.problems if other is not None else [])
    if problems and strict:  # the page is written without them; the user hears which and exits 2

        more = f" and {len(problems) - 3} more" if len(problems) > 3 else ""
        raise UserError(f"the report {path} leaves out {len(problems)} record(s) it could not read "
                        f"({'; '.join(problems[:3])}{more}); fix or remove them and run `almost report` again")
    return path
