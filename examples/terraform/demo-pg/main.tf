# The offline demo (../demo) with its Terraform state in PostgreSQL, so that several
# tfhook instances, each on its own working copy of this module, keep one state.
# The connection string comes from PG_CONN_STR, e.g.
#   export PG_CONN_STR="postgres://tfhook@db.example:5432/terraform?sslmode=require"
# Terraform's pg backend serialises writers with PostgreSQL advisory locks.

terraform {
  required_version = ">= 1.5.0"

  backend "pg" {}
}

# Where the simulated cloud lives: every working copy must read the same one (a real
# cloud API is one place too). Defaults to the copy beside this file.
variable "cloud_state" {
  type    = string
  default = ""
}

data "terraform_remote_state" "cloud" {
  backend = "local"
  config = {
    path = var.cloud_state != "" ? var.cloud_state : "${path.module}/cloud/cloud.tfstate"
  }
}

locals {
  elb = data.terraform_remote_state.cloud.outputs.elb
}

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
