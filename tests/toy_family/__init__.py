"""A test-only exercise family, added through the contract and the registry alone, with the
same floor plan as the installed families (params, fields, search, view, oracle, exercise)."""

from tests.toy_family.exercise import EXERCISE

__all__ = ["EXERCISE"]
