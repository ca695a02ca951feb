# Shared base of every service image: Python 3.11 slim, the `common` package and its
# dependencies, a non-root user, the segments mount point and a healthcheck helper.
# Built by ../build twice: as BASE (WITH_FFMPEG=false) and BASE-ffmpeg (WITH_FFMPEG=true, for
# the services that cut video: restreamer and cutter). Build context: the repository root.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# ffmpeg first: it changes far less often than our code, so its layer stays cached.
ARG WITH_FFMPEG=false
# Mesa's GPU drivers and the LLVM they are built on (~160 MB) come with ffmpeg's display
# libraries but are only loaded by programs that render on a GPU: removed, and the build fails
# if ffmpeg or ffprobe then lacks a library.
RUN if [ "$WITH_FFMPEG" = true ]; then \
        apt-get update \
        && apt-get install -y --no-install-recommends ffmpeg \
        && rm -rf /var/lib/apt/lists/* \
        && dpkg --purge --force-depends libgl1-mesa-dri libllvm15 libz3-4 \
        && ffmpeg -hide_banner -version >/dev/null && ffprobe -hide_banner -version >/dev/null \
        && ! ldd /usr/bin/ffmpeg /usr/bin/ffprobe | grep 'not found'; \
    fi

# Fixed uid/gid 1000: a host directory mounted as the segments (or uploads) volume must be
# writable by it (chown 1000:1000 DIR); named volumes take the ownership set here.
RUN groupadd --gid 1000 archive \
    && useradd --uid 1000 --gid archive --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin archive \
    && mkdir -p /mnt/segments /mnt/uploads /etc/archive \
    && chown archive:archive /mnt/segments /mnt/uploads

COPY docker/healthcheck.py /usr/local/bin/healthcheck
COPY common /src/common
RUN pip install /src/common && rm -rf /src

WORKDIR /tmp
USER archive
