# nginx-port-agent container image.
#
#   podman build --format docker -t nginx-port-agent .      (or: docker build -t nginx-port-agent .)
#   podman run --rm --read-only --cap-drop=ALL nginx-port-agent diagnose
#
# The build stage installs every dependency and compiles the TypeScript; the
# runtime stage gets the compiled agent and the production dependencies only.
# Behind a TLS-inspecting proxy, give npm the proxy's CA for the build:
#   --secret id=npm_ca,src=/path/to/ca.pem
# `--format docker` keeps the HEALTHCHECK (the OCI image format has no such field).

ARG NODE_IMAGE=node:24.21.0-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# No dependency has native code or needs an install script.
RUN --mount=type=secret,id=npm_ca \
    if [ -f /run/secrets/npm_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm_ca; fi; \
    npm ci --ignore-scripts --no-audit --no-fund --no-update-notifier --loglevel=warn
COPY tsconfig.json tsconfig.build.json ./
COPY agent ./agent
COPY scripts/bundle.mjs ./scripts/bundle.mjs
RUN npm run build --silent \
    && chmod 0755 dist/agent/main.js \
    && npm prune --omit=dev --ignore-scripts --no-audit --no-fund --no-update-notifier --loglevel=warn

FROM ${NODE_IMAGE}
ARG NODE_IMAGE
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="nginx-port-agent" \
      org.opencontainers.image.description="Per-destination ephemeral-port headroom for nginx hosts: Prometheus metrics, alerts and an on-demand diagnosis." \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="${NODE_IMAGE}"

WORKDIR /opt/nginx-port-agent
# Everything stays owned by root and read-only to the agent's user.
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/agent ./dist/agent
COPY deploy/docker/healthcheck.mjs ./healthcheck.mjs
# `agent` on PATH for `kubectl exec … -- agent diagnose` (the bin's shebang passes the same V8 flag).
RUN ln -s /opt/nginx-port-agent/dist/agent/main.js /usr/local/bin/agent

# The base image's unprivileged `node` user, by number so that Kubernetes can
# verify runAsNonRoot. Reading /proc/net/* and /proc/sys/net/* needs no
# capability; the agent writes no file, so the root filesystem can be read-only.
USER 1000:1000
EXPOSE 9842
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["node", "/opt/nginx-port-agent/healthcheck.mjs"]
# --max-semi-space-size=4: the daemon's V8 flag (agent/nodeFlags.ts).
ENTRYPOINT ["node", "--max-semi-space-size=4", "/opt/nginx-port-agent/dist/agent/main.js"]
CMD ["run"]
