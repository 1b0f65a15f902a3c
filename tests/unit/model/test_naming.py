"""Host names derived from identity: within the host's limits and collision-free."""

from __future__ import annotations

import random
import re

import pytest

from kukeon.model.identity import ResourcePath
from kukeon.model.naming import Naming

CONTAINERD_ID = re.compile(r"^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$")
ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789-"


def _label(rng: random.Random) -> str:
    n = rng.choice([1, 2, 5, 12, 30, 63])
    if n == 1:
        return rng.choice("abc0")
    middle = "".join(rng.choice(ALPHABET) for _ in range(n - 2))
    return rng.choice("ab1") + middle + rng.choice("xy9")


def _paths(seed: int, count: int, depth: int) -> set[ResourcePath]:
    rng = random.Random(seed)
    return {ResourcePath(tuple(_label(rng) for _ in range(depth))) for _ in range(count)}


@pytest.mark.parametrize("seed", range(5))
def test_containerd_ids_fit_and_never_collide(seed: int) -> None:
    naming = Naming("kukeon")
    # same realm: ids are unique per containerd namespace
    paths = {ResourcePath(("r", *p.segments)) for p in _paths(seed, 4000, 4)}
    ids = {naming.container_id(p) for p in paths}
    assert len(ids) == len(paths)
    for i in ids:
        assert len(i) <= 76 and CONTAINERD_ID.match(i), i


def test_readable_and_hashed_forms_cannot_collide() -> None:
    naming = Naming("kukeon")
    short = ResourcePath.of("r", "a", "b", "c", "d")
    assert naming.container_id(short) == "a_b_c_d"
    dashes = ResourcePath.of("r", "a--b", "b", "c", "d")  # containerd rejects "--"
    hashed = naming.container_id(dashes)
    assert "." in hashed and CONTAINERD_ID.match(hashed)


@pytest.mark.parametrize("seed", range(3))
def test_bridges_chains_and_cni_ids_fit_and_differ(seed: int) -> None:
    naming = Naming("kt1234")
    spaces = _paths(seed, 3000, 2)
    bridges = {naming.bridge(s) for s in spaces}
    chains = {naming.chain("EG", s) for s in spaces}
    assert len(bridges) == len(spaces) and len(chains) == len(spaces)
    assert all(len(b) <= 15 for b in bridges)
    assert all(len(c) <= 28 and re.fullmatch(r"[A-Z0-9-]+", c) for c in chains)
    cells = _paths(seed, 3000, 4)
    cni = {naming.cni_container_id(c) for c in cells}
    assert len(cni) == len(cells)
    assert all(len(x) <= 64 and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.\-]*", x) for x in cni)


def test_instances_never_share_names() -> None:
    a, b = Naming("kukeon"), Naming("other")
    space = ResourcePath.of("default", "default")
    cell = space.child("default").child("web")
    assert a.namespace("default") == "default.kukeon.io"
    assert b.namespace("default") == "default.other.kukeon.io"
    assert a.bridge(space) != b.bridge(space)
    assert a.chain("ISO") != b.chain("ISO")
    assert a.cni_container_id(cell) != b.cni_container_id(cell)
    assert a.cgroup(cell) == "/kukeon/default/default/default/web"
    assert b.cgroup(cell).startswith("/other/")


def test_invalid_names_never_become_host_names() -> None:
    for bad in ("../etc", "a/b", "A", "-a", "a" * 64, "a;b", ""):
        with pytest.raises(ValueError):
            ResourcePath.of("default", bad)
    with pytest.raises(ValueError):
        Naming("Bad_Instance")
