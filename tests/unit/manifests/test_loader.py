"""Loader behaviour: every error class names file, line, field and what to do."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from kukeon.manifests import LoadResult, load_file, load_paths, load_text
from kukeon.manifests.yamlpos import MAX_BYTES
from kukeon.model.errors import ManifestError, ManifestErrors
from kukeon.model.identity import ResourcePath
from kukeon.model.resources import Cell, Port, RestartPolicy, Space, Volume

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLES = Path(__file__).parents[3] / "examples"


def cell_yaml(container: str = "", spec: str = "", name: str = "web") -> str:
    """A minimal valid Cell; ``container`` / ``spec`` add indented lines."""
    return (
        "apiVersion: v1beta1\n"
        "kind: Cell\n"
        "metadata:\n"
        f"  name: {name}\n"
        "spec:\n"
        f"{spec}"
        "  containers:\n"
        "    - id: main\n"
        "      image: busybox\n"
        f"{container}"
    )


def only_error(result: LoadResult) -> ManifestError:
    assert len(result.errors) == 1, [str(e) for e in result.errors]
    return result.errors[0]


def the_cell(result: LoadResult) -> Cell:
    assert result.ok, [str(e) for e in result.errors]
    (cell,) = result.resources
    assert isinstance(cell, Cell)
    return cell


# -- a valid cell ----------------------------------------------------------------------


def test_minimal_cell_gets_defaults_and_origin() -> None:
    cell = the_cell(load_text(cell_yaml(), "web.yaml"))
    assert cell.path == ResourcePath.of("default", "default", "default", "web")
    assert cell.origin == "web.yaml:1"
    (main,) = cell.containers
    assert main.root  # the only (first) container is the root
    assert main.restart_policy is RestartPolicy.ALWAYS
    assert main.working_dir == "/"


def test_upstream_and_kukeon_spellings_give_equal_models() -> None:
    upstream = the_cell(load_file(FIXTURES / "upstream-form.yaml"))
    ours = the_cell(load_file(FIXTURES / "kukeon-form.yaml"))
    assert upstream == ours
    (web,) = ours.containers
    assert web.command == ("/bin/sh",)
    assert web.env == (("A", "1"), ("B", "two=2"))
    assert web.restart_policy is RestartPolicy.NEVER
    assert web.ports == (Port(container_port=8080, host_port=8080),)
    assert web.volumes == (Volume(target="/tmp", kind="tmpfs", size_bytes=1048576),)


def test_examples_load_without_errors_or_warnings() -> None:
    files = sorted(EXAMPLES.glob("*.yaml"))
    assert {f.name for f in files} >= {"hello-world.yaml", "sidecars.yaml", "two-spaces.yaml"}
    for file in files:
        result = load_file(file)
        assert result.ok, [str(e) for e in result.errors]
        assert not result.warnings, [str(w) for w in result.warnings]
        assert result.resources


def test_hello_world_publishes_8080_on_loopback() -> None:
    cell = the_cell(load_file(EXAMPLES / "hello-world.yaml"))
    assert cell.path.name == "hello-world"
    (web,) = cell.containers
    assert web.image == "docker.io/library/busybox:latest"
    assert web.ports == (Port(container_port=8080, host_port=8080, host_ip="127.0.0.1"),)


# -- errors ----------------------------------------------------------------------------


def test_unknown_field_names_line_field_and_suggestion() -> None:
    err = only_error(load_text(cell_yaml("      imagePulPolicy: Always\n"), "f.yaml"))
    assert err.location.file == "f.yaml"
    assert err.location.line == 9
    assert err.location.field == "spec.containers[0].imagePulPolicy"
    assert "unknown field" in err.message
    assert err.hint == "did you mean 'imagePullPolicy'?"


def test_unknown_field_without_close_match_lists_known_fields() -> None:
    err = only_error(load_text(cell_yaml(spec="  zzz: 1\n"), "f.yaml"))
    assert err.location.field == "spec.zzz"
    assert err.hint is not None and "containers" in err.hint


def test_wrong_type_says_expected_and_how_to_fix() -> None:
    result = load_text(cell_yaml(), "f.yaml").errors  # valid
    assert not result
    text = cell_yaml().replace("  name: web\n", "  name: web\n  labels: {port: 8080}\n")
    err = only_error(load_text(text, "f.yaml"))
    assert err.location.field == "metadata.labels.port"
    assert err.location.line == 5
    assert "must be a string" in err.message
    assert err.hint is not None and "quote" in err.hint


def test_bad_name_is_an_error_on_the_field() -> None:
    err = only_error(load_text(cell_yaml(name="Web_1"), "f.yaml"))
    assert err.location.field == "metadata.name"
    assert err.location.line == 4
    assert "not a valid name" in err.message
    assert err.hint is not None and "DNS-1123" in err.hint


@pytest.mark.parametrize(("version", "message"), [("v1", "'v1' is unknown"), (None, "missing")])
def test_bad_api_version(version: str | None, message: str) -> None:
    text = cell_yaml().replace(
        "apiVersion: v1beta1\n", f"apiVersion: {version}\n" if version else ""
    )
    err = only_error(load_text(text, "f.yaml"))
    assert err.location.field == "apiVersion"
    assert message in err.message
    assert err.hint == "set apiVersion: v1beta1"


def test_unknown_kind_suggests_the_right_one() -> None:
    err = only_error(load_text(cell_yaml().replace("kind: Cell", "kind: Cel"), "f.yaml"))
    assert err.location.field == "kind"
    assert err.hint == "did you mean 'Cell'?"


def test_same_resource_twice_names_both_places() -> None:
    text = cell_yaml() + "---\n" + cell_yaml()
    result = load_text(text, "f.yaml")
    err = only_error(result)
    assert err.location.line == 10
    assert "declared twice" in err.message and "f.yaml:1" in err.message
    assert result.resources == ()  # all or nothing
    assert len(load_text(text, "f.yaml", salvage=True).resources) == 1


def test_same_resource_in_two_files_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(cell_yaml())
    (tmp_path / "b.yaml").write_text(cell_yaml(spec="  id: web\n"))
    err = only_error(load_paths([tmp_path]))
    assert err.location.file == str(tmp_path / "b.yaml")
    assert f"{tmp_path / 'a.yaml'}:1" in err.message


def test_duplicate_yaml_key_is_an_error() -> None:
    err = only_error(load_text(cell_yaml("      image: other\n"), "f.yaml"))
    assert "duplicate key 'image'" in err.message
    assert err.location.line == 9


def test_all_errors_of_a_file_are_reported_together() -> None:
    text = cell_yaml("      bogus: 1\n") + "---\n" + cell_yaml(name="B")
    result = load_text(text, "f.yaml")
    assert [e.location.field for e in result.errors] == [
        "spec.containers[0].bogus",
        "metadata.name",
    ]
    with pytest.raises(ManifestErrors) as raised:
        result.raise_for_errors()
    assert len(raised.value.errors) == 2


def test_alias_bomb_is_refused_fast() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    start = time.monotonic()
    err = only_error(load_text("\n".join(lines) + "\n", "bomb.yaml"))
    assert time.monotonic() - start < 2.0
    assert "alias" in err.message and err.hint is not None


def test_recursive_alias_is_refused() -> None:
    err = only_error(load_text("a: &a [*a]\n", "f.yaml"))
    assert "alias" in err.message


@pytest.mark.parametrize(
    "value", ["!!python/object/apply:os.system [echo]", "!custom x", "!!binary aGk="]
)
def test_non_standard_tags_are_refused(value: str) -> None:
    err = only_error(load_text(cell_yaml(f"      user: {value}\n"), "f.yaml"))
    assert "tag" in err.message
    assert err.location.line == 9


def test_too_large_input_is_refused() -> None:
    err = only_error(load_text("#" * (MAX_BYTES + 1), "big.yaml"))
    assert "larger than" in err.message


def test_syntax_error_has_a_line() -> None:
    err = only_error(load_text(cell_yaml() + "  oops: [\n", "f.yaml"))
    assert err.location.line is not None and err.location.line >= 9
    assert "invalid YAML" in err.message


def test_two_roots_is_an_error() -> None:
    extra = "      root: true\n    - id: side\n      image: busybox\n      root: true\n"
    err = only_error(load_text(cell_yaml(extra), "f.yaml"))
    assert err.location.field == "spec.containers[1].root"
    assert "more than one" in err.message


def test_root_container_id_must_agree_with_root_true() -> None:
    extra = "      root: true\n    - id: side\n      image: busybox\n"
    err = only_error(load_text(cell_yaml(extra, spec="  rootContainerId: side\n"), "f.yaml"))
    assert err.location.field == "spec.rootContainerId"
    assert "disagrees" in err.message


def test_root_container_id_must_exist() -> None:
    err = only_error(load_text(cell_yaml(spec="  rootContainerId: nope\n"), "f.yaml"))
    assert "names no container" in err.message
    assert err.hint == "use one of: main"


def test_root_container_id_selects_the_root() -> None:
    extra = "    - id: side\n      image: busybox\n"
    cell = the_cell(load_text(cell_yaml(extra, spec="  rootContainerId: side\n"), "f.yaml"))
    assert [c.root for c in cell.containers] == [False, True]
    assert cell.root_container.name == "side"


def test_container_ids_are_unique_per_cell() -> None:
    err = only_error(load_text(cell_yaml("    - id: main\n      image: busybox\n"), "f.yaml"))
    assert err.location.field == "spec.containers[1].id"


def test_cell_without_containers_is_an_error() -> None:
    text = cell_yaml().split("  containers:")[0] + "  containers: []\n"
    err = only_error(load_text(text, "f.yaml"))
    assert err.location.field == "spec.containers"


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        ("      workingDir: www\n", "spec.containers[0].workingDir"),
        ("      volumes: [{source: /srv, target: www}]\n", "spec.containers[0].volumes[0].target"),
        ("      volumes: [{source: srv, target: /www}]\n", "spec.containers[0].volumes[0].source"),
    ],
)
def test_paths_must_be_absolute(lines: str, field: str) -> None:
    err = only_error(load_text(cell_yaml(lines), "f.yaml"))
    assert err.location.field == field
    assert "absolute" in err.message


def test_restart_retries_need_on_failure() -> None:
    err = only_error(load_text(cell_yaml("      restartMaxRetries: 3\n"), "f.yaml"))
    assert "on-failure" in err.message


def test_space_subnet_must_be_a_network() -> None:
    text = (
        "apiVersion: v1beta1\nkind: Space\nmetadata: {name: s}\n"
        "spec:\n  network:\n    subnet: 10.1.2.3/24\n"
    )
    err = only_error(load_text(text, "s.yaml"))
    assert err.location.field == "spec.network.subnet"
    assert err.hint == "did you mean 10.1.2.0/24?"


def test_space_network_converts() -> None:
    text = (
        "apiVersion: v1beta1\nkind: Space\nmetadata: {name: s}\n"
        "spec:\n  realmId: r\n  resources: {memoryLimitBytes: 1024}\n  network:\n"
        "    subnet: 10.1.2.0/24\n    egress:\n      default: deny\n"
        "      allow: [{cidr: 10.0.0.0/8, ports: [53]}, {host: example.org}]\n"
    )
    result = load_text(text, "s.yaml")
    assert result.ok
    (space,) = result.resources
    assert isinstance(space, Space)
    assert space.path == ResourcePath.of("r", "s")
    assert space.subnet == "10.1.2.0/24"
    assert space.egress.default == "deny"
    assert [(r.cidr, r.ports) for r in space.egress.allow] == [("10.0.0.0/8", (53,))]
    assert space.resources.memory_limit_bytes == 1024
    (warning,) = result.warnings
    assert warning.location.field == "spec.network.egress.allow[1].host"


# -- warnings --------------------------------------------------------------------------


def test_unimplemented_field_is_a_warning_naming_it() -> None:
    result = load_text(cell_yaml("      secrets: [{name: x}]\n      devices: [/dev/null]\n"), "f")
    assert result.ok
    assert [w.location.field for w in result.warnings] == [
        "spec.containers[0].secrets",
        "spec.containers[0].devices",
    ]
    assert all("not implemented yet" in w.message and w.hint for w in result.warnings)
    assert result.warnings[0].location.line == 9


def test_health_check_and_depends_on_are_loaded() -> None:
    text = cell_yaml(
        "      healthCheck: {http: {port: 8080, path: /ok}, failureThreshold: 2}\n",
        spec="  dependsOn: [db, {cell: cache, condition: healthy, spaceId: back}]\n",
    )
    result = load_text(text, "f.yaml")
    cell = the_cell(result)
    assert not result.warnings
    assert [(str(d.cell), d.condition) for d in cell.depends_on] == [
        ("default/default/default/db", "started"),
        ("default/back/default/cache", "healthy"),
    ]
    check = cell.containers[0].health_check
    assert check is not None and (check.kind, check.port, check.path) == ("http", 8080, "/ok")
    assert check.failure_threshold == 2 and check.interval_seconds == 10.0


def test_waiting_for_healthy_on_a_cell_without_checks_is_a_warning() -> None:
    web = cell_yaml(spec="  dependsOn: [{cell: db, condition: healthy}, {cell: mq}]\n")
    checked = "      healthCheck: {exec: [\"true\"]}\n"
    text = "---\n".join([web, cell_yaml(name="db"), cell_yaml(checked, name="mq")])
    result = load_text(text, "f.yaml")
    assert result.ok and len(result.resources) == 3
    (warning,) = result.warnings
    assert (warning.location.line, warning.location.field) == (1, "spec.dependsOn")
    assert "db has no healthCheck" in warning.message and "condition: started" in str(warning)
    with_check = text.replace(cell_yaml(name="db"), cell_yaml(checked, name="db"))
    assert not load_text(with_check, "f.yaml").warnings


def test_host_port_on_the_host_network_is_a_warning() -> None:
    text = cell_yaml("      hostNetwork: true\n      ports: [{containerPort: 80, hostPort: 8080}]\n")
    result = load_text(text, "f.yaml")
    assert result.ok and the_cell(result).host_network
    (warning,) = result.warnings
    assert warning.location.field == "spec.containers[0].ports[0].hostPort"
    assert "nothing is published" in warning.message


def test_health_check_needs_exactly_one_probe() -> None:
    text = cell_yaml("      healthCheck: {tcp: {port: 1}, exec: [\"true\"]}\n")
    result = load_text(text, "f.yaml")
    assert not result.ok
    assert result.errors[0].location.field == "spec.containers[0].healthCheck"
    assert "exactly one of exec, http or tcp" in result.errors[0].message


def test_dependency_cycle_is_refused_with_the_cycle_named() -> None:
    def c(name: str, dep: str) -> str:
        return (
            f"apiVersion: v1beta1\nkind: Cell\nmetadata: {{name: {name}}}\n"
            f"spec:\n  dependsOn: [{dep}]\n  containers: [{{id: a, image: busybox}}]\n"
        )

    result = load_text(c("a", "b") + "---\n" + c("b", "c") + "---\n" + c("c", "a"), "f.yaml")
    assert not result.ok
    err = result.errors[0]
    assert "cycle: a -> b -> c -> a" in err.message and err.location.field == "spec.dependsOn"


def test_unimplemented_kind_is_skipped_with_a_warning() -> None:
    text = "apiVersion: v1beta1\nkind: Secret\nmetadata: {name: s}\nspec: {data: x}\n"
    result = load_text(text + "---\n" + cell_yaml(), "f.yaml")
    assert result.ok
    assert [r.kind.value for r in result.resources] == ["Cell"]
    (warning,) = result.warnings
    assert "Secret" in warning.message and warning.location.line == 2


def test_volume_kind_volume_is_skipped_with_a_warning() -> None:
    result = load_text(cell_yaml("      volumes: [{kind: volume, target: /data}]\n"), "f")
    assert the_cell(result).containers[0].volumes == ()
    (warning,) = result.warnings
    assert warning.location.field == "spec.containers[0].volumes[0].kind"


def test_command_string_with_spaces_warns() -> None:
    result = load_text(cell_yaml("      command: httpd -f\n"), "f")
    assert the_cell(result).containers[0].command == ("httpd -f",)
    (warning,) = result.warnings
    assert warning.location.field == "spec.containers[0].command"


# -- containers of documents -------------------------------------------------------------


def test_list_kind_and_json_array() -> None:
    listed = "apiVersion: v1\nkind: List\nitems:\n  - " + cell_yaml().replace("\n", "\n    ")
    cell = the_cell(load_text(listed, "l.yaml"))
    assert cell.origin == "l.yaml:4"
    array = '[{"apiVersion": "v1beta1", "kind": "Stack", "metadata": {"name": "s"}}]'
    result = load_text(array, "a.json")
    assert result.ok and result.resources[0].path == ResourcePath.of("default", "default", "s")


def test_json_errors_have_lines() -> None:
    text = '{\n  "apiVersion": "v1beta1",\n  "kind": "Realm",\n  "metadata": {"name": "r"},\n'
    text += '  "spec": {"namespaces": "x"}\n}\n'
    err = only_error(load_text(text, "r.json"))
    assert err.location.line == 5
    assert err.hint == "did you mean 'namespace'?"


def test_json_with_tabs_still_loads() -> None:
    text = '{\n\t"apiVersion": "v1beta1",\n\t"kind": "Realm",\n\t"metadata": {"name": "r"}\n}\n'
    result = load_text(text, "r.json")
    assert result.ok and result.resources[0].path == ResourcePath.of("r")


def test_directory_skips_hidden_backup_and_swap_files(tmp_path: Path) -> None:
    (tmp_path / "web.yaml").write_text(cell_yaml())
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "other.yml").write_text(cell_yaml(name="other"))
    for junk in (".web.yaml", "web.yaml~", "web.yaml.swp", "web.yaml.tmp", "notes.txt"):
        (tmp_path / junk).write_text("not: [valid")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.yaml").write_text("not: [valid")
    result = load_paths([tmp_path])
    assert result.ok, [str(e) for e in result.errors]
    assert sorted(r.name for r in result.resources) == ["other", "web"]
    assert [r.name for r in load_paths([tmp_path], recursive=False).resources] == ["web"]


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    err = only_error(load_paths([tmp_path / "nope.yaml"]))
    assert "cannot read" in err.message


# -- speed -----------------------------------------------------------------------------


def test_thousand_cells_load_quickly() -> None:
    one = cell_yaml(
        "      command: [/bin/sh, -c]\n      args: [sleep 1000]\n      env: {A: b}\n"
        "      resources: {memoryLimitBytes: 67108864}\n"
    )
    text = "---\n".join(one.replace("name: web", f"name: c{i}") for i in range(1000))
    start = time.monotonic()
    result = load_text(text, "many.yaml")
    elapsed = time.monotonic() - start
    assert result.ok and len(result.resources) == 1000
    print(f"1000 cells loaded in {elapsed:.3f} s")
    assert elapsed < 5.0


def test_port_strings_are_parsed_and_checked() -> None:
    cell = the_cell(load_text(cell_yaml('      ports: ["9090", "0.0.0.0:53:53/udp"]\n'), "f"))
    assert cell.containers[0].ports == (
        Port(container_port=9090),
        Port(container_port=53, host_port=53, protocol="udp", host_ip="0.0.0.0"),
    )
    err = only_error(load_text(cell_yaml('      ports: ["99999:80"]\n'), "f"))
    assert "out of range" in err.message


def test_container_parent_ids_must_match_the_cell() -> None:
    err = only_error(load_text(cell_yaml("      spaceId: other\n"), "f"))
    assert err.location.field == "spec.containers[0].spaceId"


def test_exported_status_and_generation_are_ignored_with_warnings() -> None:
    text = cell_yaml().replace("  name: web\n", "  name: web\n  generation: 3\n")
    result = load_text(text + "status: {state: Ready}\n", "f")
    assert result.ok
    assert [w.location.field for w in result.warnings] == ["metadata.generation", "status"]


def test_a_fifo_named_like_a_manifest_is_refused_not_waited_on(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "stuck.yaml"
    os.mkfifo(fifo)
    result = load_paths([tmp_path])
    assert not result.ok and result.errors[0].message == "not a regular file"


def test_a_document_before_a_yaml_error_is_not_returned() -> None:
    """Found by the fuzzer: the parser yields the first document before it meets the
    garbage after it; the file must still give nothing."""
    text = "{apiVersion: v1beta1, kind: Realm, metadata: {name: r}}&a \n"
    result = load_text(text, "f.yaml")
    assert [str(e) for e in result.errors] and result.resources == ()
