"""The model and the path of a call: routing, fan-out, single flight, slots."""
