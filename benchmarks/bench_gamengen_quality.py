"""gamengen quality: does the world model learn the game, measured against honest baselines?

Runs the gamengen pipeline (default: the ``tiny`` profile) and prints, from the run's
``metrics.json``, each figure next to its baseline and target:

* teacher-forced next-frame PSNR of the model vs copying the last frame **through the same
  VAE** (``rollout.psnr_db_copy_vae``; target: tiny +1 dB, small +2 dB);
* action sensitivity (model-branch ÷ real-branch divergence; a copier scores 0, target tiny
  ≥ 0.5, small ≥ 0.8) and how often the model's branch is nearest the matching real one;
* the agent's game return vs a random policy's on the same held-out seeds (target: better;
  small: by 2σ);
* seconds per stage (tiny: the whole pipeline ≤ 10 min on 2 cores; small ≤ 1 h).

``--study`` runs the data stages once and then the model stages once per setting of
``STUDY`` (the table in benchmarks/README.md), each in its own run folder.

``--samplers RUN`` re-runs only the rollout stage of a finished run once per sampler setting
(``SAMPLERS``): PSNR, PSNR inside the game's object boxes, sharpness (high-frequency energy of
the generated frames ÷ the real ones') and sensitivity side by side for one trained model.

Run: ``uv run python benchmarks/bench_gamengen_quality.py [--profile tiny] [--study]
[--samplers RUN] [--out DIR] [--set key=value ...]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

TARGETS = {"tiny": (1.0, 0.5, 0.0), "small": (2.0, 0.8, 2.0), "full": (2.0, 0.8, 2.0)}

# setting name → --set overrides of the model stages (train, decoder, rollout)
STUDY = {
    "tiny now (cosine to 2500 steps, 1 DDIM step)": [],
    "4 DDIM steps": ["rollout.ddim_steps=4"],
    "the old training (constant rate, 1500 steps)": ["train.lr_schedule=constant", "train.steps=1500"],
    "+ action drop 0.1 in training, action guidance 1.5": [
        "model.action_drop_prob=0.1", "rollout.action_guidance=1.5"],
    "+ diffuse the change (delta ×2) + action in the timestep embedding": [
        "model.predict_delta=true", "model.delta_scale=2.0", "model.action_time_cond=true"],
    "+ action in the timestep embedding only": ["model.action_time_cond=true"],
}
# sampler settings (rollout only, one trained model): --samplers RUN
SAMPLERS = {
    "1 DDIM step": ["rollout.ddim_steps=1"],
    "2 DDIM steps": ["rollout.ddim_steps=2"],
    "4 DDIM steps": ["rollout.ddim_steps=4"],
    "8 DDIM steps": ["rollout.ddim_steps=8"],
    "1 step, context guidance 1.3": ["rollout.ddim_steps=1", "rollout.guidance_scale=1.3"],
}
DATA_STAGES = ["agent", "collect", "encode"]
MODEL_STAGES = ["train", "decoder", "rollout"]


def almost_run(out: Path, profile: str, stages: list[str], sets: list[str], force=False) -> float:
    cmd = [str(Path(sys.executable).parent / "almost"), "run", "--plugin", "gamengen", *stages, "--profile",
           profile, "--out", str(out)]
    for s in sets:
        cmd += ["--set", s]
    if force:
        cmd.append("--force")
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - t0


def report(out: Path, profile: str, label: str = "", seconds: float | None = None) -> dict:
    m = json.loads((out / "metrics.json").read_text())
    r, a = m.get("rollout", {}), m.get("agent", {})
    gain = r.get("psnr_db_trained", float("nan")) - r.get("psnr_db_copy_vae", float("nan"))
    tg, ts, ta = TARGETS.get(profile, TARGETS["tiny"])
    row = {
        "setting": label or profile,
        "psnr_db_trained": r.get("psnr_db_trained"),
        "psnr_db_copy_vae": r.get("psnr_db_copy_vae"),
        "gain_db": gain,
        "psnr_db_autoregressive": r.get("psnr_db_autoregressive"),
        "psnr_db_autoregressive_copy_vae": r.get("psnr_db_autoregressive_copy_vae"),
        "action_sensitivity": r.get("action_sensitivity"),
        "action_nearest_rate": r.get("action_nearest_rate"),
        "psnr_db_objects": r.get("psnr_db_objects"),
        "psnr_db_objects_copy_vae": r.get("psnr_db_objects_copy_vae"),
        "psnr_db_objects_vae_ceiling": r.get("psnr_db_objects_vae_ceiling"),
        "sharpness": r.get("sharpness_trained"),
        "sharpness_autoregressive": r.get("sharpness_autoregressive"),
        "agent_return": a.get("return_mean"),
        "random_return": a.get("return_random"),
        "agent_gain_sigma": a.get("return_gain_sigma"),
        "train_seconds": m.get("train", {}).get("seconds"),
        "seconds": seconds,
    }
    row["pass"] = {
        f"gain ≥ {tg} dB": gain >= tg,
        f"sensitivity ≥ {ts}": (row["action_sensitivity"] or 0) >= ts,
        "objects above copy-through-VAE": (row["psnr_db_objects"] or -1e9) > (row["psnr_db_objects_copy_vae"] or 1e9),
        f"agent > random by {ta}σ": (row["agent_gain_sigma"] or -1e9) > ta,
    }
    return row


def fmt(v, spec=".2f"):
    return "—" if v is None else format(v, spec)


def print_rows(rows: list[dict]) -> None:
    print()
    print(f"{'setting':58s} {'TF dB':>6s} {'copyVAE':>7s} {'gain':>6s} {'AR dB':>6s} {'AR copy':>7s} "
          f"{'sens':>5s} {'near':>5s} {'agent':>7s} {'random':>7s} {'σ':>5s} {'s':>6s}")
    for r in rows:
        print(f"{r['setting'][:58]:58s} {fmt(r['psnr_db_trained']):>6s} {fmt(r['psnr_db_copy_vae']):>7s} "
              f"{fmt(r['gain_db'], '+.2f'):>6s} {fmt(r['psnr_db_autoregressive']):>6s} "
              f"{fmt(r['psnr_db_autoregressive_copy_vae']):>7s} {fmt(r['action_sensitivity']):>5s} "
              f"{fmt(r['action_nearest_rate']):>5s} {fmt(r['agent_return'], '.1f'):>7s} "
              f"{fmt(r['random_return'], '.1f'):>7s} {fmt(r['agent_gain_sigma'], '+.1f'):>5s} "
              f"{fmt(r['seconds'], '.0f'):>6s}")
        print(f"    objects: model {fmt(r['psnr_db_objects'])} dB, copy-through-VAE "
              f"{fmt(r['psnr_db_objects_copy_vae'])}, VAE ceiling {fmt(r['psnr_db_objects_vae_ceiling'])}; "
              f"sharpness (high-frequency energy ÷ the game's) teacher-forced {fmt(r['sharpness'])}, "
              f"autoregressive {fmt(r['sharpness_autoregressive'])}")
        print("    " + ", ".join(f"{k}: {'PASS' if v else 'FAIL'}" for k, v in r["pass"].items()))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", default="tiny", choices=["tiny", "small"])
    p.add_argument("--out", default="runs/bench-quality", help="folder for the run(s)")
    p.add_argument("--study", action="store_true", help="also run every setting of STUDY")
    p.add_argument("--set", action="append", default=[], dest="sets", help="extra config overrides")
    p.add_argument("--samplers", metavar="RUN", help="re-run only the rollout of a finished run once per "
                   "SAMPLERS setting (its metrics.json is left with the last one)")
    args = p.parse_args()
    if args.samplers:
        run, rows = Path(args.samplers), []
        for label, sets in SAMPLERS.items():
            secs = almost_run(run, args.profile, ["rollout"], [*args.sets, *sets], force=True)
            rows.append(report(run, args.profile, label, secs))
        print_rows(rows)
        return
    base = Path(args.out) / args.profile
    if not args.study:
        secs = almost_run(base, args.profile, [], args.sets)
        print_rows([report(base, args.profile, f"{args.profile} (whole pipeline)", secs)])
        return
    data = Path(args.out) / f"{args.profile}-data"
    data_secs = almost_run(data, args.profile, DATA_STAGES, args.sets)
    rows = []
    for i, (label, sets) in enumerate(STUDY.items()):
        out = Path(args.out) / f"{args.profile}-study-{i}"
        if not (out / "rollout").exists():
            shutil.rmtree(out, ignore_errors=True)
            shutil.copytree(data, out)
        secs = almost_run(out, args.profile, MODEL_STAGES, [*args.sets, *sets], force=True)
        rows.append(report(out, args.profile, label, data_secs + secs))
    print_rows(rows)


if __name__ == "__main__":
    main()
