"""Batches for answer-only training: packed rows without cross-example attention, or padding.

Packing puts whole examples one after another in a row of ``batch_tokens`` and restarts
``position_ids`` at 0 for each example, with no attention mask: transformers (>= 4.53) then
builds a block-diagonal causal mask from the position ids (``find_packed_sequence_indices``)
for sdpa/eager, and flash-attention uses them as sequence boundaries, so no example attends
to another. Labels are -100 on prompts, padding and the first token of each example.
"""

from __future__ import annotations

from collections.abc import Sequence


def pack(examples: Sequence[tuple[list[int], list[int]]], row_tokens: int) -> list[list[tuple[list[int], list[int]]]]:
    """Greedy first-fit of examples (in order) into rows of at most ``row_tokens`` tokens."""
    rows: list[list] = []
    sizes: list[int] = []
    for ex in examples:
        n = len(ex[0])
        for i, s in enumerate(sizes):
            if s + n <= row_tokens:
                rows[i].append(ex)
                sizes[i] += n
                break
        else:
            rows.append([ex])
            sizes.append(n)
    return rows


def collate_packed(rows: Sequence[Sequence[tuple[list[int], list[int]]]], pad_id: int) -> dict:
    """Tensors for packed rows: ``input_ids``, ``labels``, ``position_ids`` (no attention mask)."""
    import torch

    width = max(sum(len(ids) for ids, _ in row) for row in rows)
    ids_t = torch.full((len(rows), width), pad_id, dtype=torch.long)
    lab_t = torch.full((len(rows), width), -100, dtype=torch.long)
    pos_t = torch.zeros((len(rows), width), dtype=torch.long)
    for r, row in enumerate(rows):
        at = 0
        for ids, labels in row:
            n = len(ids)
            ids_t[r, at:at + n] = torch.tensor(ids)
            lab_t[r, at:at + n] = torch.tensor(labels)
            lab_t[r, at] = -100  # never predict across the example boundary
            pos_t[r, at:at + n] = torch.arange(n)
            at += n
        if at < width:  # padding continues the positions of a separate dummy "example"
            pos_t[r, at:] = torch.arange(width - at)
    return {"input_ids": ids_t, "labels": lab_t, "position_ids": pos_t}


def collate_padded(batch: Sequence[tuple[list[int], list[int]]], pad_id: int) -> dict:
    """Right-padded tensors with an attention mask (one example per row)."""
    import torch

    width = max(len(ids) for ids, _ in batch)
    ids_t = torch.full((len(batch), width), pad_id, dtype=torch.long)
    lab_t = torch.full((len(batch), width), -100, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for r, (ids, labels) in enumerate(batch):
        ids_t[r, : len(ids)] = torch.tensor(ids)
        lab_t[r, : len(ids)] = torch.tensor(labels)
        mask[r, : len(ids)] = 1
    return {"input_ids": ids_t, "labels": lab_t, "attention_mask": mask}
