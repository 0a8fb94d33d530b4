"""On-disk state: the per-run SQLite store and the cross-run verdict cache."""

from swe_monkeys.store.run_store import RunStore

__all__ = ["RunStore"]
