"""A test-only exercise family, added through the contract and the registry alone."""
