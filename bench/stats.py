"""Percentiles, summaries and the printed table."""

from __future__ import annotations

import math
from typing import Any


def pct(xs: list[float], q: float) -> float:
    """Nearest-rank percentile (p95 of 20 values is the 19th)."""
    s = sorted(xs)
    return s[max(0, math.ceil(q / 100 * len(s)) - 1)]


def summary(seconds: list[float]) -> dict[str, Any]:
    ms = [x * 1000 for x in seconds]
    return {"n": len(ms), "p50_ms": round(pct(ms, 50), 1), "p95_ms": round(pct(ms, 95), 1),
            "min_ms": round(min(ms), 1), "max_ms": round(max(ms), 1)}


def ratio(a: dict[str, Any] | None, b: dict[str, Any] | None, key: str = "p50_ms") -> float | None:
    if not a or not b or not b.get(key):
        return None
    return round(a[key] / b[key], 2)


def table(rows: list[dict[str, Any]]) -> str:
    """rows: {what, kukeon, baseline_name, baseline, target} with summaries or plain values."""
    def cell(v: Any) -> str:
        if v is None:
            return "-"
        if isinstance(v, dict):
            return f"{v['p50_ms']:.0f} / {v['p95_ms']:.0f} ms"
        return str(v)

    head = ("what", "kukeon p50 / p95", "baseline", "baseline p50 / p95", "ratio p50", "target")
    body = [(r["what"], cell(r.get("kukeon")), r.get("baseline_name") or "-",
             cell(r.get("baseline")), cell(r.get("ratio")), r.get("target") or "")
            for r in rows]
    widths = [max(len(str(x[i])) for x in [head, *body]) for i in range(len(head))]
    line = lambda cols: "  ".join(str(c).ljust(w) for c, w in zip(cols, widths, strict=True))  # noqa: E731
    return "\n".join([line(head), line(["-" * w for w in widths]), *map(line, body)])
