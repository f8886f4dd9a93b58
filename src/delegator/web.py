"""The operations endpoint: ``/healthz``, ``/readyz`` and ``/metrics``."""
