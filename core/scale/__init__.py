"""Galleries past one machine: a sharded, memory-mapped IVF / IVF-PQ index (`shards`) and a Ray
Data indexer (`ray_index`, an optional extra). Nothing here imports faiss or ray at import time."""
from core.scale.shards import Manifest, ShardedIndex, build, choose_kind, open_index, read_manifest

__all__ = ["Manifest", "ShardedIndex", "build", "choose_kind", "open_index", "read_manifest"]
