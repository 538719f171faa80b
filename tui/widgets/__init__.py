"""Dashboard panels. Each panel has ``show(snapshot)`` and reads nothing else."""
