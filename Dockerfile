# syntax=docker/dockerfile:1
# Multi-stage build: compile TypeScript with the full toolchain, prune to
# production dependencies, and run on a distroless Node 24 image as non-root.

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
 && npm prune --omit=dev --omit=optional --ignore-scripts

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
USER nonroot
VOLUME ["/data"]
EXPOSE 50051 9464
# V8 flags, the same as `npm start` (test/config/node-flags.test.ts checks):
# --max-semi-space-size=8: fewer, shorter scavenges at the p99.
# --v8-pool-size=1: one GC helper thread, not four competing with the event
# loop for the gateway's core. See README, "Performance", for the
# measurements (and why not --single-threaded-gc).
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=8", "--v8-pool-size=1", "dist/src/main.js"]
