"""subnet package."""
