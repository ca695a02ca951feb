# Image of the restreamer service: `python -m restreamer`. Built by ../build from the repository root.
ARG BASE_IMAGE=archive-base-ffmpeg
FROM ${BASE_IMAGE}

USER root
COPY restreamer /src/restreamer
RUN pip install /src/restreamer && rm -rf /src
USER archive

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "/usr/local/bin/healthcheck", "8000"]
ENTRYPOINT ["python", "-m", "restreamer"]
