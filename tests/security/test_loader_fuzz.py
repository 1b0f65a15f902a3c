"""Hypothesis fuzzing of the loader with near-valid manifests: a valid Cell (or Realm,
Space, Stack) with a few mutations, as YAML or JSON, and raw text edits of a valid file.
Whatever comes in: no exception, every error names the file and a line, resources only
when there is no error, and nothing touches the host."""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kukeon.manifests import LoadResult, load_text
from tests.security.audit import effects
from tests.security.hostile import HOSTILE_NAMES

BASE: dict[str, Any] = {
    "apiVersion": "v1beta1",
    "kind": "Cell",
    "metadata": {"name": "web", "labels": {"app": "web"}},
    "spec": {
        "realmId": "default",
        "containers": [
            {
                "id": "main",
                "image": "busybox",
                "command": ["/bin/sh", "-c", "sleep 1"],
                "env": {"A": "1"},
                "ports": [{"containerPort": 80, "hostPort": 8080}],
                "volumes": [{"source": "/srv", "target": "/data", "readOnly": True}],
                "resources": {"memoryLimitBytes": 67108864, "cpuShares": 512},
                "restartPolicy": "always",
            }
        ],
        "dependsOn": ["db"],
    },
}
OTHERS = [
    {"apiVersion": "v1beta1", "kind": k, "metadata": {"name": "x"}, "spec": {}}
    for k in ("Realm", "Space", "Stack")
]
KEYS = ["apiVersion", "kind", "metadata", "name", "spec", "id", "containers", "image",
        "realmId", "spaceId", "ports", "hostIP", "volumes", "source", "privileged", "<<",
        "dependsOn", "cell", "env", "capabilities", "add"]  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(list(HOSTILE_NAMES.values())),
    st.sampled_from(["default", "main", "Cell", "v1beta1", "../..", "/", "0.0.0.0", "ALL"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), inner, max_size=4),
    ),
    max_leaves=12,
)


def _containers(doc: Any) -> list[tuple[Any, Any]]:
    """(parent, key) of every value in ``doc``."""
    out: list[tuple[Any, Any]] = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.append((doc, k))
            out.extend(_containers(v))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out.append((doc, i))
            out.extend(_containers(v))
    return out


@st.composite
def near_valid(draw: st.DrawFn) -> Any:
    doc = copy.deepcopy(draw(st.sampled_from([BASE, *OTHERS])))
    for _ in range(draw(st.integers(1, 4))):
        spots = _containers(doc)
        parent, key = draw(st.sampled_from(spots))
        action = draw(st.sampled_from(["replace", "delete", "add", "wrap"]))
        if action == "replace":
            parent[key] = draw(VALUES)
        elif action == "delete":
            del parent[key]
        elif action == "wrap":
            parent[key] = [parent[key]]
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(KEYS))] = draw(VALUES)
        else:
            parent.append(draw(VALUES))
    return doc


def as_text(doc: Any, style: str) -> str:
    if style == "json":
        return json.dumps(doc, allow_nan=True)
    if style == "flow":
        return yaml.safe_dump(doc, default_flow_style=True)
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


SNIPPETS = ["&a ", "*a", "!!python/object:os.system ", "!x ", "<<: *a\n", "%TAG ! tag:x\n",
            "---\n", "...\n", "{", "[", "\t", "\x00", "\ufeff", "? ", ": ", "- ", "#", "\"",
            "'", "\\u0000", "\n  ", "|\n", ">-\n", "~", "0x1F", "1e400", ".nan"]  # fmt: skip


@st.composite
def edited_text(draw: st.DrawFn) -> str:
    text = as_text(BASE, draw(st.sampled_from(["block", "flow", "json"])))
    for _ in range(draw(st.integers(1, 5))):
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 5))
        text = text[:at] + draw(st.one_of(st.sampled_from(SNIPPETS), st.text(max_size=5))) + text[at + cut :]
    return text


def check(result: LoadResult, source: str) -> None:
    if result.errors:
        assert not result.resources
    for e in (*result.errors, *result.warnings):
        assert e.location.file == source
        assert e.location.line is None or e.location.line >= 1
        assert e.message and "Traceback" not in str(e)
    for r in result.resources:
        assert r.origin.startswith(source + ":")


FUZZ = settings(
    max_examples=400,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@FUZZ
@given(doc=near_valid(), style=st.sampled_from(["block", "flow", "json"]))
def test_near_valid_documents(doc: Any, style: str) -> None:
    text = as_text(doc, style)
    with effects() as seen:
        start = time.perf_counter()
        result = load_text(text, "fuzz.yaml")
        seconds = time.perf_counter() - start
    check(result, "fuzz.yaml")
    assert seconds < 2.0 and not seen, (seconds, seen)


@FUZZ
@given(text=edited_text())
def test_edited_text(text: str) -> None:
    with effects() as seen:
        result = load_text(text, "fuzz.yaml")
    check(result, "fuzz.yaml")
    assert not seen, seen


def test_the_unmutated_bases_are_valid() -> None:
    """Control: mutations start from valid documents, so refusals are the mutations'."""
    for doc in (BASE, *OTHERS):
        for style in ("block", "flow", "json"):
            result = load_text(as_text(doc, style), "base.yaml")
            assert not result.errors, [str(e) for e in result.errors]
