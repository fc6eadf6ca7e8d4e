"""Readers for columnar and table formats beyond agent.scan.readers' text formats: each module
turns one format into the same Record / RecordError stream (issue 14; #13 makes readers a package
with a module per format, and these are shaped that way)."""
