# The offline demo with its Terraform state in PostgreSQL, so that several tfhook
# instances, each on its own working copy of this module, keep one state. main.tf is
# ../demo/main.tf; cloud/ is this example's own simulated cloud.
# The connection string comes from PG_CONN_STR, e.g.
#   export PG_CONN_STR="postgres://tfhook@db.example:5432/terraform?sslmode=require"
# and PG_SCHEMA_NAME picks the schema (default terraform_remote_state). Terraform's pg
# backend serialises writers with PostgreSQL advisory locks.

terraform {
  backend "pg" {}
}
