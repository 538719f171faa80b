"""Sweeps: parameter grids x seeds on any executor, with a batched consensus fast path."""
