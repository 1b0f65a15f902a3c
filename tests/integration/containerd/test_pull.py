"""Pull from a real docker-registry on 127.0.0.1 (inside the test's private netns).

skopeo needs --preserve-digests: by default it gzips uncompressed layers on push, which
changes the manifest digest.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from kukeon.drivers.base import PullProgress
from kukeon.drivers.containerd.runtime import ContainerdRuntime
from kukeon.model.resources import PullPolicy

pytestmark = pytest.mark.integration


@pytest.fixture
def registry(tmp_path: Path, busybox_archive: Path) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    addr = f"127.0.0.1:{port}"
    config = tmp_path / "registry.yml"
    config.write_text(
        f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {tmp_path / 'data'}\n"
        f"http:\n  addr: {addr}\n"
    )
    with (tmp_path / "registry.log").open("wb") as log:
        proc = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=log,
                                stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                urllib.request.urlopen(f"http://{addr}/v2/", timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "registry did not start"
                time.sleep(0.05)
        subprocess.run(
            ["skopeo", "copy", "--preserve-digests", "--dest-tls-verify=false", f"oci-archive:{busybox_archive}",
             f"docker://{addr}/library/busybox:latest"],
            check=True, capture_output=True,
        )  # fmt: skip
        yield addr
    finally:
        proc.terminate()
        proc.wait(10)


def test_pull_gives_the_same_digest_as_import(
    aio: asyncio.Runner, runtime: ContainerdRuntime, registry: str, busybox_archive: Path
) -> None:
    ns = runtime.naming.namespace("default")
    aio.run(runtime.ensure_namespace("default", ns))
    seen: list[PullProgress] = []
    pulled = aio.run(runtime.pull(ns, f"{registry}/library/busybox:latest", progress=seen.append))
    (imported,) = aio.run(runtime.import_archive(ns, busybox_archive))
    assert pulled.digest == imported.digest
    assert pulled.name == f"{registry}/library/busybox:latest"
    assert seen and seen[-1].status == "done"
    assert aio.run(runtime.ensure_image("default", f"{registry}/library/busybox",
                                        PullPolicy.ALWAYS)) == imported.digest  # fmt: skip
    names = {i.name: i.digest for i in aio.run(runtime.list_images(ns))}
    assert names == {pulled.name: pulled.digest, imported.name: imported.digest}
    aio.run(runtime.remove_image(ns, pulled.name))
    assert [i.name for i in aio.run(runtime.list_images(ns))] == [imported.name]
