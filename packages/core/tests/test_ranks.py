"""almost.ranks: shares of every rank cover the items once, in whole batches, and merge back in order."""

from __future__ import annotations

import pytest

from almost import ranks


@pytest.mark.parametrize("n,chunk,world", [(10, 3, 2), (7, 1, 3), (2, 4, 2), (0, 2, 2), (9, 2, 1)])
def test_shares_cover_every_item_once_and_merge_back(monkeypatch, n, chunk, world):
    items = [f"job{i}" for i in range(n)]
    monkeypatch.setenv("WORLD_SIZE", str(world))
    parts, rounds = [], []
    for r in range(world):
        monkeypatch.setenv("RANK", str(r))
        parts.append(ranks.share(items, chunk))
        rounds.append(list(ranks.in_rounds(items, chunk)))
    assert sorted(x for p in parts for x in p) == sorted(items)
    assert ranks.merge(parts, n, chunk) == items
    # whole batches: each chunk of one process is a batch one process would have made
    batches = [items[a:a + chunk] for a in range(0, n, chunk)]
    for r, p in enumerate(parts):
        assert p == [x for b in batches[r::world] for x in b]
    # rounds: the same count everywhere, and each round's chunks in rank order are the items in order
    assert len({len(x) for x in rounds}) == 1
    flat = [x for k in range(len(rounds[0])) for r in range(world) for x in rounds[r][k]]
    assert flat == items


def test_alone_share_is_everything_and_gather_a_list(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.delenv("RANK", raising=False)
    assert ranks.share([1, 2, 3], 2) == [1, 2, 3] and ranks.gather("x") == ["x"] and ranks.is_main()
    with pytest.raises(ValueError):
        monkeypatch.setenv("WORLD_SIZE", "2")
        ranks.merge([[1], [2, 3]], 3, 1)
