"""The __main__ module an xdist worker names (tests/conftest.py): nothing runs here."""
