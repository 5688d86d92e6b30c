"""Spend analytics: rollups kept as usage is written, Requesty's usage endpoints, reports,
recommendations and retention."""
