"""The `browserfn` command."""
