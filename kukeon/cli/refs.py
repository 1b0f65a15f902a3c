"""Naming resources on the command line: kinds, aliases and bare names -> paths."""

from __future__ import annotations

from dataclasses import dataclass, field

from kukeon.model.errors import KukeonError

DEFAULT = "default"
KINDS = ("Realm", "Space", "Stack", "Cell")  # parents first
DEPTH = {kind: i + 1 for i, kind in enumerate(KINDS)}
_ALIASES = {
    "realm": "Realm",
    "realms": "Realm",
    "space": "Space",
    "spaces": "Space",
    "sp": "Space",
    "stack": "Stack",
    "stacks": "Stack",
    "st": "Stack",
    "cell": "Cell",
    "cells": "Cell",
    "c": "Cell",
}
KIND_WORDS = (*_ALIASES, "all")


class BadArgument(KukeonError):
    """A command line that cannot be carried out as written (exit 2, like a usage error)."""

    exit_code = 2


def parse_kind(word: str) -> str | None:
    """The canonical kind for ``word`` (any case, plural, short alias); None for ``all``."""
    if word.lower() == "all":
        return None
    try:
        return _ALIASES[word.lower()]
    except KeyError:
        raise BadArgument(
            f"unknown kind {word!r}", hint="use realm, space, stack, cell or all"
        ) from None


@dataclass(frozen=True)
class Scope:
    """--realm/--space/--stack; ``explicit`` names the ones given on the command line."""

    realm: str = DEFAULT
    space: str = DEFAULT
    stack: str = DEFAULT
    explicit: frozenset[str] = field(default_factory=frozenset)

    def expand(self, kind: str, name: str) -> str:
        """A path for ``name``: taken as is when it has a slash, else under the scope."""
        if "/" in name:
            return name.strip("/")
        parents = (self.realm, self.space, self.stack)[: DEPTH[kind] - 1]
        return "/".join((*parents, name))

    def list_prefix(self, all_realms: bool) -> str:
        """The path prefix a listing covers: the realm, narrowed by explicit --space/--stack."""
        if all_realms:
            return ""
        segments = [self.realm]
        if "space" in self.explicit:
            segments.append(self.space)
            if "stack" in self.explicit:
                segments.append(self.stack)
        return "/".join(segments)


def split_ref(ref: str) -> tuple[str | None, str]:
    """``cell/a/b/c/web`` or a bare ``a/b/c/web`` -> ("Cell", "a/b/c/web").

    The daemon may name resources either way; a bare path's kind is its depth.
    """
    head, sep, rest = ref.partition("/")
    kind = _ALIASES.get(head.lower())
    if sep and kind and rest.count("/") + 1 == DEPTH[kind]:
        return kind, rest
    depth = ref.count("/") + 1
    return (KINDS[depth - 1] if depth <= len(KINDS) else None), ref


def show_ref(ref: str) -> str:
    """How kuke prints a resource: ``cell/default/default/default/web``."""
    kind, path = split_ref(ref)
    return f"{kind.lower()}/{path}" if kind else ref
