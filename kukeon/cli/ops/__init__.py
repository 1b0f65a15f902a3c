"""Operations behind kuke's verbs: ``run_<verb>(client, opts, out) -> exit code``.

They never import click, so they are tested (and reused) without a command line.
"""
