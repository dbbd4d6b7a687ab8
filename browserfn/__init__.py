"""browserfn: self-hostable serverless browser automations, wire-compatible with Notte Functions."""

__version__ = "0.1.0"
