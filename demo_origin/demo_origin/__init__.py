"""A development tool, not a service: the live demo HLS stream that ./run-local archives and the
tests and the Docker check record from. No service image installs it."""
