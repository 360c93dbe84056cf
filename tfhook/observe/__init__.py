"""What tfhook tells: logs, metrics, the observer and redaction."""
