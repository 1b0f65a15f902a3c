"""kukeond: wires config, store, drivers, sources, the control loop and the API together,
and runs until SIGTERM/SIGINT. Containers keep running when kukeond stops."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket as socketlib
import sys
from pathlib import Path

import click
import structlog

from kukeon.api.server import serve
from kukeon.daemon.config import ConfigError, DaemonConfig, load_config, override
from kukeon.daemon.events import EventLog
from kukeon.daemon.gitsync import GitSyncer
from kukeon.daemon.policy import gate
from kukeon.daemon.service import Service
from kukeon.daemon.sources import Sources
from kukeon.drivers.base import DriverError
from kukeon.drivers.cgroups import make_cgroups
from kukeon.drivers.containerd.embedded import start_embedded
from kukeon.drivers.containerd.runtime import ContainerdRuntime
from kukeon.drivers.network.driver import CniNetwork
from kukeon.manifests.watch import DirectoryWatcher
from kukeon.model.errors import KukeonError
from kukeon.reconcile.execute import Drivers
from kukeon.reconcile.loop import Controller, LoopConfig
from kukeon.store import Store
from kukeon.web import check_listen, serve_web

log = structlog.get_logger("kukeond")


def _configure_logging() -> None:
    renderer: structlog.types.Processor = (
        structlog.dev.ConsoleRenderer()
        if sys.stderr.isatty()
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )


def _sd_notify(message: str) -> None:
    addr = os.environ.get("NOTIFY_SOCKET")
    if not addr:
        return
    if addr.startswith("@"):
        addr = "\0" + addr[1:]
    with (
        socketlib.socket(socketlib.AF_UNIX, socketlib.SOCK_DGRAM) as s,
        contextlib.suppress(OSError),
    ):
        s.sendto(message.encode(), addr)


async def _containerd(cfg: DaemonConfig) -> str:
    """The system containerd when it answers (unless told otherwise), else our own."""
    if cfg.containerd_managed != "always" and cfg.containerd_socket.exists():
        probe = ContainerdRuntime(str(cfg.containerd_socket), cfg.naming, call_timeout=2.0)
        try:
            await probe.version()
            return str(cfg.containerd_socket)
        except DriverError as err:
            if cfg.containerd_managed == "never":
                raise
            log.warning("system containerd does not answer; starting our own", error=str(err))
        finally:
            await probe.close()
    elif cfg.containerd_managed == "never":
        raise KukeonError(
            f"no containerd at {cfg.containerd_socket}",
            hint="start containerd, or set containerd.managed: auto",
        )
    sock = await start_embedded(cfg.run_path, cfg.state_dir, cfg.log_dir / "containerd.log")
    log.info("using kukeond's own containerd", socket=sock)
    return sock


async def run(cfg: DaemonConfig) -> None:
    if cfg.web_listen:
        check_listen(cfg.web_listen, cfg.web_token)  # before anything starts
    for d in (cfg.state_dir, cfg.run_path, cfg.log_dir, cfg.manifests_dir):
        d.mkdir(parents=True, exist_ok=True)
    os.chmod(cfg.state_dir, 0o700)
    store = Store(cfg.store_path)
    await store.open()
    ctd_socket = await _containerd(cfg)
    naming = cfg.naming
    runtime = ContainerdRuntime(ctd_socket, naming)
    network = CniNetwork(
        naming,
        run_dir=cfg.run_path,
        state_dir=cfg.state_dir,
        cni_bin_dirs=cfg.cni_bin_dirs,
        subnet_pool=cfg.pod_subnet_cidr,
    )
    cgroups = make_cgroups(naming)
    released = await network.release_stale()
    if released:
        log.info("released stale network attachments after a reboot", count=released)
    events = EventLog(store)
    sources = Sources(store, cfg.manifests_dir)
    await sources.load()
    loop_cfg = LoopConfig(
        resync_seconds=cfg.reconcile_interval,
        backoff_base=cfg.backoff_base,
        backoff_cap=cfg.backoff_cap,
        restart_base=cfg.restart_base,
        concurrency=cfg.concurrency,
        stop_grace_seconds=cfg.stop_grace_seconds,
        prune_unowned=cfg.prune_unowned,
    )
    controller = Controller(
        Drivers(runtime, network, cgroups),
        naming,
        store,
        events,
        sources.desired,
        cfg.log_dir,
        loop_cfg,
        refuse=gate(cfg.policies),
    )
    git = GitSyncer(cfg.state_dir / "git", store, sources, events, controller.wake, cfg.git)
    await git.load()  # each git source's last good revision, before a pass may prune
    service = Service(cfg, controller, sources, store, events, runtime, ctd_socket, git=git)

    async def on_files(paths: set[Path] | None) -> None:
        await sources.rescan(paths)
        controller.wake()

    watcher = DirectoryWatcher(cfg.manifests_dir, on_files, debounce=cfg.debounce)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with contextlib.AsyncExitStack() as serving:
        await serving.enter_async_context(serve(service, cfg.socket, cfg.socket_group))
        if cfg.web_listen:
            await serving.enter_async_context(serve_web(service, cfg.web_listen, cfg.web_token))
        tasks = [
            asyncio.create_task(controller.run(), name="kukeon-loop"),
            asyncio.create_task(watcher.run(), name="kukeon-watch"),
            asyncio.create_task(git.run(), name="kukeon-git"),
        ]
        _sd_notify("READY=1")
        log.info(
            "kukeond ready",
            socket=str(cfg.socket),
            instance=cfg.instance,
            containerd=ctd_socket,
            cgroups=cgroups.mode,
        )
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
        _sd_notify("STOPPING=1")
        for t in [stopper, *tasks]:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        crashed = [t for t in done if t is not stopper and not t.cancelled() and t.exception()]
    for closer in (runtime.close, network.close, cgroups.close, store.close):
        with contextlib.suppress(Exception):
            await closer()
    if crashed:
        raise KukeonError(f"{crashed[0].get_name()} failed: {crashed[0].exception()!r}")
    log.info("kukeond stopped; containers keep running")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    help="ServerConfiguration file (default /etc/kukeon/kukeond.yaml).",
)
@click.option("--instance", help="Name scoping every object this kukeond owns (default kukeon).")
@click.option(
    "--manifests-dir", type=click.Path(path_type=Path), help="Watched manifests directory."
)
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path),
    help="State (store, CNI records, embedded containerd).",
)
@click.option(
    "--run-dir",
    "run_path",
    type=click.Path(path_type=Path),
    help="Runtime dir (netns pins, /etc files).",
)
@click.option("--log-dir", type=click.Path(path_type=Path), help="Container logs.")
@click.option("--socket", type=click.Path(path_type=Path), help="API socket path.")
@click.option("--containerd-socket", type=click.Path(path_type=Path), help="containerd's socket.")
@click.option(
    "--containerd-managed",
    type=click.Choice(["auto", "always", "never"]),
    help="Start our own containerd: when none answers (auto), always, or never.",
)
@click.option(
    "--cni-bin-dir",
    "cni_bin_dirs",
    multiple=True,
    type=click.Path(path_type=Path),
    help="CNI plugin directory (repeatable).",
)
@click.option("--resync", "reconcile_interval", type=float, help="Seconds between full resyncs.")
@click.option(
    "--stop-grace", "stop_grace_seconds", type=float, help="Seconds between SIGTERM and SIGKILL."
)
@click.option("--backoff-base", type=float, help="First retry delay of a failed action (s).")
@click.option("--restart-base", type=float, help="Delay before a second restart (s); doubles.")
@click.option("--debounce", type=float, help="Quiet time before a manifest change is read (s).")
@click.option("--pod-subnet", "pod_subnet_cidr", help="Pool that space subnets are taken from.")
@click.option(
    "--web", "web_listen", help="Serve the read-only web UI on HOST:PORT (loopback unless a token)."
)
def main(config_path: Path | None, **flags: object) -> None:
    """kukeond: the kukeon reconciler daemon."""
    _configure_logging()
    try:
        cfg, warnings = load_config(config_path)
        if flags.get("cni_bin_dirs"):
            flags["cni_bin_dirs"] = tuple(flags["cni_bin_dirs"])  # type: ignore[arg-type]
        else:
            flags.pop("cni_bin_dirs")
        cfg = override(cfg, **flags)
    except ConfigError as err:
        raise click.ClickException(str(err)) from err
    for w in warnings:
        log.warning(w)
    if os.geteuid() != 0:
        raise click.ClickException("kukeond must run as root (containerd, CNI and cgroups need it)")
    try:
        asyncio.run(run(cfg))
    except KukeonError as err:
        raise click.ClickException(str(err)) from err


def entry() -> None:
    main()


if __name__ == "__main__":
    entry()
