# syntax=docker/dockerfile:1

# Build: compile the TypeScript, then drop the dev dependencies.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY schema ./schema
COPY console ./console
RUN npm run build && npm prune --omit=dev

# Runtime: only what `node bin/flowhook.js serve` loads, run as the unprivileged `node` user.
FROM node:22-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
# dist/ holds the compiled code, the built console (dist/console) and the copies of package.json and schema/mapping.schema.json that
# it requires (dist/src/cli/main.js → dist/package.json; dist/src/mappings → dist/schema/).
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
# schema/ for editors (the examples point at ../schema/mapping.schema.json); mappings/ are the
# default examples, replaced by mounting a folder on the volume.
COPY schema ./schema
COPY mappings ./mappings
# The delivery store (DATA_DIR=./data): owned by the unprivileged user, kept on a volume so
# accepted deliveries survive the container.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000
VOLUME ["/app/mappings", "/app/data"]
# The slim image has no curl; Node's fetch does the GET. Follows PORT when it is overridden.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# The same start path as `npm start` (which only adds a build check before it).
CMD ["node", "bin/flowhook.js", "serve"]
