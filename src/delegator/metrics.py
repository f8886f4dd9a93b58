"""The service's Prometheus metrics, in one registry."""
