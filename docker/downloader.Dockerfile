# Image of the downloader service: `python -m downloader`. Built by ../build from the repository root.
ARG BASE_IMAGE=archive-base
FROM ${BASE_IMAGE}

USER root
COPY downloader /src/downloader
RUN pip install /src/downloader && rm -rf /src
USER archive

EXPOSE 8001
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "/usr/local/bin/healthcheck", "8001"]
ENTRYPOINT ["python", "-m", "downloader"]
