# Offline demo for tfhook: a "simulated cloud" whose ELB plan can be changed
# from outside Terraform with ./simulate-cloud-change, like the sacloud
# autoscaler does to a real ELB. Uses only Terraform's built-in provider
# (terraform.io/builtin/terraform), so `terraform init` needs no network.

terraform {
  required_version = ">= 1.5.0"
}

# The simulated cloud API: a local state file whose outputs describe the
# current ELB. ./simulate-cloud-change rewrites it.
data "terraform_remote_state" "cloud" {
  backend = "local"
  config = {
    path = "${path.module}/cloud/cloud.tfstate"
  }
}

locals {
  elb = data.terraform_remote_state.cloud.outputs.elb
}

# Stand-in for sakuracloud_proxylb: its id is the cloud resource id
# (adopted with the import block below) and, like the real module,
# the plan is ignored so that Terraform never reverts the autoscaler.
import {
  to = terraform_data.elb
  id = "113300000001"
}

resource "terraform_data" "elb" {
  input = {
    name = local.elb.name
    plan = local.elb.plan
  }

  lifecycle {
    ignore_changes = [input]
  }
}

output "elb_id" {
  value = terraform_data.elb.id
}

output "elb_name" {
  value = local.elb.name
}

output "elb_plan" {
  description = "Current ELB plan (CPS) as seen in the cloud at the last refresh."
  value       = local.elb.plan
}

output "elb_vip" {
  value = local.elb.vip
}
