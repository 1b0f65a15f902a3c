"""The CNI executor against a tiny fake plugin written by the test."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path

import pytest

from kukeon.drivers.network.cni import Attachment, CniError, CniExecutor, CniPluginMissing

# Logs env + stdin per call, answers per $FAKE_MODE read from a file next to it.
FAKE = """#!/bin/sh
dir=$(dirname "$0")
n=$(ls "$dir"/calls/*.json 2>/dev/null | wc -l)
env | grep '^CNI_' | sort > "$dir/calls/$n.env"
cat > "$dir/calls/$n.json"
mode=$(cat "$dir/mode")
case "$mode" in
  ok) printf '{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.%s/24"}],"by":"%s"}' "$n" "$(basename "$0")";;
  fail) printf '{"cniVersion":"1.0.0","code":7,"msg":"bad config","details":"no bridge"}'; exit 1;;
  garbage) echo boom >&2; exit 3;;
  hang) sleep 30;;
esac
"""


@pytest.fixture
def plugins(tmp_path: Path) -> Path:
    (tmp_path / "calls").mkdir()
    (tmp_path / "mode").write_text("ok")
    for name in ("first", "second"):
        p = tmp_path / name
        p.write_text(FAKE)
        p.chmod(p.stat().st_mode | stat.S_IXUSR)
    return tmp_path


CONF = {"cniVersion": "1.0.0", "name": "net1", "plugins": [
    {"type": "first", "x": 1}, {"type": "second", "capabilities": {"portMappings": True}},
]}
ATT = Attachment("cid-1", "/run/x/netns/cid-1")


def calls(d: Path) -> list[tuple[dict[str, str], dict[str, object]]]:
    out = []
    for i in range(len(list((d / "calls").glob("*.json")))):
        env = dict(
            line.split("=", 1) for line in (d / f"calls/{i}.env").read_text().splitlines()
        )
        out.append((env, json.loads((d / f"calls/{i}.json").read_text())))
    return out


def test_add_chains_prev_result_and_sets_env(plugins: Path) -> None:
    ex = CniExecutor([plugins / "missing", plugins])
    rc = {"portMappings": [{"hostPort": 8080, "containerPort": 80}], "other": 1}
    result = asyncio.run(ex.add(CONF, ATT, rc))
    assert result["by"] == "second"
    (env1, in1), (_, in2) = calls(plugins)
    assert env1 == {
        "CNI_COMMAND": "ADD", "CNI_CONTAINERID": "cid-1", "CNI_IFNAME": "eth0",
        "CNI_NETNS": "/run/x/netns/cid-1", "CNI_PATH": f"{plugins / 'missing'}:{plugins}",
    }
    assert in1 == {"type": "first", "x": 1, "name": "net1", "cniVersion": "1.0.0"}
    assert in2["prevResult"]["by"] == "first"  # type: ignore[index]
    assert in2["runtimeConfig"] == {"portMappings": rc["portMappings"]}  # only declared caps


def test_del_runs_in_reverse_with_cached_result(plugins: Path) -> None:
    cached = {"cniVersion": "1.0.0", "ips": []}
    asyncio.run(CniExecutor([plugins]).delete(CONF, ATT, cached))
    (env1, in1), (_, in2) = calls(plugins)
    assert env1["CNI_COMMAND"] == "DEL" and in1["type"] == "second"
    assert in1["prevResult"] == cached and in2["prevResult"] == cached


def test_check_passes_prev_result(plugins: Path) -> None:
    asyncio.run(CniExecutor([plugins]).check(CONF, ATT, {"ips": []}))
    assert [(e["CNI_COMMAND"], i["type"]) for e, i in calls(plugins)] == [
        ("CHECK", "first"), ("CHECK", "second")
    ]


def test_plugin_error_carries_its_json(plugins: Path) -> None:
    (plugins / "mode").write_text("fail")
    with pytest.raises(CniError) as err:
        asyncio.run(CniExecutor([plugins]).add(CONF, ATT))
    e = err.value
    assert (e.plugin, e.command, e.code, e.msg, e.details) == (
        "first", "ADD", 7, "bad config", "no bridge"
    )
    assert e.permanent and "bad config: no bridge" in str(e)


def test_non_json_failure_uses_stderr(plugins: Path) -> None:
    (plugins / "mode").write_text("garbage")
    with pytest.raises(CniError) as err:
        asyncio.run(CniExecutor([plugins]).add(CONF, ATT))
    assert err.value.details == "boom" and not err.value.permanent


def test_timeout_kills_plugin(plugins: Path) -> None:
    (plugins / "mode").write_text("hang")
    with pytest.raises(CniError, match=r"no answer within 0\.3s"):
        asyncio.run(CniExecutor([plugins], timeout=0.3).add(CONF, ATT))


def test_missing_plugin(tmp_path: Path) -> None:
    with pytest.raises(CniPluginMissing, match="not found"):
        asyncio.run(CniExecutor([tmp_path]).add(CONF, ATT))
