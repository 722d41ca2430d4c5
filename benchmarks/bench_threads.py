"""Training speed with torch's default CPU threads vs Almost's thread policy (almost.train.threads).

    uv run python benchmarks/bench_threads.py [--seconds 8]

A small conv net (the size of the tiny profiles' models) trains for a fixed time with each
thread count, alternating, in one process; the table shows steps/s and the ratio to torch's
default. On an idle machine the policy picks every core and the two agree; on a busy one it
picks fewer threads and avoids the slowdown of threads waiting for descheduled peers.
"""

from __future__ import annotations

import argparse
import os
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=8.0, help="training time per measurement")
    args = ap.parse_args()
    os.environ.pop("OMP_NUM_THREADS", None)
    import torch

    from almost.train import threads

    default = torch.get_num_threads()
    policy = threads.cpu_budget(env={})
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(4, 64, 3, padding=1), torch.nn.SiLU(),
                              torch.nn.Conv2d(64, 64, 3, padding=1), torch.nn.SiLU(),
                              torch.nn.Conv2d(64, 4, 3, padding=1))
    opt = torch.optim.AdamW(net.parameters())
    x = torch.randn(8, 4, 32, 40)

    def rate(n: int) -> float:
        torch.set_num_threads(n)
        t0, k = time.perf_counter(), 0
        while time.perf_counter() - t0 < args.seconds:
            loss = net(x).square().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            k += 1
        return k / (time.perf_counter() - t0)

    results: dict[str, list[float]] = {"torch default": [], "almost policy": []}
    for _ in range(2):  # alternate, so a change in load hits both
        results["torch default"].append(rate(default))
        results["almost policy"].append(rate(policy))
    print(f"cores available {threads.available_cores()}, 1-min load {os.getloadavg()[0]:.1f}, "
          f"torch default {default} threads, policy {policy}")
    base = sum(results["torch default"]) / 2
    for label, rs in results.items():
        mean = sum(rs) / len(rs)
        print(f"{label:<14} {mean:6.2f} steps/s  {mean / base:5.2f}×")


if __name__ == "__main__":
    main()
