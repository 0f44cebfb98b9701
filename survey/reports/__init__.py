"""Printed output (PDF cards, later tallies and archive sheets): pure functions over given data."""
