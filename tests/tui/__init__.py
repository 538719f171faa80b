"""Tests of the dashboard (tui package)."""
