# syntax=docker/dockerfile:1

# Parley: one image, several process roles, chosen by the command.
#   node services/signaling/src/main.ts      a signaling pod (the default)
#   node services/worker/src/main.ts         a job worker (thumbnails, the file sweep)
#   node scripts/migrate.ts up               the migrate one-shot / Job
#   node scripts/admin.ts revoke-sessions --user alice
# TypeScript runs as-is on Node 24 (type stripping): there is no build stage.

FROM node:24-slim AS deps
WORKDIR /app
# Every workspace manifest is copied so that npm ci sees the same workspace set
# as package-lock.json; --workspace then installs only the production
# dependencies of the pod and the worker, and links just
# @parley/{signaling,worker,db,protocol}. sharp's native code comes in its
# platform's optional package (@img/sharp-linux-x64 or -arm64, with libvips).
COPY package.json package-lock.json ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/db/package.json packages/db/
COPY packages/client/package.json packages/client/
COPY packages/testkit/package.json packages/testkit/
COPY services/signaling/package.json services/signaling/
COPY services/worker/package.json services/worker/
# --ignore-scripts: the only install script needed is argon2's node-gyp-build,
# which merely picks a prebuilt binary; argon2 calls node-gyp-build again at
# require time and loads the prebuild for this platform from its package.
# (sharp's install script only builds from source when no prebuilt package fits.)
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --workspace services/signaling --workspace services/worker \
 && npm cache clean --force

FROM node:24-slim
ENV NODE_ENV=production
# jemalloc, as sharp advises on glibc: a long-running thumbnail worker's RSS
# otherwise grows from batch to batch with fragmentation (measured with
# `npm run bench -- media`: 249 → 398 MiB over six batches on glibc, level
# near 300 MiB on jemalloc; 12 MP peak 423 → 362 MiB). Signaling pods get it
# too, and the benchmarks run them on it: for a pod it is neutral, since
# malloc holds only about 2 KiB of an idle connection's RSS and V8's heap
# the rest (`npm run bench -- idle`: jemalloc and glibc within the run's
# noise). jemalloc's defaults are kept: MALLOC_CONF (background_thread,
# dirty_decay_ms) changed nothing measurable there.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libjemalloc2 \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s "/usr/lib/$(uname -m)-linux-gnu/libjemalloc.so.2" /usr/local/lib/libjemalloc.so.2
ENV LD_PRELOAD=/usr/local/lib/libjemalloc.so.2
WORKDIR /app
# Files stay owned by root: the pod runs as `node` and must not be able to rewrite its own code.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/protocol/src packages/protocol/src
COPY packages/db/package.json packages/db/
COPY packages/db/src packages/db/src
COPY packages/db/migrations packages/db/migrations
COPY services/signaling/package.json services/signaling/
COPY services/signaling/src services/signaling/src
COPY services/worker/package.json services/worker/
COPY services/worker/src services/worker/src
COPY scripts/migrate.ts scripts/admin.ts scripts/
# Embedded mode (no DATABASE_URL/REDIS_URL) keeps its PGlite database under ./data.
RUN mkdir data && chown node:node data
USER node
# 5000: a pod's HTTP and Socket.IO (PORT); 5100: a worker's /health, /ready and /metrics (WORKER_PORT).
EXPOSE 5000 5100
# Whichever role runs: a pod answers on PORT, a worker on WORKER_PORT.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "const ok = (port) => fetch('http://127.0.0.1:' + port + '/health').then((r) => r.ok, () => false); Promise.all([ok(process.env.PORT || 5000), ok(process.env.WORKER_PORT || 5100)]).then(([pod, worker]) => process.exit(pod || worker ? 0 : 1))"]
CMD ["node", "services/signaling/src/main.ts"]
