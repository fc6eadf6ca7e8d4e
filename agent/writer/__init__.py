"""The writer process: drains the journal into the store (see docs/architecture.md)."""
