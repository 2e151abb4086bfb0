"""Monitoring: ``/metrics`` for Prometheus, and the figures it shows that every process shares."""
