# Local stand-in for the official python:3.11-slim, built by docker/standin/build where no image
# registry is reachable: Debian bookworm's Python 3.11 with pip, at the paths and names the
# official image offers (`python`, `pip`, installs into /usr/local, runs as root).
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-pip \
    && rm -rf /var/lib/apt/lists/* \
    && ln -s /usr/bin/python3 /usr/local/bin/python \
    && ln -s /usr/bin/pip3 /usr/local/bin/pip \
    # The official image's pip installs into the system Python; Debian's refuses (PEP 668).
    && rm -f /usr/lib/python3.11/EXTERNALLY-MANAGED
ENV LANG=C.UTF-8
LABEL archive.standin=true
CMD ["python3"]
