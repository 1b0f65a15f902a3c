"""Limits in the kernel's terms.

The kernel rounds some values (memory to pages; cgroup v2 has cpu.weight where v1 had
cpu.shares). Drivers report observed limits converted back into kukeon's terms, and the
planner compares them with ``effective(desired, mode)``, so a limit the kernel rounded is
not rewritten on every pass.
"""

from __future__ import annotations

from dataclasses import replace

from kukeon.model.resources import Resources

PAGE = 4096
CPU_PERIOD_US = 100_000
DEFAULT_SHARES = 1024
DEFAULT_WEIGHT = 100


def shares_to_weight(shares: int) -> int:
    """The conversion runc and systemd use (cgroup v1 shares -> v2 weight)."""
    shares = max(2, min(shares, 262144))
    return 1 + ((shares - 2) * 9999) // 262142


def weight_to_shares(weight: int) -> int:
    """The smallest shares value that maps to ``weight``."""
    lo, hi = 2, 262144
    while lo < hi:
        mid = (lo + hi) // 2
        if shares_to_weight(mid) < weight:
            lo = mid + 1
        else:
            hi = mid
    return lo


def millis_to_quota(millis: int) -> int:
    return millis * CPU_PERIOD_US // 1000


def quota_to_millis(quota: int) -> int:
    return quota * 1000 // CPU_PERIOD_US


def effective(limits: Resources, mode: str) -> Resources:
    """What observe() will report after ``limits`` were written on a host in ``mode``."""
    out = limits
    if out.memory_limit_bytes is not None:
        out = replace(out, memory_limit_bytes=(out.memory_limit_bytes // PAGE) * PAGE)
    if out.cpu_shares is not None:
        shares = max(2, min(out.cpu_shares, 262144))
        if mode == "unified":
            weight = shares_to_weight(shares)
            shares = weight_to_shares(weight)
            default = weight == DEFAULT_WEIGHT
        else:
            default = shares == DEFAULT_SHARES
        # the kernel's default reads back as "unset"
        out = replace(out, cpu_shares=None if default else shares)
    return out
