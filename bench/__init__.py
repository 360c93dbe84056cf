"""tfhook's benchmark (`make bench`)."""
