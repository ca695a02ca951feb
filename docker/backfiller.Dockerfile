# Image of the backfiller service: `python -m backfiller`. Built by ../build from the repository root.
ARG BASE_IMAGE=archive-base
FROM ${BASE_IMAGE}

USER root
COPY backfiller /src/backfiller
RUN pip install /src/backfiller && rm -rf /src
USER archive

EXPOSE 8002
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "/usr/local/bin/healthcheck", "8002"]
ENTRYPOINT ["python", "-m", "backfiller"]
