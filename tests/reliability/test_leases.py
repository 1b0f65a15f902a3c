"""A crash inside a containerd lease leaves the lease behind, pinning what it holds for an
hour: the next runtime of the instance deletes it; leases of a live process are kept."""

from __future__ import annotations

import asyncio

import pytest

from kukeon._ctdapi.services.leases.v1 import leases_pb2
from kukeon.drivers.containerd.runtime import ContainerdRuntime
from kukeon.model.naming import Naming

pytestmark = pytest.mark.integration


async def _leases(rt: ContainerdRuntime, ns: str) -> set[str]:
    resp = await rt.client.leases.List(leases_pb2.ListRequest(), **rt.client.opts(ns))
    return {lease.id for lease in resp.leases}


def test_stale_leases_are_swept_once(containerd_socket: str, naming: Naming) -> None:
    async def go() -> None:
        ns = naming.namespace("default")
        old = ContainerdRuntime(containerd_socket, naming)
        await old.ensure_namespace("default", ns)
        stale = old.client.lease(ns, "create")
        await stale.__aenter__()  # never exited: the process "crashed" here
        await asyncio.sleep(1.1)  # containerd's created_at has second granularity
        rt = ContainerdRuntime(containerd_socket, naming)
        try:
            async with rt.client.lease(ns, "pull") as live:
                await rt.observe()
                assert await _leases(rt, ns) == {live}  # the stale one is gone, ours stays
        finally:
            await rt.delete_namespace("default", ns)
            await rt.close()
            await old.close()

    asyncio.run(go())
