"""Shared helpers for the benchmark scripts: medians of interleaved rounds, never single times."""

from __future__ import annotations

import statistics
import time
from typing import Callable


def median_time(fn: Callable[[], object], *, rounds: int = 7, number: int = 1) -> float:
    """Median seconds per call of ``fn`` over ``rounds`` rounds of ``number`` calls."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - start) / number)
    return statistics.median(samples)


def interleaved_samples(candidates: dict[str, Callable[[], object]], *, rounds: int = 9,
                        number: int = 1) -> dict[str, list[float]]:
    """Seconds per call of each round for each candidate, measured round-robin so machine noise hits all alike."""
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(rounds):
        for name, fn in candidates.items():
            start = time.perf_counter()
            for _ in range(number):
                fn()
            samples[name].append((time.perf_counter() - start) / number)
    return samples


def interleaved(candidates: dict[str, Callable[[], object]], *, rounds: int = 9, number: int = 1) -> dict[str, float]:
    """Median seconds per call for each candidate (see ``interleaved_samples``)."""
    samples = interleaved_samples(candidates, rounds=rounds, number=number)
    return {name: statistics.median(values) for name, values in samples.items()}
