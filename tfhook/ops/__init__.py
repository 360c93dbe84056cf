"""Operator tools: send, check, replay and explain a request."""
