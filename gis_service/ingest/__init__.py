"""Importers: read a file, map its fields, validate and repair, then upsert in one transaction."""
