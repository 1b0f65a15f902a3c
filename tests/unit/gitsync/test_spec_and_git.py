"""Git source specs (config and API), credentials handling and revision loading."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest

from kukeon.daemon.config import ConfigError, load_config
from kukeon.daemon.gitsync import GitError, GitSpec, GitSpecError
from kukeon.daemon.gitsync.git import Git, check_credentials, redact
from kukeon.daemon.gitsync.revision import load_revision, read_checkout
from tests.unit.gitsync.remote import cell

pytestmark = pytest.mark.timeout(30)


def test_defaults_and_normalisation() -> None:
    spec = GitSpec(name="apps", url=" https://example.invalid/r.git ", path="./a/b/").validated()
    assert (spec.url, spec.branch, spec.path, spec.ref) == (
        "https://example.invalid/r.git",
        "main",
        "a/b",
        "refs/heads/main",
    )
    tag = GitSpec(name="apps", url="git@example.invalid:r.git", tag="v1").validated()
    assert tag.ref == "refs/tags/v1" and tag.branch == "" and tag.is_ssh


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "Apps"}, "DNS label"),
        ({"url": "--upload-pack=evil"}, "not a repository URL"),
        ({"url": "ext::sh -c evil"}, "not a repository URL"),
        ({"url": "ftp://example.invalid/r"}, "not supported"),
        ({"url": "https://u:secret@example.invalid/r"}, "carries a password"),
        ({"branch": "a", "tag": "b"}, "not both"),
        ({"branch": "-x"}, "not a valid git ref"),
        ({"branch": "a..b"}, "not a valid git ref"),
        ({"path": "../etc"}, "relative to the repository root"),
        ({"path": "/etc"}, "relative to the repository root"),
        ({"interval": 0.0}, "interval"),
        ({"credentials_file": "creds"}, "absolute path"),
    ],
)
def test_invalid_specs_say_what_is_wrong(changes: dict[str, object], message: str) -> None:
    values: dict[str, object] = {"name": "apps", "url": "https://example.invalid/r", **changes}
    with pytest.raises(GitSpecError, match=message):
        GitSpec(**values).validated()  # type: ignore[arg-type]


def test_config_git_list(tmp_path: Path) -> None:
    path = tmp_path / "kukeond.yaml"
    path.write_text(
        "apiVersion: v1beta1\nkind: ServerConfiguration\nspec:\n  git:\n"
        "    - {name: apps, url: /srv/repo.git, path: hosts/a, interval: 30s}\n"
        "    - {name: base, url: 'https://example.invalid/b', tag: v2, suspend: true,"
        " credentialsFile: /etc/kukeon/git-creds}\n"
    )
    cfg, _ = load_config(path)
    apps, base = cfg.git
    assert (apps.name, apps.branch, apps.path, apps.interval, apps.origin) == (
        "apps", "main", "hosts/a", 30.0, "config",
    )  # fmt: skip
    assert base.tag == "v2" and base.suspend and base.credentials_file == "/etc/kukeon/git-creds"
    path.write_text(
        "apiVersion: v1beta1\nkind: ServerConfiguration\nspec:\n  git:\n"
        "    - {name: apps, url: /srv/repo.git, branche: x}\n"
    )
    with pytest.raises(ConfigError, match=r"spec.git\[0\]: unknown field branche"):
        load_config(path)


def test_credentials_reach_git_through_askpass_only(tmp_path: Path) -> None:
    creds = tmp_path / "creds"
    creds.write_text("robot\ns3cret-token\n")
    creds.chmod(0o644)
    with pytest.raises(GitError, match="chmod 600"):
        check_credentials(str(creds))
    creds.chmod(0o600)
    check_credentials(str(creds))
    git = Git(tmp_path / "home", str(creds))
    env = git.env()
    assert all("s3cret" not in v for v in env.values())
    assert env["GIT_TERMINAL_PROMPT"] == "0" and "GIT_DIR" not in env
    askpass = env["GIT_ASKPASS"]
    for prompt, answer in (("Username for 'https://x': ", "robot"), ("Password: ", "s3cret-token")):
        out = subprocess.run([askpass, prompt], env=env, capture_output=True, text=True, check=True)
        assert out.stdout == answer + "\n"
    ssh = Git(tmp_path / "home", str(creds), ssh=True).env()
    assert "-i '" + str(creds) + "'" in ssh["GIT_SSH_COMMAND"] and "GIT_ASKPASS" in ssh


def test_git_errors_are_reported_without_user_info(tmp_path: Path) -> None:
    assert redact("fatal: unable to access 'https://robot@example.invalid/r/'") == (
        "fatal: unable to access 'https://example.invalid/r/'"
    )
    git = Git(tmp_path / "home", timeout=10)
    with pytest.raises(GitError, match=r"git fetch failed: .*"):
        asyncio.run(
            git.run("--git-dir", str(tmp_path / "nope"), "fetch", "--", str(tmp_path / "x"))
        )


def test_a_revision_is_loaded_whole_and_symlinks_are_not_followed(tmp_path: Path) -> None:
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps/web.yaml").write_text(cell("web"))
    (tmp_path / "apps/notes.txt").write_text("not a manifest")
    (tmp_path / "apps/.hidden.yaml").write_text("broken: [")
    secret = tmp_path / "secret.yaml"
    secret.write_text("outside the directory")
    os.symlink(secret, tmp_path / "apps/link.yaml")
    files = read_checkout(tmp_path, "apps")
    assert list(files) == ["apps/web.yaml"]
    files["apps/again.yaml"] = cell("web")
    rev = load_revision("0123456789abcdef", files)
    assert not rev.ok
    assert rev.error_text().startswith("commit 0123456789ab: apps/web.yaml:1: metadata.name: ")
    assert "declared twice (here and at apps/again.yaml:1)" in rev.error_text()
