"""Kill-switch drills: an attack, the council's response, and the report."""
