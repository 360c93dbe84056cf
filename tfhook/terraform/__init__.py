"""Terraform support: engine choice, the -json event reader, state look-ups."""
