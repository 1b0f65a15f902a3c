"""A real kukeond answers hostile requests with INVALID_ARGUMENT or NOT_FOUND: never
UNKNOWN/INTERNAL, never a traceback in its log, never a file outside its own dirs; and it
is alive and answering afterwards. One daemon serves the whole module (one running cell,
so per-cell requests get past "not found")."""

from __future__ import annotations

import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kukeon.api import kukeon_pb2 as pb
from kukeon.model.identity import ResourcePath
from tests.fixtures.kukeond import Kukeond, _teardown
from tests.security.hostfs import SYSTEM, changes, snapshot
from tests.security.hostile import CELL_FIELDS, HOSTILE_DOCS, HOSTILE_NAMES, cell_with

pytestmark = pytest.mark.integration

REFUSED = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND}
WEB = "default/default/default/web"
WEB_YAML = """\
apiVersion: v1beta1
kind: Cell
metadata: {name: web}
spec:
  containers:
    - id: main
      image: docker.io/library/busybox:latest
      command: [/bin/sh, -c, "echo hello from web; sleep 1000"]
"""
SECRET = "TOPSECRET-not-a-log"
MAX_CALL_SECONDS = 3.0  # the loader's 2 s bound plus the round trip


class Daemon(Kukeond):
    """A Kukeond in a directory nest: a path escaping its dirs lands in ``top``, watched."""

    top: Path
    before: dict[str, int]

    def unexpected_writes(self) -> list[str]:
        return changes(self.before, snapshot((*SYSTEM, self.top), exclude=[self.base]))


@pytest.fixture(scope="module")
def daemon(containerd_socket: str, busybox_archive: Path) -> Iterator[Daemon]:
    top = Path(tempfile.mkdtemp(prefix="kukeon-sec-", dir="/var/tmp"))
    base = top / "a" / "b" / "daemon"
    base.mkdir(parents=True)
    (base.parent / "secret.log").write_text(SECRET)  # what a traversal would read
    (top / "secret.log").write_text(SECRET)
    d = Daemon(base, "kt" + secrets.token_hex(3), containerd_socket)
    d.top = top
    d.start()
    d.import_busybox(busybox_archive)
    d.apply(WEB_YAML)
    d.wait_phase(WEB, "Ready")
    wait_log = time.monotonic() + 10
    while not list(d.log_dir.rglob("main.log")) and time.monotonic() < wait_log:
        time.sleep(0.1)
    d.before = snapshot((*SYSTEM, top), exclude=[base])
    try:
        yield d
    finally:
        try:
            _teardown(d)
        finally:
            shutil.rmtree(top, ignore_errors=True)


def code_of(call: Callable[[], Any]) -> tuple[grpc.StatusCode, str, Any]:
    """The status code, details and reply (or the list of streamed replies) of a call."""
    try:
        reply = call()
        if hasattr(reply, "__next__"):  # a server stream
            reply = list(reply)
        return grpc.StatusCode.OK, "", reply
    except grpc.RpcError as err:
        return err.code(), err.details() or "", None


def assert_healthy(d: Daemon) -> None:
    """Alive, answering, no traceback logged, nothing written outside its dirs."""
    assert d.proc is not None and d.proc.poll() is None, f"kukeond died:\n{d.tail()}"
    status = d.api.Status(pb.StatusRequest(), timeout=10)
    assert status.instance == d.instance
    assert d.cell(WEB).phase == "Ready"
    log = d.log.read_text(errors="replace")
    assert "Traceback" not in log, log[log.index("Traceback") - 2000 :][:6000]
    assert not d.unexpected_writes()


def docs(text: str, name: str = "hostile.yaml") -> list[Any]:
    return [pb.Document(name=name, content=text)]


# -- manifests through the API ----------------------------------------------------------------


def test_hostile_documents_are_invalid_argument_on_every_rpc(daemon: Daemon) -> None:
    api = daemon.api
    marker = daemon.top / "pwned"
    rpcs: dict[str, Callable[[list[Any]], Any]] = {
        "Apply": lambda ds: api.Apply(pb.ApplyRequest(documents=ds), timeout=30),
        "Apply dry-run": lambda ds: api.Apply(pb.ApplyRequest(documents=ds, dry_run=True), timeout=30),
        "Diff": lambda ds: api.Diff(pb.DiffRequest(documents=ds), timeout=30),
        "Delete": lambda ds: api.Delete(pb.DeleteRequest(documents=ds), timeout=30),
    }
    slowest = (0.0, "")
    for case, h in HOSTILE_DOCS.items():
        text = h.text.replace("{marker}", str(marker))
        for rpc, call in rpcs.items():
            start = time.monotonic()
            code, details, _ = code_of(lambda call=call, text=text: call(docs(text)))
            seconds = time.monotonic() - start
            slowest = max(slowest, (seconds, f"{rpc} {case}"))
            assert code == grpc.StatusCode.INVALID_ARGUMENT, (case, rpc, code, details[:500])
            where = "hostile.yaml" + (f":{h.line}" if h.line is not None else "")
            # a long list of problems is cut to what a status message carries
            said = h.says in details or (case == "error-flood" and "more line(s)" in details)
            assert where in details and said, (case, rpc, details[:500])
            assert seconds < MAX_CALL_SECONDS, (case, rpc, seconds)
    assert not marker.exists()
    assert_healthy(daemon)
    print(f"slowest hostile document call: {slowest[1]} {slowest[0] * 1000:.0f} ms")


def test_a_message_over_the_transport_limit_is_refused_before_kukeond_reads_it(
    daemon: Daemon,
) -> None:
    code, _, _ = code_of(lambda: daemon.api.Apply(pb.ApplyRequest(documents=docs("#" * (9 << 20)))))
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert_healthy(daemon)


def test_hostile_names_in_manifests_are_invalid_argument_with_file_line_field(
    daemon: Daemon,
) -> None:
    for name, value in HOSTILE_NAMES.items():
        for field, placeholder in CELL_FIELDS.items():
            text, line = cell_with(placeholder, value)
            for dry_run in (False, True):
                code, details, _ = code_of(
                    lambda text=text, dry_run=dry_run: daemon.api.Apply(
                        pb.ApplyRequest(documents=docs(text, "cell.yaml"), dry_run=dry_run),
                        timeout=10,
                    )
                )
                assert code == grpc.StatusCode.INVALID_ARGUMENT, (name, field, code, details)
                assert f"cell.yaml:{line}: {field}:" in details, (name, field, details)
    assert set(daemon.cells()) == {WEB}
    assert_healthy(daemon)


# -- names as paths ----------------------------------------------------------------------------


def hostile_paths() -> Iterator[str]:
    """Each hostile name alone and in every segment of a cell (and container) path; only
    paths that are not valid (a trailing "" collapses into a valid stack path)."""
    for value in HOSTILE_NAMES.values():
        segments = ["default", "default", "default", "web", "main"]
        candidates = [value]
        for i in range(5):
            candidates.append("/".join([*segments[:i], value, *segments[i + 1 :]]))
        for path in candidates:
            try:
                ResourcePath.parse(path)
            except ValueError:
                yield path


def test_hostile_paths_are_refused_by_every_rpc(daemon: Daemon) -> None:
    api = daemon.api
    rpcs: dict[str, Callable[[str], Any]] = {
        "Get": lambda p: api.Get(pb.GetRequest(path=p), timeout=10),
        "Delete": lambda p: api.Delete(pb.DeleteRequest(paths=[p]), timeout=10),
        "Start": lambda p: api.Start(pb.TargetRequest(path=p), timeout=10),
        "Stop": lambda p: api.Stop(pb.TargetRequest(path=p), timeout=10),
        "Restart": lambda p: api.Restart(pb.TargetRequest(path=p), timeout=10),
        "Logs cell": lambda p: api.Logs(pb.LogsRequest(cell=p), timeout=10),
        "Logs container": lambda p: api.Logs(pb.LogsRequest(cell=WEB, container=p), timeout=10),
        "ImageList realm": lambda p: api.ImageList(pb.ImageListRequest(realm=p), timeout=10),
        "ImageRemove realm": lambda p: api.ImageRemove(
            pb.ImageRemoveRequest(ref="busybox", realm=p), timeout=10
        ),
    }
    paths = list(hostile_paths())
    for path in paths:
        for rpc, call in rpcs.items():
            if path == "" and rpc.startswith(("Logs container", "Image")):
                continue  # empty there means the default (root container, default realm)
            code, details, _ = code_of(lambda call=call, path=path: call(path))
            assert code in REFUSED, (rpc, path[:80], code, details)
    # filters match nothing they should not (the store matches Events' prefix with LIKE:
    # "%" and "_" would be wildcards, a 64 KiB pattern an error)
    for path in filter(None, paths):  # empty: no filter
        code, details, reply = code_of(
            lambda p=path: api.List(pb.ListRequest(kind=p, prefix=p), timeout=10)
        )
        assert code == grpc.StatusCode.OK and not reply.resources, (path[:80], details)
        code, details, events = code_of(
            lambda p=path: api.Events(pb.EventsRequest(prefix=p), timeout=10)
        )
        assert code in REFUSED | {grpc.StatusCode.OK}, (path[:80], code, details)
        assert not events, (path[:80], events)
    for wild in ("%", "_", "default/%", "d_fault", "a" * 65536, f"{WEB}\x00/x"):
        code, _, events = code_of(lambda w=wild: api.Events(pb.EventsRequest(prefix=w), timeout=10))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and not events, wild[:80]
    code, _, events = code_of(lambda: api.Events(pb.EventsRequest(prefix=WEB), timeout=10))
    assert code == grpc.StatusCode.OK and events
    assert daemon.cell(WEB).containers[0].state == "running"
    assert_healthy(daemon)
    print(f"{len(paths)} hostile paths x {len(rpcs)} rpcs refused")


def test_logs_never_open_a_file_outside_the_log_dir(daemon: Daemon) -> None:
    secret = daemon.base.parent / "secret"  # + ".log", as kukeond would add
    depth = len(daemon.log_dir.parts) + 6
    attempts = [
        "../../../../../secret",
        "../../../../../../secret",
        "../../../../../../../secret",
        str(secret),
        "../" * depth + str(secret).lstrip("/"),
        str(daemon.top / "secret"),
        "main/../../../../../../secret",
        "..",
        ".",
        "main\x00",
        "/proc/self/environ\x00",
    ]
    for container in attempts:
        for follow in (False, True):
            code, details, chunks = code_of(
                lambda c=container, f=follow: daemon.api.Logs(
                    pb.LogsRequest(cell=WEB, container=c, follow=f, tail=5), timeout=5
                )
            )
            data = b"".join(ch.data for ch in chunks or [])
            assert SECRET.encode() not in data, f"{container!r} read a file outside the log dir"
            assert code == grpc.StatusCode.INVALID_ARGUMENT, (container, code, details)
    # the real log is still served
    _, _, chunks = code_of(lambda: daemon.api.Logs(pb.LogsRequest(cell=WEB, container="main")))
    assert b"hello from web" in b"".join(ch.data for ch in chunks)
    assert_healthy(daemon)


# -- fuzzing -----------------------------------------------------------------------------------

# Valid UTF-8 (protobuf refuses surrogates before sending), biased to path-like text.
TEXT = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=80),
    st.lists(
        st.sampled_from(["default", "web", "main", "..", ".", "", "a", *HOSTILE_NAMES.values()]),
        max_size=6,
    ).map("/".join),
).filter(lambda p: not _names_what_exists(p))


def _names_what_exists(text: str) -> bool:
    """Whether ``text`` is the path of the module's cell or one of its parents: the fuzzer
    must not stop or delete what the other checks look at."""
    try:
        path = ResourcePath.parse(text)
    except ValueError:
        return False
    return set(path.segments) <= {"default", "web", "main"}
REQUESTS = st.one_of(
    st.builds(lambda p: ("Get", pb.GetRequest(path=p)), TEXT),
    st.builds(lambda p, k: ("Get", pb.GetRequest(path=p, kind=k)), TEXT, TEXT),
    st.builds(lambda ps: ("Delete", pb.DeleteRequest(paths=ps)), st.lists(TEXT, max_size=3)),
    st.builds(lambda p: ("Start", pb.TargetRequest(path=p)), TEXT),
    st.builds(lambda p: ("Stop", pb.TargetRequest(path=p)), TEXT),
    st.builds(
        lambda c, n, t: ("Logs", pb.LogsRequest(cell=c, container=n, tail=t)),
        st.one_of(TEXT, st.just(WEB)),
        TEXT,
        st.integers(-(2**31), 2**31 - 1),
    ),
    st.builds(
        lambda n, c: ("Apply", pb.ApplyRequest(documents=[pb.Document(name=n, content=c)], dry_run=True)),
        TEXT,
        st.one_of(TEXT, st.sampled_from([h.text for h in HOSTILE_DOCS.values() if len(h.text) < 10_000])),
    ),
    st.builds(
        lambda n, c: ("Diff", pb.DiffRequest(documents=[pb.Document(name=n, content=c)])),
        TEXT,
        TEXT,
    ),
    st.builds(
        lambda k, p: ("List", pb.ListRequest(kind=k, prefix=p)), TEXT, TEXT
    ),
    st.builds(
        lambda a, p, n: ("Events", pb.EventsRequest(after_id=a, prefix=p, limit=n)),
        st.integers(-(2**63), 2**63 - 1),
        TEXT,
        st.integers(-(2**31), 2**31 - 1),
    ),
    st.builds(lambda r: ("ImageList", pb.ImageListRequest(realm=r)), TEXT),
)
# What each RPC may answer: a refusal, or OK where reading or a dry run is harmless.
ALLOWED = {
    "Get": REFUSED, "Start": REFUSED, "Stop": REFUSED,
    "Delete": REFUSED | {grpc.StatusCode.OK},  # OK: nothing named, nothing deleted
    "Logs": REFUSED | {grpc.StatusCode.OK},
    "Apply": REFUSED | {grpc.StatusCode.OK}, "Diff": REFUSED | {grpc.StatusCode.OK},
    "List": {grpc.StatusCode.OK}, "Events": REFUSED | {grpc.StatusCode.OK},
    "ImageList": REFUSED | {grpc.StatusCode.OK},
}  # fmt: skip


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(req=REQUESTS)
def test_fuzzed_requests_get_only_allowed_codes(daemon: Daemon, req: tuple[str, Any]) -> None:
    rpc, request = req
    code, details, reply = code_of(lambda: getattr(daemon.api, rpc)(request, timeout=10))
    assert code in ALLOWED[rpc], (rpc, request, code, details)
    if rpc == "Delete" and code == grpc.StatusCode.OK:
        assert not reply.deleted
    assert daemon.proc is not None and daemon.proc.poll() is None, daemon.tail()


def test_after_fuzzing_kukeond_is_healthy_and_wrote_nothing_outside(daemon: Daemon) -> None:
    """Runs last in the module (file order): the whole module's effects are checked here."""
    assert set(daemon.cells()) == {WEB}
    assert_healthy(daemon)
