"""Coercion Pathways batch jobs: one package per stage, pure transforms plus a thin run()."""
