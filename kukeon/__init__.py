"""kukeon: a single-host declarative container orchestrator."""

__version__ = "0.1.0"
__all__ = ["__version__"]
