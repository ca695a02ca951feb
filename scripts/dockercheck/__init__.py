"""scripts/docker-check: two nodes under Docker Compose, built and checked end to end."""
