terraform {
  required_version = ">= 1.5.0"

  required_providers {
    sakuracloud = {
      source  = "sacloud/sakuracloud"
      version = ">= 2.0.0, < 3.0.0"
    }
  }
}

# Credentials come from the environment:
#   SAKURACLOUD_ACCESS_TOKEN / SAKURACLOUD_ACCESS_TOKEN_SECRET
provider "sakuracloud" {
  zone = var.zone
}
