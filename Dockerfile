# syntax=docker/dockerfile:1

# The orgd server image: `docker build -t orgd .`, or `docker compose up --build` for a
# development stack (compose.yaml). Configuration is by environment: docs/operations.md.

# --- Build --------------------------------------------------------------------------------
# The toolchain CI builds with; any Rust from 1.89 (the workspace's rust-version) builds it.
FROM rust:1.95-bookworm AS build

# The driver links libpq; lettre's TLS links OpenSSL.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq-dev libssl-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# What the build reads: the workspace, its crates, and the migrations compiled into the
# binary (.dockerignore keeps everything else out of the context).
COPY Cargo.toml Cargo.lock ./
COPY crates crates
COPY migrations migrations

# The registry and the target directory are BuildKit cache mounts: a rebuild after a change
# of the source compiles the workspace's crates again, not every dependency. The command is
# the one `make release` runs.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p orgd --bin orgd \
    && cp target/release/orgd /usr/local/bin/orgd

# --- Run ----------------------------------------------------------------------------------
FROM debian:bookworm-slim

# libpq5 and libssl3 are what the binary links; ca-certificates lets SMTP over TLS verify
# its server; curl is for the health check.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl libpq5 libssl3 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 orgd \
    && useradd --system --uid 10001 --gid orgd --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin orgd

COPY --from=build /usr/local/bin/orgd /usr/local/bin/orgd

LABEL org.opencontainers.image.title="orgd" \
      org.opencontainers.image.description="Organization management service" \
      org.opencontainers.image.licenses="Apache-2.0"

USER 10001:10001
ENV ORGD_BIND=0.0.0.0:8080
EXPOSE 8080

# Ready when the database answers; the port follows ORGD_BIND. The start period covers the
# migrations of a first start.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
    CMD curl -fsS "http://127.0.0.1:${ORGD_BIND##*:}/readyz" > /dev/null || exit 1

ENTRYPOINT ["orgd"]
CMD ["serve"]
