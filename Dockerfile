# syntax=docker/dockerfile:1

# Parley signaling pod. The same image runs the migrate one-shot / Job and the admin CLI:
#   node scripts/migrate.ts up
#   node scripts/admin.ts revoke-sessions --user alice
# TypeScript runs as-is on Node 24 (type stripping): there is no build stage.

FROM node:24-slim AS deps
WORKDIR /app
# Every workspace manifest is copied so that npm ci sees the same workspace set
# as package-lock.json; --workspace then installs only the signaling pod's
# production dependencies and links just @parley/{signaling,db,protocol}.
COPY package.json package-lock.json ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/db/package.json packages/db/
COPY packages/client/package.json packages/client/
COPY packages/testkit/package.json packages/testkit/
COPY services/signaling/package.json services/signaling/
# --ignore-scripts: the only install script needed is argon2's node-gyp-build,
# which merely picks a prebuilt binary; argon2 calls node-gyp-build again at
# require time and loads the prebuild for this platform from its package.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --workspace services/signaling \
 && npm cache clean --force

FROM node:24-slim
ENV NODE_ENV=production
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
COPY scripts/migrate.ts scripts/admin.ts scripts/
# Embedded mode (no DATABASE_URL/REDIS_URL) keeps its PGlite database under ./data.
RUN mkdir data && chown node:node data
USER node
EXPOSE 5000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 5000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "services/signaling/src/main.ts"]
