"""Generated protocol code for the autoscaler handler API (never edit by hand)."""
