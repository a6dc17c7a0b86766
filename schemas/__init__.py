"""Schemas declared once: landing contracts, tables we write, code lists."""
