"""Removes every object one kukeond instance created on the host: containers, netns pins
and CNI attachments, space networks and their rules, cgroups, containerd namespaces, and
the embedded containerd. Run with kukeond stopped:
``python -m kukeon.app.uninstall [--config F] [--instance NAME] [--state-dir D] [--run-dir D]``."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import click

from kukeon.daemon.config import DaemonConfig, load_config, override
from kukeon.drivers.base import DriverError
from kukeon.drivers.cgroups import make_cgroups
from kukeon.drivers.containerd.embedded import start_embedded, stop_embedded
from kukeon.drivers.containerd.runtime import ContainerdRuntime
from kukeon.drivers.network import CniNetwork
from kukeon.model.identity import Kind, ResourcePath


async def _containerd(cfg: DaemonConfig) -> tuple[str, bool]:
    """A containerd that answers, and whether it is our embedded one."""
    if cfg.containerd_managed != "always" and cfg.containerd_socket.exists():
        probe = ContainerdRuntime(str(cfg.containerd_socket), cfg.naming, call_timeout=2.0)
        try:
            await probe.version()
            return str(cfg.containerd_socket), False
        except DriverError:
            pass
        finally:
            await probe.close()
    sock = await start_embedded(cfg.run_path, cfg.state_dir, cfg.log_dir / "containerd.log")
    return sock, True


async def remove_instance(cfg: DaemonConfig, containerd_socket: str) -> list[str]:
    """Delete everything labelled with the instance; returns what was removed."""
    naming = cfg.naming
    removed: list[str] = []
    runtime = ContainerdRuntime(containerd_socket, naming)
    network = CniNetwork(
        naming, run_dir=cfg.run_path, state_dir=cfg.state_dir, cni_bin_dirs=cfg.cni_bin_dirs
    )
    cgroups = make_cgroups(naming)
    try:
        obs = await runtime.observe()
        for c in obs.containers:
            await runtime.stop_container(c.path, 0)
            await runtime.delete_container(c.path)
            removed.append(f"container {c.path}")
        net = await network.observe()
        for cell in net.cells:
            await network.delete_cell(cell.path)
            removed.append(f"cell network {cell.path}")
        for space in net.spaces:
            await network.delete_space(space.path)
            removed.append(f"space network {space.path}")
        for group in await cgroups.observe():
            if group.path.kind is Kind.REALM:
                await cgroups.delete(group.path)
                removed.append(f"cgroups {group.path}")
        for realm in obs.namespaces:
            await runtime.delete_namespace(realm, naming.namespace(realm))
            removed.append(f"namespace {naming.namespace(realm)}")
        with contextlib.suppress(DriverError):
            await cgroups.delete(ResourcePath.of("default"))
    finally:
        await runtime.close()
        await network.close()
        await cgroups.close()
    return removed


async def _main(cfg: DaemonConfig) -> None:
    sock, embedded = await _containerd(cfg)
    for line in await remove_instance(cfg, sock):
        click.echo(f"removed {line}")
    if embedded:
        await stop_embedded(cfg.run_path)
        click.echo("stopped kukeond's containerd")


@click.command()
@click.option("--config", "config_path", type=click.Path(path_type=Path))
@click.option("--instance")
@click.option("--state-dir", type=click.Path(path_type=Path))
@click.option("--run-dir", "run_path", type=click.Path(path_type=Path))
@click.option("--containerd-socket", type=click.Path(path_type=Path))
def main(config_path: Path | None, **flags: object) -> None:
    """Remove everything a kukeond instance created (stop kukeond first)."""
    cfg, _ = load_config(config_path)
    asyncio.run(_main(override(cfg, **flags)))


if __name__ == "__main__":
    main()
