"""keep_freed_memory: a stacked step's large activations reuse pages instead of faulting in
fresh ones (counted as minor page faults in a fresh process, not timed)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from lucas2019.allocator import _glibc

#: one activation of a stacked digits step: 16 members x 1,000 examples x 128 floats (8 MiB)
ACTIVATION = 16 * 1000 * 128
PAGES = ACTIVATION * 4 // 4096
#: minor page faults of 20 steps that each make and free activations of three sizes, after 30
#: steps to settle, in a fresh process (a test session's allocator state is not fresh); argv[1]:
#: 'keep' runs them within keep_freed_memory
COUNT = f"""
import contextlib, resource, sys, torch
from lucas2019.allocator import keep_freed_memory
torch.set_num_threads(1)
x = torch.randn({ACTIVATION})

def step():
    half = torch.ones({ACTIVATION // 2})
    (x.clamp_min(0) * half.repeat(2) + 1).sum()

def page_faults(steps):
    start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(steps):
        step()
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start

with keep_freed_memory() if sys.argv[1] == "keep" else contextlib.nullcontext(True) as applied:
    page_faults(30)
    print(applied, page_faults(20))
"""


def page_faults(mode: str) -> tuple[str, int]:
    # glibc's default mmap threshold (128 KiB), held fixed: by default glibc raises it after the
    # first large free, which made the count without the block depend on the heap's history
    # (now and then 0 instead of tens of thousands)
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(128 * 1024)}
    out = subprocess.run(
        [sys.executable, "-c", COUNT, mode], check=True, capture_output=True, text=True, env=env
    )
    applied, faults = out.stdout.split()
    return applied, int(faults)


@pytest.mark.skipif(_glibc() is None, reason="the setting applies to glibc's malloc only")
def test_freed_activations_are_reused_within_the_block():
    applied, kept = page_faults("keep")
    _, default = page_faults("default")
    assert applied == "True"
    assert default > 5 * PAGES  # glibc's default threshold: fresh pages step after step
    assert kept < PAGES  # within the block: the same pages (0 to 1,000 here)
