"""`tfhook init`: templates rendered into a hook and its wiring."""
