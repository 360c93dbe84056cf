# The demo on a simulated cloud that can drift: the simcloud provider (examples/simcloud)
# stands in for the cloud API only, keeping its objects in ../cloud/api.json, which
# ../simulate-cloud-change edits as the autoscaler would. Terraform, its state and tfhook are
# real. Needs the provider: `make simcloud`, then see examples/simcloud/README.md.

terraform {
  required_version = ">= 1.5.0"
  required_providers {
    simcloud = { source = "tfhook/simcloud" }
  }
}

provider "simcloud" {
  api = "${abspath(path.module)}/../cloud/api.json"
}

# The objects exist in the cloud already: adopt them (a normal apply does, once).
import {
  to = simcloud_server.web
  id = "113300000101"
}

import {
  to = simcloud_elb.main
  id = "113300000001"
}

resource "simcloud_server" "web" {
  name   = "web0"
  core   = 1
  memory = 2

  lifecycle {
    ignore_changes = [core, memory] # the autoscaler's to change
  }
}

resource "simcloud_elb" "main" {
  name    = "demo-elb"
  plan    = var.elb_plan # tfhook's converge writes the autoscaler's plan for it
  servers = [simcloud_server.web.id]
}

variable "elb_plan" {
  description = "The ELB plan (CPS); with converge on, tfhook keeps autoscaler.auto.tfvars.json in step."
  type        = number
  default     = 100
}

output "elb_id" {
  value = simcloud_elb.main.id
}

output "elb_plan" {
  description = "The ELB plan (CPS) the cloud had at the last refresh."
  value       = simcloud_elb.main.plan
}

output "elb_vip" {
  value = simcloud_elb.main.vip
}
