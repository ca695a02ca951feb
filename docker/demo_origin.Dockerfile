# The demo origin (python -m demo_origin, a development tool, not a service): a live two-variant
# HLS test stream made by ffmpeg, for trying a node without a real stream and for
# scripts/docker-check. Not part of a node: only this image installs the demo_origin package.
# Built by ../build demo_origin, on the ffmpeg base image. Serves http://HOST:8010/master.m3u8.
ARG BASE_IMAGE=archive-base-ffmpeg
FROM ${BASE_IMAGE}

USER root
COPY demo_origin /src/demo_origin
RUN pip install /src/demo_origin && rm -rf /src
USER archive

EXPOSE 8010
HEALTHCHECK --interval=10s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "/usr/local/bin/healthcheck", "8010", "/master.m3u8"]
ENTRYPOINT ["python", "-m", "demo_origin", "--host", "0.0.0.0", "--port", "8010"]
