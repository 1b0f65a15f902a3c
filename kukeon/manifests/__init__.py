"""Manifests: loading YAML/JSON into model resources, with file:line in every error."""

from kukeon.manifests.loader import (
    API_VERSION,
    SKIPPED_KINDS,
    LoadResult,
    is_manifest_name,
    load_file,
    load_paths,
    load_text,
    load_texts,
    manifest_files,
)
from kukeon.manifests.schema import KIND_SCHEMAS, load_schema, schema_dir

__all__ = [
    "API_VERSION",
    "KIND_SCHEMAS",
    "SKIPPED_KINDS",
    "LoadResult",
    "is_manifest_name",
    "load_file",
    "load_paths",
    "load_schema",
    "load_text",
    "load_texts",
    "manifest_files",
    "schema_dir",
]
