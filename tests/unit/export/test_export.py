"""kuke export: every mapping, every warning, golden files, and the official schemas.

Regenerate the golden files with KUKEON_UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from kukeon.cli.main import cli
from kukeon.export import Exported, ExportError, to_kubernetes, to_yaml, write_dir
from kukeon.manifests import load_text
from tests.unit.export.k8s_schema import problems

HERE = Path(__file__).parent
ROOT = HERE.parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
FIXTURES = sorted((HERE / "fixtures").glob("*.yaml"))
SCOPE = ("kukeon.io/realm", "kukeon.io/space", "kukeon.io/stack", "kukeon.io/cell")


def export(text: str, source: str = "m.yaml") -> list[Exported]:
    loaded = load_text(text, source)
    assert loaded.ok, [str(e) for e in loaded.errors]
    return to_kubernetes(loaded.resources)


def objects(exported: list[Exported]) -> list[dict[str, Any]]:
    return [o for e in exported for o in e.objects]


def find(exported: list[Exported], kind: str, name: str) -> dict[str, Any]:
    for o in objects(exported):
        if o["kind"] == kind and o["metadata"]["name"] == name:
            return o
    raise AssertionError(f"no {kind} {name} in {[o['metadata']['name'] for o in objects(exported)]}")


def notes(exported: list[Exported]) -> list[str]:
    return [f"{n.field}: {n.message}" for e in exported for n in e.notes]


def cell(spec: str, name: str = "c") -> str:
    return f"apiVersion: v1beta1\nkind: Cell\nmetadata:\n  name: {name}\nspec:\n{spec}"


def pod(exported: list[Exported]) -> dict[str, Any]:
    (workload,) = [o for o in objects(exported) if o["kind"] in ("Deployment", "Job")]
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


# -- whole files: schemas, labels, golden ----------------------------------------------


@pytest.mark.parametrize("path", EXAMPLES + FIXTURES, ids=lambda p: p.name)
def test_file_exports_valid_kubernetes(path: Path) -> None:
    exported = export(path.read_text(), path.name)
    objs = objects(exported)
    assert objs
    for obj in objs:
        assert problems(obj) == [], obj["metadata"]["name"]
        labels = obj["metadata"]["labels"]
        depth = {"Namespace": 1, "NetworkPolicy": 2}.get(obj["kind"], 4)
        assert [k for k in SCOPE if k in labels] == list(SCOPE[:depth])
    namespaces = {o["metadata"]["name"] for o in objs if o["kind"] == "Namespace"}
    assert {o["metadata"]["namespace"] for o in objs if o["kind"] != "Namespace"} <= namespaces
    # the YAML stream is what kubectl reads: the same objects, comments aside
    assert [d for d in yaml.safe_load_all(to_yaml(exported)) if d] == objs

    golden = HERE / "golden" / path.name
    text = to_yaml(exported)
    if os.environ.get("KUKEON_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text(), f"regenerate with KUKEON_UPDATE_GOLDEN=1 ({golden})"


def test_every_example_is_covered() -> None:
    assert {p.name for p in EXAMPLES} >= {"hello-world.yaml", "sidecars.yaml", "two-spaces.yaml"}


# -- mappings ------------------------------------------------------------------------


def test_realm_space_stack_become_namespace_policy_and_labels() -> None:
    exported = export(
        "apiVersion: v1beta1\nkind: Realm\nmetadata:\n  name: shop\n  labels: {team: web}\n---\n"
        + cell("  realmId: shop\n  spaceId: front\n  stackId: api\n  containers: [{id: a, image: busybox}]", "web")
    )
    ns = find(exported, "Namespace", "shop")
    assert ns["metadata"]["labels"] == {"team": "web", "kukeon.io/realm": "shop"}
    policy = find(exported, "NetworkPolicy", "kukeon-space-front")
    members = {"matchLabels": {"kukeon.io/realm": "shop", "kukeon.io/space": "front"}}
    assert policy["metadata"]["namespace"] == "shop"
    assert policy["spec"]["podSelector"] == members
    assert policy["spec"]["ingress"] == [{"from": [{"podSelector": members}]}]
    assert policy["spec"]["egress"] == [{"to": [{"podSelector": members}]}, {}]
    deploy = find(exported, "Deployment", "front-api-web")
    assert deploy["metadata"]["labels"] == {
        "kukeon.io/realm": "shop",
        "kukeon.io/space": "front",
        "kukeon.io/stack": "api",
        "kukeon.io/cell": "web",
    }
    # parents first: the order kubectl must apply them in
    assert [o["kind"] for o in objects(exported)] == ["Namespace", "NetworkPolicy", "Deployment"]


def test_default_space_and_stack_are_left_out_of_names() -> None:
    exported = export(cell("  containers: [{id: a, image: busybox}]", "web"))
    assert find(exported, "Deployment", "web")["metadata"]["namespace"] == "default"


def test_long_names_are_cut_with_a_hash() -> None:
    long = "x" * 60
    exported = export(cell(f"  spaceId: {long}\n  containers: [{{id: a, image: busybox}}]", long))
    name = next(o for o in objects(exported) if o["kind"] == "Deployment")["metadata"]["name"]
    assert len(name) == 63 and name.startswith("x" * 54 + "-")


def test_two_cells_with_one_kubernetes_name_are_refused() -> None:
    text = cell("  spaceId: a\n  containers: [{id: a, image: busybox}]", "b-c") + "\n---\n"
    text += cell("  spaceId: a-b\n  containers: [{id: a, image: busybox}]", "c")
    with pytest.raises(ExportError, match="a-b-c"):
        export(text)


def test_deployment_always_one_replica_recreate_root_first() -> None:
    exported = export(
        cell(
            "  containers:\n"
            "    - {id: side, image: busybox, command: [/bin/sh, -c], args: [sleep 1], workingDir: /w, env: {A: '1'}}\n"
            "    - {id: main, image: busybox, root: true}\n"
        )
    )
    deploy = find(exported, "Deployment", "c")
    assert deploy["spec"]["replicas"] == 1
    assert deploy["spec"]["strategy"] == {"type": "Recreate"}
    assert deploy["spec"]["selector"]["matchLabels"] == deploy["spec"]["template"]["metadata"]["labels"]
    spec = pod(exported)
    assert spec["restartPolicy"] == "Always"
    main, side = spec["containers"]
    assert main == {"name": "main", "image": "busybox", "imagePullPolicy": "IfNotPresent"}
    assert side["command"] == ["/bin/sh", "-c"] and side["args"] == ["sleep 1"]
    assert side["workingDir"] == "/w" and side["env"] == [{"name": "A", "value": "1"}]
    assert notes(exported) == []


@pytest.mark.parametrize(
    ("policy", "pod_policy", "backoff"),
    [("never", "Never", 0), ("on-failure\n      restartMaxRetries: 3", "OnFailure", 3)],
)
def test_job_for_never_and_on_failure(policy: str, pod_policy: str, backoff: int) -> None:
    exported = export(cell(f"  containers:\n    - id: a\n      image: busybox\n      restartPolicy: {policy}\n"))
    job = find(exported, "Job", "c")
    assert job["apiVersion"] == "batch/v1"
    assert job["spec"]["backoffLimit"] == backoff
    assert pod(exported)["restartPolicy"] == pod_policy
    assert "selector" not in job["spec"]  # the Job controller generates its own


def test_resources_memory_cpu_and_pod_level() -> None:
    exported = export(
        cell(
            "  resources: {memoryLimitBytes: 1073741824, cpuMillis: 2000}\n"
            "  containers:\n"
            "    - id: a\n      image: busybox\n"
            "      resources: {memoryLimitBytes: 1000000, cpuMillis: 250, cpuShares: 1024}\n"
        )
    )
    spec = pod(exported)
    assert spec["resources"] == {"limits": {"memory": "1Gi", "cpu": "2000m"}}
    assert spec["containers"][0]["resources"] == {
        "limits": {"memory": "1000000", "cpu": "250m"},
        # 1024 shares is 1000m, above the 250m limit: capped (request <= limit)
        "requests": {"cpu": "250m"},
    }


def test_cpu_shares_become_a_request() -> None:
    exported = export(cell("  containers: [{id: a, image: b, resources: {cpuShares: 100}}]"))
    assert pod(exported)["containers"][0]["resources"] == {"requests": {"cpu": "98m"}}
    (note,) = notes(exported)
    assert "cpuShares 100 becomes requests.cpu 98m" in note and "reserves" in note


def test_volumes_tmpfs_and_bind() -> None:
    exported = export(
        cell(
            "  containers:\n    - id: a\n      image: busybox\n"
            "      volumes: [{source: /data, target: /d, readOnly: true}]\n"
            "      tmpfs: [{path: /tmp, sizeBytes: 1048576}, {path: /run}]\n"
        )
    )
    spec = pod(exported)
    assert spec["volumes"] == [
        {"name": "bind-0", "hostPath": {"path": "/data"}},
        {"name": "tmpfs-1", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
        {"name": "tmpfs-2", "emptyDir": {"medium": "Memory"}},
    ]
    assert spec["containers"][0]["volumeMounts"] == [
        {"name": "bind-0", "mountPath": "/d", "readOnly": True},
        {"name": "tmpfs-1", "mountPath": "/tmp"},
        {"name": "tmpfs-2", "mountPath": "/run"},
    ]


def test_published_ports_become_a_service() -> None:
    exported = export(cell("  containers: [{id: a, image: b, ports: ['8080:80', '53/udp', '127.0.0.1:5353:53/udp']}]"))
    ports = pod(exported)["containers"][0]["ports"]
    assert ports == [
        {"containerPort": 80, "protocol": "TCP"},
        {"containerPort": 53, "protocol": "UDP"},
        {"containerPort": 53, "protocol": "UDP"},
    ]
    svc = find(exported, "Service", "c")
    assert svc["spec"]["selector"] == find(exported, "Deployment", "c")["spec"]["selector"]["matchLabels"]
    assert svc["spec"]["ports"] == [
        {"name": "tcp-8080", "port": 8080, "targetPort": 80, "protocol": "TCP"},
        {"name": "udp-5353", "port": 5353, "targetPort": 53, "protocol": "UDP"},
    ]


def test_no_service_without_published_ports() -> None:
    exported = export(cell("  containers: [{id: a, image: b, ports: ['80']}]"))
    assert [o["kind"] for o in objects(exported) if o["kind"] == "Service"] == []


def test_service_name_starts_with_a_letter() -> None:
    exported = export(cell("  containers: [{id: a, image: b, ports: ['80:80']}]", "9lives"))
    assert find(exported, "Service", "c-9lives")
    assert find(exported, "Deployment", "9lives")


@pytest.mark.parametrize(
    ("check", "handler"),
    [
        ("exec: [/bin/true]", {"exec": {"command": ["/bin/true"]}}),
        ("http: {port: 80, path: /ok}", {"httpGet": {"path": "/ok", "port": 80}}),
        ("httpGet: {port: 80}", {"httpGet": {"path": "/", "port": 80}}),
        ("tcp: {port: 5432}", {"tcpSocket": {"port": 5432}}),
    ],
)
def test_health_checks_become_probes(check: str, handler: dict[str, Any]) -> None:
    exported = export(
        cell(
            "  containers:\n    - id: a\n      image: b\n      healthCheck:\n"
            f"        {check}\n        intervalSeconds: 5\n        timeoutSeconds: 3\n"
            "        failureThreshold: 4\n        startPeriodSeconds: 30\n"
        )
    )
    c = pod(exported)["containers"][0]
    timing = {"periodSeconds": 5, "timeoutSeconds": 3, "failureThreshold": 4}
    assert c["readinessProbe"] == {**handler, **timing}
    assert c["livenessProbe"] == {**handler, **timing, "initialDelaySeconds": 30}
    assert notes(exported) == []


def test_security_context() -> None:
    exported = export(
        cell(
            "  containers:\n    - id: a\n      image: b\n      user: '1000:100'\n      privileged: true\n"
            "      readOnlyRootFilesystem: true\n"
            "      capabilities: {add: [CAP_NET_ADMIN, SYS_TIME], drop: [ALL]}\n"
        )
    )
    assert pod(exported)["containers"][0]["securityContext"] == {
        "runAsUser": 1000,
        "runAsGroup": 100,
        "privileged": True,
        "readOnlyRootFilesystem": True,
        "capabilities": {"add": ["NET_ADMIN", "SYS_TIME"], "drop": ["ALL"]},
    }


def test_host_network_is_the_pods() -> None:
    exported = export(cell("  containers:\n    - {id: a, image: b, hostNetwork: true}\n"))
    assert pod(exported)["hostNetwork"] is True
    assert "hostNetwork" not in pod(export(cell("  containers:\n    - {id: a, image: b}\n")))


def test_host_pid_is_pod_wide_with_a_note_when_not_every_container_asks() -> None:
    every = export(cell("  containers:\n    - {id: a, image: b, hostPID: true}\n"))
    assert pod(every)["hostPID"] is True and notes(every) == []
    one = export(cell("  containers:\n    - {id: a, image: b, hostPID: true}\n"
                      "    - {id: c, image: b}\n"))  # fmt: skip
    assert pod(one)["hostPID"] is True
    assert any("pod-wide" in n for n in notes(one))


def test_host_cgroup_has_no_equivalent_and_says_so() -> None:
    exported = export(cell("  containers:\n    - {id: a, image: b, hostCgroup: true}\n"))
    assert any("hostCgroup" in n and "dropped" in n for n in notes(exported))


def test_egress_deny_with_rules() -> None:
    exported = export(
        "apiVersion: v1beta1\nkind: Space\nmetadata:\n  name: s\nspec:\n  network:\n    egress:\n"
        "      default: deny\n      allow:\n        - {cidr: 10.0.0.0/8, ports: [443]}\n"
        "        - {cidr: 192.168.0.0/16}\n"
    )
    egress = find(exported, "NetworkPolicy", "kukeon-space-s")["spec"]["egress"]
    assert egress[2:] == [
        {
            "to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}],
            "ports": [{"protocol": "TCP", "port": 443}, {"protocol": "UDP", "port": 443}],
        },
        {"to": [{"ipBlock": {"cidr": "192.168.0.0/16"}}]},
    ]
    assert egress[1]["to"][0]["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}
    assert {} not in egress


# -- warnings: one test per case -------------------------------------------------------

WARNINGS = [
    ("bind", cell("  containers: [{id: a, image: b, volumes: [{source: /d, target: /d}]}]"), "containers[a].volumes[/d]", "hostPath"),
    ("container pids", cell("  containers: [{id: a, image: b, resources: {pidsLimit: 5}}]"), "containers[a].resources.pidsLimit", "pids"),
    ("cell pids", cell("  resources: {pidsLimit: 5}\n  containers: [{id: a, image: b}]"), "spec.resources.pidsLimit", "pids"),
    ("cell limits", cell("  resources: {memoryLimitBytes: 4096}\n  containers: [{id: a, image: b}]"), "spec.resources", "PodLevelResources"),
    ("cpu shares", cell("  containers: [{id: a, image: b, resources: {cpuShares: 2}}]"), "containers[a].resources.cpuShares", "requests.cpu 2m"),
    ("depends on", cell("  dependsOn: [db]\n  containers: [{id: a, image: b}]"), "spec.dependsOn", "db is started"),
    ("policy under always", cell("  containers: [{id: a, image: b}, {id: z, image: b, restartPolicy: never}]"), "containers[z].restartPolicy", "restarted whenever"),
    ("policy under never", cell("  containers: [{id: a, image: b, restartPolicy: never}, {id: z, image: b}]"), "containers[z].restartPolicy", "never restarted"),
    ("policy under on-failure", cell("  containers: [{id: a, image: b, restartPolicy: on-failure, restartMaxRetries: 1}, {id: z, image: b}]"), "containers[z].restartPolicy", "when it fails"),
    ("retries forever", cell("  containers: [{id: a, image: b, restartPolicy: on-failure}]"), "containers[a].restartPolicy", "backoffLimit (6)"),
    ("backoff", cell("  containers: [{id: a, image: b, restartBackoffSeconds: 3}]"), "containers[a].restartBackoffSeconds", "own backoff"),
    ("retries of a sidecar", cell("  containers: [{id: a, image: b, restartPolicy: never}, {id: z, image: b, restartPolicy: on-failure, restartMaxRetries: 2}]"), "containers[z].restartMaxRetries", "retry limit"),
    ("user name", cell("  containers: [{id: a, image: b, user: www}]"), "containers[a].user", "numeric"),
    ("published port", cell("  containers: [{id: a, image: b, ports: ['0.0.0.0:80:80']}]"), "containers[a].ports[80]", "0.0.0.0:80"),
    ("expect status", cell("  containers: [{id: a, image: b, healthCheck: {http: {port: 80, expectStatus: 204}}}]"), "containers[a].healthCheck.http.expectStatus", "200-399"),
    ("fractional seconds", cell("  containers: [{id: a, image: b, healthCheck: {tcp: {port: 80}, timeoutSeconds: 0.5}}]"), "containers[a].healthCheck.timeoutSeconds", "0.5 becomes 1"),
    ("label", cell("  containers: [{id: a, image: b}]").replace("  name: c\n", "  name: c\n  labels: {k: 'a b'}\n"), "metadata.labels[k]", "annotation"),
    ("containerd namespace", "apiVersion: v1beta1\nkind: Realm\nmetadata: {name: r}\nspec: {namespace: ctd}\n", "spec.namespace", "containerd"),
    ("subnet", "apiVersion: v1beta1\nkind: Space\nmetadata: {name: s}\nspec: {network: {subnet: 10.9.0.0/24}}\n", "spec.network.subnet", "network plugin"),
    ("space limits", "apiVersion: v1beta1\nkind: Space\nmetadata: {name: s}\nspec: {resources: {cpuShares: 10}}\n", "spec.resources", "ResourceQuota"),
    ("egress deny", "apiVersion: v1beta1\nkind: Space\nmetadata: {name: s}\nspec: {network: {egress: {default: deny}}}\n", "spec.network.egress.default", "DNS"),
    ("stack labels", "apiVersion: v1beta1\nkind: Stack\nmetadata: {name: s, labels: {a: b}}\n", "metadata", "kukeon.io/stack label only"),
]


@pytest.mark.parametrize(("text", "field", "words"), [w[1:] for w in WARNINGS], ids=[w[0] for w in WARNINGS])
def test_warning(text: str, field: str, words: str) -> None:
    exported = export(text)
    found = [n for n in notes(exported) if n.startswith(field + ": ")]
    assert len(found) == 1 and words in found[0], notes(exported)
    # next to the object in the output, as a comment
    out = to_yaml(exported)
    assert f"# WARNING: {found[0]}" in out
    for obj in objects(exported):
        assert problems(obj) == []


# -- output ---------------------------------------------------------------------------


def test_comment_header_names_the_resource_and_origin() -> None:
    out = to_yaml(export(cell("  containers: [{id: a, image: b}]", "web"), "cells.yaml"))
    assert "# kukeon Realm default (implied by the resources in it)\n" in out
    assert "# kukeon Cell default/default/default/web (from cells.yaml:1)\napiVersion: apps/v1\n" in out
    assert "&id" not in out  # no YAML anchors for shared label maps


def test_write_dir_one_file_per_resource_in_apply_order(tmp_path: Path) -> None:
    exported = export((ROOT / "examples" / "two-spaces.yaml").read_text(), "two-spaces.yaml")
    written = write_dir(tmp_path / "k8s", exported)
    names = sorted(p.name for p in (tmp_path / "k8s").iterdir())
    assert names == sorted(p.name for p in written)
    assert names[0] == "1-realm-default.yaml"
    assert names[-1] == "4-cell-default.front.shop.web.yaml"
    docs = [d for p in sorted(written) for d in yaml.safe_load_all(p.read_text()) if d]
    assert docs == objects(exported)


def test_cli_export_stdout_and_warnings() -> None:
    result = CliRunner().invoke(cli, ["export", "-f", str(ROOT / "examples" / "hello-world.yaml")])
    assert result.exit_code == 0, result.output
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert [d["kind"] for d in docs] == ["Namespace", "NetworkPolicy", "Deployment", "Service"]
    assert "pidsLimit" in result.stderr and "warning:" in result.stderr


def test_cli_export_to_dir_and_stdin(tmp_path: Path) -> None:
    text = cell("  containers: [{id: a, image: b}]")
    result = CliRunner().invoke(cli, ["export", "-f", "-", "-o", str(tmp_path)], input=text)
    assert result.exit_code == 0, result.output
    assert "3 object(s) in 3 file(s)" in result.stderr
    assert (tmp_path / "4-cell-default.default.default.c.yaml").exists()


def test_cli_export_refuses_invalid_manifests() -> None:
    result = CliRunner().invoke(cli, ["export", "-f", "-"], input=cell("  containers: []"))
    assert result.exit_code == 2
    assert result.stdout == "" and "nothing exported" in result.stderr


def test_cli_export_name_collision_exits_1() -> None:
    text = cell("  spaceId: a\n  containers: [{id: a, image: b}]", "b-c") + "\n---\n"
    text += cell("  spaceId: a-b\n  containers: [{id: a, image: b}]", "c")
    result = CliRunner().invoke(cli, ["export", "-f", "-"], input=text)
    assert result.exit_code == 1 and "rename one of the cells" in result.stderr
