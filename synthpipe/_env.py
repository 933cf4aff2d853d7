"""Environment defaults that keep every library offline and quiet (a user's setting wins).

Imported before Prefect, Great Expectations or torch load, since they read these at import.
"""

from __future__ import annotations

import ctypes
import os
import sys

PHONE_HOME_OFF = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "GX_ANALYTICS_ENABLED": "false",
    "SDV_DISABLE_TELEMETRY": "1",
    # A fresh PREFECT_HOME on 2 cores can take more than Prefect's default 20 s to start.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
}


def quiet_defaults(extra: dict[str, str] | None = None) -> None:
    """Set the phone-home-off defaults (and ``extra``) unless the user set them."""
    for key, value in {**PHONE_HOME_OFF, **(extra or {})}.items():
        os.environ.setdefault(key, value)


#: Spin iterations of an idle OpenMP thread before it sleeps (libgomp's GOMP_SPINCOUNT).
#: torch's CPU ops run in OpenMP parallel regions, a few hundred per training step of a small
#: table model, microseconds apart. Measured on 2 cores (bench/bench_threads.py, medians of 3,
#: ms per training step on adult, tvae / tabddpm / flow): sleeping at once
#: (OMP_WAIT_POLICY=PASSIVE) pays a wake-up per region, 21.7 / 39.1 / 37.6 alone; libgomp's
#: own default (300,000 spins) is fastest alone, 7.4 / 21.9 / 25.5, but when two trainings
#: share the cores their spinning threads starve each other, 267 / 736 / 692. 3,000 spins
#: bridge most gaps within a step, 10.3 / 30.1 / 28.8 alone and 26.3 / 53.8 / 59.1 in a pair.
GOMP_SPINCOUNT = "3000"


def thread_wait_defaults() -> None:
    """Bounded OpenMP spinning, unless the user chose a wait policy or spin count.

    Must run before torch is imported: libgomp reads its environment once, when it loads.
    """
    if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
        os.environ["GOMP_SPINCOUNT"] = GOMP_SPINCOUNT


#: glibc malloc settings applied by :func:`malloc_defaults` (bytes). Blocks up to
#: MALLOC_MMAP_THRESHOLD come from the heap, and up to MALLOC_TRIM_THRESHOLD of free memory at
#: its top stays in the process. glibc's defaults return freed activation buffers (MBs each) to
#: the kernel, so every new one is page-faulted back in at every sampling step; keeping them
#: makes sampling faster at the same peak memory (docs/cpu-efficiency.md). Larger blocks (a big
#: table's tensors) are still mapped and unmapped on their own.
MALLOC_MMAP_THRESHOLD = 32 * 2**20
MALLOC_TRIM_THRESHOLD = 256 * 2**20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameter numbers (malloc.h)


def malloc_defaults() -> bool:
    """Keep freed tensor buffers for reuse (glibc's ``mallopt``), unless the user set
    ``MALLOC_MMAP_THRESHOLD_`` or ``MALLOC_TRIM_THRESHOLD_``, or the C library is not glibc.

    Takes effect at once for the whole process (no restart). Returns whether it was applied.
    """
    if not sys.platform.startswith("linux"):
        return False
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or "MALLOC_TRIM_THRESHOLD_" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MALLOC_MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, MALLOC_TRIM_THRESHOLD))
