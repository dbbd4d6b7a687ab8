"""The HTTP API: Notte's functions API, served by FastAPI."""
