"""Illustrative demo data (a generated regency modelled on Kabupaten Seruyan); never real data."""
