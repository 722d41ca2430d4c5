""":mod:`almost_gamengen.cpu_share`: threads follow the cores other processes leave."""

from __future__ import annotations

import torch


# -- threads ----------------------------------------------------------------------------------
def test_threads_follow_the_cores_other_processes_leave(monkeypatch):
    from almost_gamengen import cpu_share

    monkeypatch.delenv("ALMOST_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("ALMOST_USER_OMP_NUM_THREADS", raising=False)
    clock = {"t": 0.0, "busy": 0.0, "own": 0.0}
    monkeypatch.setattr(cpu_share.time, "monotonic", lambda: clock["t"])
    monkeypatch.setattr(cpu_share.time, "process_time", lambda: clock["own"])
    monkeypatch.setattr(cpu_share, "_busy_jiffies", lambda cpus: clock["busy"])
    monkeypatch.setattr("almost.train.threads.available_cores", lambda: 2)
    hz = cpu_share.os.sysconf("SC_CLK_TCK")
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        r = cpu_share.ThreadRetune(every_s=10)
        assert r.enabled and r() is None  # not yet time
        # 10 s: the machine was busy 10 CPU-s, all of it ours → the other core is idle: use 2
        clock.update(t=10.0, busy=10 * hz, own=10.0)
        assert r() == 2 and torch.get_num_threads() == 2
        # next 10 s: 30 CPU-s... on 2 cores that is 20 busy, 10 of them someone else's → 1
        clock.update(t=20.0, busy=30 * hz, own=20.0)
        assert r() == 1 and torch.get_num_threads() == 1 and r.changes == 2
        monkeypatch.setenv("ALMOST_THREADS", "2")  # the user's choice is left alone
        assert not cpu_share.ThreadRetune().enabled
    finally:
        torch.set_num_threads(before)
