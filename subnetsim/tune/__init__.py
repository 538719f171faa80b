"""Objective-driven search over scenario parameters (``subnetsim tune``, docs/tuning.md)."""
