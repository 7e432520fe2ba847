"""Pure computation: committed changes -> per-host goal-state deltas and snapshots."""
