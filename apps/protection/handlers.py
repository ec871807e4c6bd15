"""Deadline handlers of the statutory clocks (filled in below)."""
