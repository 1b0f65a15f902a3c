"""kuke's click commands, one module per verb group. Each turns its options into an
options dataclass and calls the matching ``kukeon.cli.ops`` function."""
