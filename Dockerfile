# syntax=docker/dockerfile:1
# The standalone server (`yatagarasu serve`) as an image. See docs/deployment.md.
#
#   docker build -t yatagarasu .
#   docker run -p 8080:8080 -v ./config.yaml:/etc/yatagarasu/config.yaml:ro yatagarasu
#
# Node 22 on Debian slim: the package supports Node 20+; 22 is the current LTS line.
ARG NODE_IMAGE=node:22-bookworm-slim

# --- build: compile TypeScript to dist/ ------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: no install script of a dev tool (bun, deno, workerd) is needed to build.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.core.json tsup.config.ts ./
COPY src ./src
RUN npm run build

# --- runtime dependencies: production only, versions from the lock file ------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# The server's optional peers (the Redis client for Redis cache layers and rate limits, the
# OpenTelemetry SDK for OTLP export) become plain dependencies of the image, at the versions
# the lock file tested; dev tools are dropped.
RUN node -e "const fs = require('fs'); const p = JSON.parse(fs.readFileSync('package.json', 'utf8')); \
p.dependencies = { ...p.dependencies, ...p.peerDependencies }; \
delete p.devDependencies; delete p.peerDependencies; delete p.peerDependenciesMeta; \
fs.writeFileSync('package.json', JSON.stringify(p, null, 2))" \
 && npm install --omit=dev --ignore-scripts --no-audit --no-fund --no-save \
 && npm cache clean --force

# --- runtime -----------------------------------------------------------------------------
FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/package.json ./package.json
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Mount your config here (read-only); `${VAR}`s in it come from the container's environment.
RUN mkdir -p /etc/yatagarasu
# The node image's unprivileged user (uid 1000); nothing in the image is writable by it.
USER node
EXPOSE 8080
# Liveness from inside the container: GET /health on the port the config listens on
# (`port: ${PORT:-8080}` in deploy/config.yaml; set PORT for both). The slim image has no
# curl, so Node's fetch does it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/health', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM (docker stop) drains requests in flight, then exits 0; SIGHUP reloads the config.
# Node runs as PID 1 directly (exec form), so it receives the signals itself.
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["serve", "--config", "/etc/yatagarasu/config.yaml"]
