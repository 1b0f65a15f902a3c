"""The git CLI, run without a shell: list arguments, a scrubbed environment, no prompts,
a timeout on every command. Credentials come from a file through GIT_ASKPASS (https) or
``ssh -i`` (ssh); they are never in an argument, an environment value or a message."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import stat
from pathlib import Path

from kukeon.model.errors import KukeonError

TARGET_REF = "refs/kukeon/target"  # where the followed branch or tag lands in the mirror
ALLOWED_PROTOCOLS = "file:git:http:https:ssh"
_ASKPASS = """#!/bin/sh
# kukeond's GIT_ASKPASS: git asks for "Username for ..." then "Password for ...";
# both come from the credentials file (line 1: user, line 2: password or token).
{ IFS= read -r user; IFS= read -r pass; } < "$KUKEON_GIT_CREDENTIALS"
case "$1" in Username*) printf '%s\\n' "$user" ;; *) printf '%s\\n' "$pass" ;; esac
"""
_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


class GitError(KukeonError):
    pass


def redact(text: str) -> str:
    """Drop user info from any URL in ``text`` (git echoes URLs in its errors)."""
    return _USERINFO.sub("", text)


def check_credentials(path: str) -> None:
    """A credentials file must be a regular file only its owner may read (as ssh wants)."""
    try:
        st = os.stat(path)
    except OSError as err:
        raise GitError(
            f"credentials file {path}: {err.strerror}", hint="create it, mode 0600"
        ) from None
    if not stat.S_ISREG(st.st_mode):
        raise GitError(f"credentials file {path} is not a regular file")
    if st.st_mode & 0o077:
        raise GitError(f"credentials file {path} is readable by others", hint=f"chmod 600 {path}")


class Git:
    """git commands for one source; ``home`` is its private dir (HOME, askpass script)."""

    def __init__(self, home: Path, credentials_file: str = "", *, ssh: bool = False,
                 timeout: float = 120.0) -> None:  # fmt: skip
        self.home = home
        self.credentials_file = credentials_file
        self.ssh = ssh
        self.timeout = timeout
        self.binary = shutil.which("git") or "git"

    def env(self) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "HOME": str(self.home),
            "LC_ALL": "C",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_ALLOW_PROTOCOL": ALLOWED_PROTOCOLS,
            "GIT_ASKPASS": "/bin/false",  # no credentials: fail, never prompt
            "GIT_SSH_COMMAND": self._ssh_command(None),
        }
        if self.credentials_file:
            if self.ssh:
                env["GIT_SSH_COMMAND"] = self._ssh_command(self.credentials_file)
            else:
                env["GIT_ASKPASS"] = str(self._askpass())
                env["KUKEON_GIT_CREDENTIALS"] = self.credentials_file
        return env

    def _ssh_command(self, key: str | None) -> str:
        # GIT_SSH_COMMAND is split by a shell inside git: quote the paths we put in it.
        known = _quote(str(self.home / "known_hosts"))
        cmd = "ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new"
        cmd += f" -o UserKnownHostsFile={known}"
        if key:
            cmd += f" -o IdentitiesOnly=yes -i {_quote(key)}"
        return cmd

    def _askpass(self) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        script = self.home / "askpass.sh"
        if not script.exists() or script.read_text() != _ASKPASS:
            tmp = script.with_suffix(".tmp")
            tmp.write_text(_ASKPASS)
            tmp.chmod(0o700)
            tmp.replace(script)
        return script

    async def run(self, *args: str, index: Path | None = None, timeout: float | None = None) -> str:
        """Run ``git ARGS``; returns stdout, or raises GitError with git's own message."""
        verb = _verb(args)
        if self.credentials_file:
            check_credentials(self.credentials_file)
        env = self.env()
        if index is not None:
            env["GIT_INDEX_FILE"] = str(index)
        self.home.mkdir(parents=True, exist_ok=True)
        try:
            proc = await asyncio.create_subprocess_exec(
                self.binary, *args,
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, env=env, cwd=self.home,
            )  # fmt: skip
        except OSError as err:
            raise GitError(
                f"cannot run git: {err.strerror or err}", hint="apt-get install git"
            ) from None
        try:
            async with asyncio.timeout(timeout or self.timeout):
                out, errout = await proc.communicate()
        except TimeoutError:
            raise GitError(
                f"git {verb} took longer than {timeout or self.timeout:.0f}s",
                hint="check that the repository answers",
            ) from None
        finally:  # timed out, or the sync was cancelled (removal, shutdown): no orphan git
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.communicate()
        if proc.returncode != 0:
            message = redact(errout.decode(errors="replace").strip()) or f"exit {proc.returncode}"
            raise GitError(f"git {verb} failed: {_last_lines(message)}")
        return out.decode(errors="replace")


class Mirror:
    """A bare repository holding what was fetched of one source."""

    def __init__(self, git: Git, path: Path) -> None:
        self.git = git
        self.path = path

    async def ensure(self) -> None:
        if not (self.path / "HEAD").exists():
            await self.git.run("init", "--bare", "--quiet", str(self.path))

    async def fetch(self, url: str, ref: str) -> str:
        """Fetch ``ref`` of ``url``; returns the commit it names."""
        await self.git.run(
            "--git-dir", str(self.path), "fetch", "--quiet", "--no-tags", "--force",
            "--no-write-fetch-head", "--", url, f"+{ref}:{TARGET_REF}",
        )  # fmt: skip
        out = await self.git.run(
            "--git-dir", str(self.path), "rev-parse", "--verify", f"{TARGET_REF}^{{commit}}"
        )
        return out.strip()

    async def entries(self, commit: str, path: str) -> list[str] | None:
        """The names in directory ``path`` of ``commit``; None when it is not a directory."""
        try:
            out = await self.git.run(
                "--git-dir", str(self.path), "ls-tree", "--name-only", f"{commit}:{path}"
            )
        except GitError:
            return None
        return out.splitlines()

    async def checkout(self, commit: str, path: str, dest: Path) -> None:
        """Write ``path`` of ``commit`` into the new directory ``dest`` (a private index, so
        the mirror is never touched)."""
        dest.mkdir(parents=True)
        await self.git.run(
            "--git-dir", str(self.path), "--work-tree", str(dest), "checkout", "--quiet",
            commit, "--", path or ".",
            index=dest.parent / f".{dest.name}.index",
        )  # fmt: skip
        (dest.parent / f".{dest.name}.index").unlink(missing_ok=True)


def _verb(args: tuple[str, ...]) -> str:
    """The git subcommand in ``args`` (after global options such as --git-dir X)."""
    skip = False
    for arg in args:
        if not skip and not arg.startswith("-"):
            return arg
        skip = arg in ("--git-dir", "--work-tree")
    return "command"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _last_lines(text: str, n: int = 3) -> str:
    return " / ".join(text.splitlines()[-n:])
