"""Test suite: runs against a throwaway PostGIS started by conftest.py."""
