"""kukeond's read-only Web UI (see app.py)."""

from kukeon.web.app import check_listen, serve_web

__all__ = ["check_listen", "serve_web"]
