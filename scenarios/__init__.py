"""Shipped scenarios, drills, sweeps and snapshots (package data of ``subnetsim.scenarios``).

Read them through ``subnetsim.catalog`` (by name, e.g. ``default``), never by a path relative to
the source tree: an installed wheel has no source tree.
"""
