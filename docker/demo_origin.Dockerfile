# The demo origin (python -m common.demo_origin): a live two-variant HLS test stream made by
# ffmpeg, for trying a node without a real stream and for scripts/docker-check. Not part of a
# node. Built by ../build demo_origin, on the ffmpeg base image (so it adds no layer of its own
# but its entrypoint). Serves http://HOST:8010/master.m3u8.
ARG BASE_IMAGE=archive-base-ffmpeg
FROM ${BASE_IMAGE}

EXPOSE 8010
HEALTHCHECK --interval=10s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "/usr/local/bin/healthcheck", "8010", "/master.m3u8"]
ENTRYPOINT ["python", "-m", "common.demo_origin", "--host", "0.0.0.0", "--port", "8010"]
