"""tfhook: a drop-in autoscaler handler that lets Terraform follow the autoscaler."""

from __future__ import annotations

__version__ = "0.1.0"
