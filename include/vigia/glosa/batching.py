"""Group segments into a bounded number of mapped tasks.

A month holds thousands of segments, most of them tiny. One mapped task per
segment would spend more time in scheduling and process start-up (about a
second or two per task instance) than in K-Means, flood the grid view, and hit
Airflow's ``max_map_length`` (1024) at scale. Segments are therefore packed into
at most ``MAX_BATCHES`` = 32 batches: enough to keep every worker slot of a
small Celery deployment busy and to let a retry redo a small share of the work,
few enough to stay readable in the UI.

Packing is longest-processing-time first: segments sorted by estimated cost,
each to the currently lightest batch. Cost is the segment's rows plus a fixed
``SEGMENT_OVERHEAD`` (13 K-Means fits cost something even on 5 rows).
"""

from __future__ import annotations

import heapq

import pandas as pd

MAX_BATCHES = 32
SEGMENT_OVERHEAD = 300


def plan_batches(segments: pd.DataFrame, max_batches: int = MAX_BATCHES) -> list[list[int]]:
    """Segment ids per batch; every segment exactly once, no empty batch, at most ``max_batches``."""
    if max_batches < 1:
        raise ValueError(f"max_batches must be at least 1, got {max_batches}")
    n = min(max_batches, len(segments))
    if n == 0:
        return []
    order = segments.assign(cost=segments["rows"] + SEGMENT_OVERHEAD).sort_values(
        ["cost", "segment_id"], ascending=[False, True]
    )
    heap = [(0, b) for b in range(n)]
    batches: list[list[int]] = [[] for _ in range(n)]
    for seg_id, cost in zip(order["segment_id"], order["cost"]):
        load, b = heapq.heappop(heap)
        batches[b].append(int(seg_id))
        heapq.heappush(heap, (load + int(cost), b))
    return [sorted(b) for b in batches]
