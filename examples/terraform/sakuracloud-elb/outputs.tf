output "elb_id" {
  value = sakuracloud_proxylb.elb.id
}

output "elb_name" {
  value = sakuracloud_proxylb.elb.name
}

output "elb_plan" {
  description = "Plan (CPS) recorded in state; follows the autoscaler after each refresh-only apply."
  value       = sakuracloud_proxylb.elb.plan
}

output "elb_fqdn" {
  value = sakuracloud_proxylb.elb.fqdn
}

output "elb_vip" {
  value = sakuracloud_proxylb.elb.vip
}
