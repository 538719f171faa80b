"""The SQLite run store: transactions and queries (``run_store``), schema and row formats
(``rows``)."""

from subnetsim.subnet.store.run_store import RunInfo, RunStore

__all__ = ["RunInfo", "RunStore"]
