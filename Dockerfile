# syntax=docker/dockerfile:1
# Multi-stage build: compile TypeScript with the full toolchain, prune to
# production dependencies, and run on a distroless Node 24 image as non-root.
# test/config/docker-image.test.ts checks the lines that matter (non-root user,
# /data ownership, the health check and its probe, .dockerignore), since CI has
# no Docker engine to build this.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Install scripts are not needed by any dependency; refusing them keeps the build hermetic.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json buf.yaml buf.gen.yaml ./
COPY proto ./proto
COPY gen ./gen
COPY src ./src
RUN npm run build \
 # The image brings its own Node 24: drop the lockfile-pinned node binaries and dev tools.
 && npm prune --omit=dev --omit=optional --ignore-scripts \
 # The audit volume's mount point. Distroless has no shell to mkdir or chown in,
 # so it is made here and copied, owned by the runtime user, into the final stage.
 && mkdir -p /image/data

FROM gcr.io/distroless/nodejs24-debian12:nonroot
WORKDIR /app
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=50051 \
    METRICS_HOST=0.0.0.0 \
    METRICS_PORT=9464 \
    AUDIT_FILE=/data/audit.jsonl
COPY --from=build --chown=nonroot:nonroot /app/package.json ./
COPY --from=build --chown=nonroot:nonroot /app/node_modules ./node_modules
COPY --from=build --chown=nonroot:nonroot /app/dist ./dist
COPY LICENSE ./
# /data belongs to nonroot: Docker fills a fresh named volume from the image's
# directory, ownership included, so the gateway can create its audit log and
# lock there. (A bind mount keeps the host directory's owner: chown it to
# 65532:65532, the nonroot user.)
COPY --from=build --chown=nonroot:nonroot /image/data /data
USER nonroot
VOLUME ["/data"]
EXPOSE 50051 9464
# Health: the image has no shell and no curl, so the probe is Node itself,
# asking the metrics listener's /readyz (200 when grpc.health.v1 overall is
# SERVING, 503 when not, e.g. after an audit-log failure or during shutdown).
# It follows METRICS_PORT; with METRICS_PORT=off run with --no-healthcheck.
# By hand: docker exec <container> /nodejs/bin/node -e "<the script below>"; echo $?
# or from outside: curl -fsS http://<host>:9464/readyz (and /healthz for liveness).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/nodejs/bin/node", "-e", "fetch('http://127.0.0.1:'+(process.env.METRICS_PORT||9464)+'/readyz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))"]
# V8 flags, the same as `npm start` (test/config/node-flags.test.ts checks):
# --max-semi-space-size=8: fewer, shorter scavenges at the p99.
# --v8-pool-size=1: one GC helper thread, not four competing with the event
# loop for the gateway's core. See README, "Performance", for the
# measurements (and why not --single-threaded-gc).
# --use-largepages=silent: Node's own code on 2 MB pages where the host allows
# transparent huge pages (madvise or always; else ignored): fewer iTLB misses
# for a call that runs alone, about 6 % less CPU per call at 1,000-2,000/s.
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=8", "--v8-pool-size=1", "--use-largepages=silent", "dist/src/main.js"]
