variable "zone" {
  description = "Default zone for the provider (the ELB itself is global; see var.region)."
  type        = string
  default     = "is1a"
}

variable "name" {
  description = "ELB name. The autoscaler's `selector.names` must match it."
  type        = string
  default     = "example-elb"
}

variable "region" {
  description = "ELB region: is1, tk1 or anycast."
  type        = string
  default     = "is1"
}

variable "initial_plan" {
  description = "Plan (CPS) used when the ELB is created. Afterwards the autoscaler owns it."
  type        = number
  default     = 100
}

variable "servers" {
  description = "Real servers behind the ELB."
  type = list(object({
    ip_address = string
    port       = number
  }))
  default = []
}
