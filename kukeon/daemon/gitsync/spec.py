"""What a git source follows: a repository URL, a branch or a tag, a directory inside it,
how often to look, and where its credentials are. Shared by the config file and the API."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from pathlib import PurePosixPath
from typing import Any

from kukeon.model.errors import KukeonError

SOURCE_PREFIX = "git:"
DEFAULT_BRANCH = "main"
DEFAULT_INTERVAL = 60.0
MIN_INTERVAL = 0.1
_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_REF = re.compile(r"^[A-Za-z0-9._][A-Za-z0-9._/-]*$")
_SCHEMES = ("https://", "http://", "ssh://", "git://", "file://")
_SCP = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:")  # user@host:path (ssh)
_PASSWORD_IN_URL = re.compile(r"^[a-z]+://[^/@]*:[^/@]*@")
# config key -> attribute
CONFIG_KEYS = {
    "name": "name",
    "url": "url",
    "branch": "branch",
    "tag": "tag",
    "path": "path",
    "interval": "interval",
    "suspend": "suspend",
    "credentialsFile": "credentials_file",
}


class GitSpecError(KukeonError):
    pass


@dataclass(frozen=True)
class GitSpec:
    name: str
    url: str
    branch: str = ""  # empty and no tag: DEFAULT_BRANCH
    tag: str = ""
    path: str = ""  # directory inside the repository; "" is its root
    interval: float = DEFAULT_INTERVAL
    suspend: bool = False
    credentials_file: str = ""  # https: "user\npassword" lines; ssh: a private key
    origin: str = "api"  # config | api: where the source was declared

    @property
    def source(self) -> str:
        """The name of the source in desired state, status and ownership."""
        return SOURCE_PREFIX + self.name

    @property
    def ref(self) -> str:
        """The remote ref followed."""
        return f"refs/tags/{self.tag}" if self.tag else f"refs/heads/{self.branch}"

    @property
    def is_ssh(self) -> bool:
        return self.url.startswith("ssh://") or bool(_SCP.match(self.url))

    def validated(self) -> GitSpec:
        """A normalised copy, or GitSpecError saying what is wrong and how to fix it."""
        where = f"git source {self.name!r}"
        if not _NAME.match(self.name):
            raise GitSpecError(
                f"{where}: the name must be a DNS label", hint="lowercase letters, digits and -"
            )
        url = self.url.strip()
        if not url or url.startswith("-") or any(c.isspace() or ord(c) < 32 for c in url):
            raise GitSpecError(f"{where}: url {self.url!r} is not a repository URL")
        if not (url.startswith(_SCHEMES) or _SCP.match(url) or url.startswith("/")):
            raise GitSpecError(
                f"{where}: url {url!r} is not supported",
                hint="use https://, ssh://, user@host:path, file:// or an absolute path",
            )
        if _PASSWORD_IN_URL.match(url):
            raise GitSpecError(
                f"{where}: the url carries a password",
                hint="put the credentials in a file (mode 0600) and name it in credentialsFile",
            )
        if self.branch and self.tag:
            raise GitSpecError(f"{where}: give a branch or a tag, not both")
        for kind, ref in (("branch", self.branch), ("tag", self.tag)):
            if ref and (not _REF.match(ref) or ".." in ref or ref.endswith(("/", ".lock"))):
                raise GitSpecError(f"{where}: {kind} {ref!r} is not a valid git ref name")
        path = PurePosixPath(self.path.strip() or ".")
        if path.is_absolute() or ".." in path.parts:
            raise GitSpecError(
                f"{where}: path {self.path!r} must be relative to the repository root",
                hint="e.g. clusters/host1",
            )
        if self.interval < MIN_INTERVAL:
            raise GitSpecError(f"{where}: interval must be at least {MIN_INTERVAL}s")
        if self.credentials_file and not self.credentials_file.startswith("/"):
            raise GitSpecError(f"{where}: credentialsFile must be an absolute path")
        return replace(
            self,
            url=url,
            branch="" if self.tag else (self.branch or DEFAULT_BRANCH),
            path="" if str(path) == "." else str(path),
        )

    # -- persistence (store) ------------------------------------------------------------
    def to_doc(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> GitSpec:
        return cls(**{k: v for k, v in doc.items() if k in cls.__dataclass_fields__})

    @classmethod
    def from_config(cls, item: object, where: str) -> GitSpec:
        """One entry of the config file's ``git:`` list (camelCase keys)."""
        from kukeon.daemon.config import parse_duration

        if not isinstance(item, dict):
            raise GitSpecError(f"{where}: expected a mapping with name and url")
        unknown = sorted(set(item) - set(CONFIG_KEYS))
        if unknown:
            raise GitSpecError(
                f"{where}: unknown field {unknown[0]}", hint=f"known: {', '.join(CONFIG_KEYS)}"
            )
        if "name" not in item or "url" not in item:
            raise GitSpecError(f"{where}: name and url are required")
        values: dict[str, Any] = {CONFIG_KEYS[k]: v for k, v in item.items()}
        for key in ("name", "url", "branch", "tag", "path", "credentials_file"):
            if key in values:
                values[key] = str(values[key])
        try:
            if "interval" in values:
                values["interval"] = parse_duration(values["interval"])
        except KukeonError as err:
            raise GitSpecError(f"{where}: interval: {err}") from err
        values["suspend"] = bool(values.get("suspend", False))
        return cls(**values, origin="config").validated()
