"""Export: kukeon resources as objects of another engine (Kubernetes), for users who
outgrow one host. Works without a daemon: manifests in, YAML out."""

from kukeon.export.kubernetes import Exported, ExportError, to_kubernetes
from kukeon.export.notes import Note
from kukeon.export.render import to_yaml, write_dir

__all__ = ["ExportError", "Exported", "Note", "to_kubernetes", "to_yaml", "write_dir"]
