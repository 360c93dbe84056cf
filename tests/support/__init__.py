"""What the tests share: real servers, Terraform directories, the simulated cloud, PostgreSQL."""
