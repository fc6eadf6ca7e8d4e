"""Test support: the vendor SDK clients (run from their own venv) and plain HTTP clients."""
