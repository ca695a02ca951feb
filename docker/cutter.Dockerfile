# Image of the cutter service: `python -m cutter`. Built by ../build from the repository root.
ARG BASE_IMAGE=archive-base-ffmpeg
FROM ${BASE_IMAGE}

USER root
COPY uploader /src/uploader
COPY cutter /src/cutter
RUN pip install /src/uploader /src/cutter && rm -rf /src
USER archive

EXPOSE 8003
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "/usr/local/bin/healthcheck", "8003"]
ENTRYPOINT ["python", "-m", "cutter"]
