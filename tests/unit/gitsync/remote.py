"""A git repository to follow in tests: a bare "remote" in a temporary directory and a
work tree that commits and pushes to it (no network: the URL is a local path)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

_ENV = {
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "HOME": "/nonexistent",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "LC_ALL": "C",
}


class Remote:
    def __init__(self, base: Path, branch: str = "main") -> None:
        self.bare = base / "remote.git"
        self.work = base / "work"
        self.branch = branch
        base.mkdir(parents=True, exist_ok=True)
        self._git("init", "--quiet", "--bare", str(self.bare), cwd=base)
        self._git("init", "--quiet", "-b", branch, str(self.work), cwd=base)

    @property
    def url(self) -> str:
        return str(self.bare)

    def _git(self, *args: str, cwd: Path | None = None) -> str:
        out = subprocess.run(
            ["git", "-c", "user.name=kukeon-test", "-c", "user.email=test@kukeon.invalid", *args],
            cwd=cwd or self.work,
            env=_ENV,
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
        if out.returncode != 0:
            raise AssertionError(f"git {args}: {out.stderr}")
        return out.stdout.strip()

    def commit(
        self, files: dict[str, str | None], message: str = "change", *, push: bool = True
    ) -> str:
        """Write (or, for None, delete) files, commit and push; returns the commit."""
        for name, text in files.items():
            path = self.work / name
            if text is None:
                path.unlink()
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
        self._git("add", "--all")
        self._git("commit", "--quiet", "--allow-empty", "-m", message)
        if push:
            self.push()
        return self._git("rev-parse", "HEAD")

    def push(self) -> None:
        self._git("push", "--quiet", "--force", str(self.bare), f"HEAD:refs/heads/{self.branch}")

    def tag(self, name: str) -> None:
        self._git("tag", "--force", "-a", "-m", name, name)
        self._git("push", "--quiet", "--force", str(self.bare), f"refs/tags/{name}")


def cell(name: str, *, env: str = "A=1", cmd: str = "sleep 1000") -> str:
    return f"""apiVersion: v1beta1
kind: Cell
metadata:
  name: {name}
spec:
  containers:
    - id: main
      image: docker.io/library/busybox:latest
      command: [/bin/sh, -c, "{cmd}"]
      env: ["{env}"]
"""
