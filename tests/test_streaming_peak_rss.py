"""Peak resident memory of the streamed readers, as users' tools measure it.

``/usr/bin/time -v`` and ``ru_maxrss`` report the kernel's high-water mark of a process's
resident set (``VmHWM``), and the pages of a memory-mapped file count there while they
are mapped.
Releasing pages *after* a pass (tests/test_streaming.py checks that) is not enough: a
batch of scattered rows read through the map faults in a whole page-cache folio around
each row (64 KiB to 2 MiB on Linux), so 2,048 rows of a 5 GB file once showed 1 GB
resident. These tests run the readers in a fresh process and compare its peak at the
end with its peak after the imports. (``VmHWM`` rather than ``ru_maxrss``: Linux starts a
child's ``ru_maxrss`` at the peak of the process that forked it, here pytest.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
ROWS, DIMS = 1_600_000, 32  # float32: a 205 MB file

CHILD = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import lps_eval
    from lps_eval import streaming
    from lps_eval._random import shuffled_rows

    def peak_kib():  # the kernel's high-water mark of this process's resident set
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])

    z = np.load(sys.argv[1], mmap_mode="r")
    base = peak_kib()  # after the imports
    rng = np.random.default_rng(0)
    rows = np.sort(rng.choice(z.shape[0], 3000, replace=False))
    scattered = streaming.take_rows(z, rows)  # like a section's 3,000-row subsample
    ordered = streaming.take_rows(z, shuffled_rows(z, 3000, rng))  # MMD's sample
    low, high = streaming.column_range(z)  # a sequential pass
    print(json.dumps({"base_kib": base, "peak_kib": peak_kib(),
                      "check": float(scattered.sum() + ordered.sum() + low.min())}))
    """
)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_scattered_and_streamed_reads_keep_the_file_out_of_peak_rss(tmp_path):
    path = tmp_path / "z.npy"
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(ROWS, DIMS))
    rng = np.random.default_rng(1)
    for lo in range(0, ROWS, 200_000):
        out[lo : lo + 200_000] = rng.standard_normal((200_000, DIMS), dtype=np.float32)
    out.flush()
    del out
    file_mib = path.stat().st_size / 2**20
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    grown_mib = (report["peak_kib"] - report["base_kib"]) / 1024
    # What the readers allocate: a block of rows (65,536 x 32 float64 + its raw bytes,
    # 24 MiB), the row order's keys and indices (20 bytes a row, 31 MiB) and the rows
    # taken (1.5 MiB): 55 MiB measured. Reading 3,000 scattered rows through the map in
    # batches of 2,048 added about 2,048 x 64 KiB = 128 MiB of file pages (122 measured).
    assert grown_mib < 90, f"peak RSS grew by {grown_mib:.0f} MiB over a {file_mib:.0f} MiB file"
    assert np.isfinite(report["check"])
