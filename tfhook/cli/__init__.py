"""The command line: one module per command family; no logic of their own."""
