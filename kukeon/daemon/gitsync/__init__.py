"""GitOps: kukeond follows git repositories of manifests (pull-only)."""

from kukeon.daemon.gitsync.git import GitError
from kukeon.daemon.gitsync.spec import SOURCE_PREFIX, GitSpec, GitSpecError
from kukeon.daemon.gitsync.syncer import GitState, GitSyncer, GitView, Tracked

__all__ = [
    "SOURCE_PREFIX",
    "GitError",
    "GitSpec",
    "GitSpecError",
    "GitState",
    "GitSyncer",
    "GitView",
    "Tracked",
]
