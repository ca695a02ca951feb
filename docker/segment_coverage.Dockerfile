# Image of the segment_coverage service: `python -m segment_coverage`. Built by ../build from the repository root.
ARG BASE_IMAGE=archive-base
FROM ${BASE_IMAGE}

USER root
COPY segment_coverage /src/segment_coverage
RUN pip install /src/segment_coverage && rm -rf /src
USER archive

EXPOSE 8004
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "/usr/local/bin/healthcheck", "8004"]
ENTRYPOINT ["python", "-m", "segment_coverage"]
