"""simcloud: a Terraform provider that stands in for a cloud API, for tfhook's tests and demo.

Terraform, its state and tfhook are real; only the cloud is simulated. The cloud is a JSON
file (see `api.py`) that the provider reads and writes, and that tests and
`examples/terraform/demo/simulate-cloud-change` edit behind Terraform's back, as an
autoscaler changes a real cloud.
"""

PROVIDER = "registry.terraform.io/tfhook/simcloud"
