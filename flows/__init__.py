"""Prefect flows and the `pathways` command line."""
