"""Agents: a language model driving a session's browser, step by step, to do a task."""
