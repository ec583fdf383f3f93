"""Evidence beyond the logs: CloudWatch metrics and the load balancer's configuration, gathered for
the load balancers and target groups the logs name, and how each changes a signature's verdict."""
