# Enhanced load balancer (ELB) whose plan (CPS) is changed by the
# sacloud autoscaler's elb-vertical-scaler. Terraform creates it and owns
# everything else, but must never revert the plan chosen by the autoscaler:
# hence ignore_changes = [plan]. tfhook then runs
#   terraform apply -refresh-only -auto-approve -input=false -json
# after each scaling so that the state (and outputs) show the new plan.
resource "sakuracloud_proxylb" "elb" {
  name         = var.name
  plan         = var.initial_plan
  region       = var.region
  vip_failover = true

  health_check {
    protocol   = "http"
    delay_loop = 10
    path       = "/"
  }

  bind_port {
    proxy_mode = "http"
    port       = 80
  }

  dynamic "server" {
    for_each = var.servers
    content {
      ip_address = server.value.ip_address
      port       = server.value.port
    }
  }

  tags = ["autoscaler"]

  lifecycle {
    ignore_changes = [plan]
  }
}
