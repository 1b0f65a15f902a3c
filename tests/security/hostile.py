"""Hostile inputs shared by the loader and API suites: one entry per class, each with the
field and line an error must name. Texts are built here so both suites send the same bytes."""

from __future__ import annotations

import json
from dataclasses import dataclass

from kukeon.manifests.yamlpos import MAX_ALIAS_EXPANSION, MAX_BYTES, MAX_EVENTS

# Names that must never become a path segment, a containerd id, an iptables chain or an
# argument: traversal, NUL, shell and iptables syntax, over-long, unicode look-alikes.
HOSTILE_NAMES: dict[str, str] = {
    "slash": "a/b",
    "dotdot": "..",
    "dotdot-path": "../../etc",
    "dot": ".",
    "absolute": "/etc/passwd",
    "nul": "web\x00x",
    "newline": "web\nx",
    "tab": "web\tx",
    "space": "web x",
    "empty": "",
    "shell-subst": "$(reboot)",
    "shell-backtick": "`id`",
    "shell-chain": "a;rm -rf /",
    "shell-pipe": "a|sh",
    "shell-and": "a&&b",
    "glob": "*",
    "iptables-jump": "-j ACCEPT",
    "iptables-flag": "--dport",
    "iptables-negate": "! -s 0/0",
    "leading-dash": "-web",
    "trailing-dash": "web-",
    "upper": "Web",
    "dot-inside": "web.x",
    "over-long-64": "a" * 64,
    "over-long-64k": "a" * 65536,
    "cyrillic-a": "web\u0430",  # looks like "weba"
    "fullwidth": "\uff57\uff45\uff42",  # "web" in fullwidth letters
    "zero-width": "we\u200bb",
    "one-dot-leader": "web\u2024x",  # looks like "web.x"
    "arabic-digit": "web\u0661",
    "sharp-s": "stra\u00dfe",
    "rtl-override": "web\u202ex",
}


def q(value: str) -> str:
    """``value`` as a YAML double-quoted scalar (JSON strings are YAML)."""
    return json.dumps(value, ensure_ascii=False)


CELL = """\
apiVersion: v1beta1
kind: Cell
metadata:
  name: {name}
spec:
  id: {id}
  realmId: {realm}
  spaceId: {space}
  stackId: {stack}
  rootContainerId: {root}
  dependsOn: [{dep}]
  containers:
    - id: {ctr}
      image: busybox
      ports: [{{containerPort: 80, hostPort: 8080, hostIP: {hostip}}}]
"""
# field in errors -> placeholder in CELL
CELL_FIELDS = {
    "metadata.name": "name",
    "spec.id": "id",
    "spec.realmId": "realm",
    "spec.spaceId": "space",
    "spec.stackId": "stack",
    "spec.rootContainerId": "root",
    "spec.dependsOn[0]": "dep",
    "spec.containers[0].id": "ctr",
}
_GOOD = {
    "name": "web", "id": "web", "realm": "default", "space": "default", "stack": "default",
    "root": "main", "dep": "db", "ctr": "main", "hostip": "127.0.0.1",
}  # fmt: skip


def cell_with(placeholder: str, value: str) -> tuple[str, int]:
    """A Cell valid but for ``value`` at ``placeholder``, and the line it is on."""
    values = {k: q(v) for k, v in _GOOD.items()}
    values[placeholder] = q(value)
    text = CELL.format(**values)
    line = next(
        i for i, row in enumerate(CELL.splitlines(), 1) if "{" + placeholder + "}" in row
    )
    return text, line


def realm_named(value: str) -> str:
    return f"apiVersion: v1beta1\nkind: Realm\nmetadata:\n  name: {q(value)}\n"


@dataclass(frozen=True)
class Hostile:
    """A hostile document: its text, what one of its errors must say (a substring of the
    message or hint), and that error's line and field (None: not checked)."""

    text: str
    says: str
    line: int | None = None
    field: str | None = None


def _bomb(levels: int = 9, width: int = 9) -> str:
    rows = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels):
        rows.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(rows) + "\n"


def _deep_block(depth: int) -> str:
    return "".join(" " * i + "a:\n" for i in range(depth)) + " " * depth + "b\n"


HOSTILE_DOCS: dict[str, Hostile] = {
    "alias-bomb": Hostile(_bomb(), "alias bomb"),
    # each document stays under the cap; the cap is per input
    "alias-bomb-across-documents": Hostile(
        "\n---\n".join([_bomb(levels=4, width=10)] * (MAX_ALIAS_EXPANSION // 1000 + 5)),
        "alias bomb",
    ),
    "merge-key-bomb": Hostile(
        "a: &a {x: 1, y: 2}\n"
        + "".join(
            f"m{i}: &m{i}\n  <<: [{', '.join([f'*m{i - 1}' if i else '*a'] * 9)}]\n  k{i}: 1\n"
            for i in range(9)
        ),
        "alias bomb",
    ),
    "python-object-apply": Hostile(
        "!!python/object/apply:os.system ['touch {marker}']\n", "YAML tag", 1
    ),
    "python-object-new": Hostile(
        "apiVersion: v1beta1\nkind: Cell\nmetadata: !!python/object/new:os.system"
        " ['touch {marker}']\n",
        "YAML tag",
        3,
        "metadata",
    ),
    "python-name": Hostile("kind: !!python/name:os.system\n", "YAML tag", 1, "kind"),
    "python-module": Hostile("kind: !!python/module:os\n", "YAML tag", 1, "kind"),
    "tag-directive": Hostile(
        "%TAG !p! tag:yaml.org,2002:python/\n---\n!p!object/apply:os.system ['touch {marker}']\n",
        "YAML tag",
        3,
    ),
    "local-tag": Hostile("kind: !Cell Cell\n", "YAML tag", 1, "kind"),
    "binary": Hostile("kind: !!binary Q2VsbA==\n", "YAML tag", 1, "kind"),
    "set": Hostile("kind: !!set {a, b}\n", "YAML tag", 1, "kind"),
    "omap": Hostile("kind: !!omap [a: 1]\n", "YAML tag", 1, "kind"),
    "tag-on-key": Hostile("!!python/name:os.system kind: Cell\n", "YAML tag", 1),
    "over-size": Hostile("#" * (MAX_BYTES + 1), "larger than"),
    # under MAX_BYTES characters, over it in UTF-8
    "over-size-utf8": Hostile("# " + "\u00e9" * (MAX_BYTES // 2 + 1), "larger than"),
    "value-flood": Hostile("a:\n" + "- 1\n" * (MAX_BYTES // 4 - 2), "YAML values", None),
    "flow-flood": Hostile("[" + "1," * MAX_EVENTS + "1]", "YAML values", 1),
    "deep-flow": Hostile("a: " + "[" * 100_000 + "]" * 100_000 + "\n", "nesting depth", 1),
    "deep-flow-map": Hostile("a: " + "{a: " * 50_000 + "1" + "}" * 50_000 + "\n", "nesting"),
    "deep-block": Hostile(_deep_block(2000), "nest"),
    "deep-json-tabs": Hostile('{\t"a":' * 200_000 + "1" + "}" * 200_000, "nested too deeply", 1),
    "error-flood": Hostile("---\nkind: Cell\n" * 10_000, "more than 100 errors"),
    "recursive-alias": Hostile("a: &a [*a]\n", "alias", 1),
    "duplicate-keys": Hostile("kind: Cell\nkind: Realm\n", "duplicate key", 2, "kind"),
    "nul-byte": Hostile("a: 1\nkind: Cell\x00\n", "U+0000", 2),
    "control-char": Hostile("a: 1\nkind: Ce\x07ll\n", "U+0007", 2),
    "surrogate-escape": Hostile('kind: "\\ud800"\n', "invalid Unicode", 1),
}
