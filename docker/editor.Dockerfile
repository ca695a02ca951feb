# Image of the editor service: `python -m editor` (the editors' web page and JSON API, and
# `python -m editor users ...` for accounts). Built by ../build from the repository root.
ARG BASE_IMAGE=archive-base
FROM ${BASE_IMAGE}

USER root
COPY editor /src/editor
RUN pip install /src/editor && rm -rf /src
USER archive

EXPOSE 8005
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "/usr/local/bin/healthcheck", "8005"]
ENTRYPOINT ["python", "-m", "editor"]
