# The demo app with the monitoring module, for docker/docker-compose.monitoring.yml.
# Build context: the repository root.

FROM node:20.19.0-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json tsconfig.migrations.json nest-cli.json ./
COPY src ./src
# The analytics migrations are compiled to dist/migrations, where the app applies them at start.
COPY migrations ./migrations
# No `npm prune --omit=dev`: NestJS and the logging stack are the package's peer dependencies,
# installed here as the repository's devDependencies, and the demo needs them at run time.
RUN npm run build

FROM node:20.19.0-bookworm-slim
ENV NODE_ENV=production \
    PORT=3000
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./package.json
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
# The analytics spool (./.data/spool) is written by the app user; compose mounts a volume there.
RUN mkdir -p /app/.data/spool && chown -R node:node /app/.data
USER node
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=5 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/metrics').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/main.js"]
