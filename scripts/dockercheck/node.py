"""One node: the real docker-compose.yml run as a compose project from its own directory
(.env, secrets/, cutter-config.json, postgres-seed/), by one compose implementation."""

import json
import os

from .proc import CheckFailed, run


class Node:
    def __init__(self, name, project, directory, compose, compose_file, client):
        self.name = name                # node-a
        self.project = project          # compose project name
        self.directory = directory
        self.compose = compose          # argv prefix: [docker, compose] or [docker-compose]
        self.compose_file = compose_file
        self.client = client

    @property
    def env_path(self):
        return os.path.join(self.directory, ".env")

    def compose_argv(self, *args):
        return [*self.compose, "--project-name", self.project, "--file", self.compose_file,
                "--project-directory", self.directory, "--env-file", self.env_path, *args]

    def run(self, *args, timeout=600, check=True):
        return run(self.compose_argv(*args), timeout=timeout, check=check)

    def exec(self, service, *argv, timeout=120, check=True, input=None):
        """argv in the service's running container; its stdout."""
        result = run(self.compose_argv("exec", "-T", service, *argv), timeout=timeout,
                     check=check, input=input)
        return result.stdout

    def container(self, service):
        ids = self.run("ps", "-q", service).stdout.split()
        if len(ids) != 1:
            raise CheckFailed(f"{self.name}: {len(ids)} containers for {service}")
        return ids[0]

    def containers(self):
        """{service: container id} of every container of the project, running or not."""
        result = run([self.client, "ps", "-a", "--filter",
                      f"label=com.docker.compose.project={self.project}",
                      "--format", "{{.ID}}"])
        found = {}
        for cid in result.stdout.split():
            labels = inspect(self.client, cid)["Config"]["Labels"]
            found[labels["com.docker.compose.service"]] = cid
        return found

    def psql(self, service, sql, database="archive"):
        """One query as the superuser over the container's local socket; rows of '|'-joined
        columns."""
        out = self.exec(service, "psql", "-X", "-q", "-At", "-U", "postgres", "-d", database,
                        "-c", sql)
        return [line for line in out.splitlines() if line]


def inspect(client, container):
    return json.loads(run([client, "inspect", container]).stdout)[0]
