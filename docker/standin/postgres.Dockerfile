# Local stand-in for the official postgres:15-bookworm, built by docker/standin/build where no
# image registry is reachable: Debian bookworm's PostgreSQL 15 laid out like the official image
# (user postgres uid/gid 999, server binaries on PATH, PGDATA, /docker-entrypoint-initdb.d,
# docker-entrypoint.sh as entrypoint: see postgres-entrypoint.sh for what it covers).
FROM debian:bookworm-slim
RUN groupadd --system --gid 999 postgres \
    && useradd --system --gid postgres --uid 999 --home-dir /var/lib/postgresql \
        --shell /bin/bash postgres \
    && mkdir -p /var/lib/postgresql && chown postgres:postgres /var/lib/postgresql
# No "main" cluster from the package: the entrypoint creates the data directory in PGDATA.
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-common gosu \
    && sed -ri 's/#?\s*create_main_cluster\s*=.*/create_main_cluster = false/' \
        /etc/postgresql-common/createcluster.conf \
    && apt-get install -y --no-install-recommends postgresql-15 \
    && rm -rf /var/lib/apt/lists/* \
    && sed -ri "s!^#?(listen_addresses)\s*=\s*\S+.*!\1 = '*'!" \
        /usr/share/postgresql/15/postgresql.conf.sample \
    && mkdir -p /var/run/postgresql /docker-entrypoint-initdb.d \
    && chown postgres:postgres /var/run/postgresql && chmod 3777 /var/run/postgresql
ENV PG_MAJOR=15 \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/postgresql/15/bin \
    PGDATA=/var/lib/postgresql/data \
    LANG=C.UTF-8
RUN mkdir -p "$PGDATA" && chown postgres:postgres "$PGDATA" && chmod 1777 "$PGDATA"
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
VOLUME /var/lib/postgresql/data
LABEL archive.standin=true
STOPSIGNAL SIGINT
EXPOSE 5432
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
