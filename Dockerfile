# One image for the services; docker-compose.yml picks the command:
#   node services/projector/dist/main.js   |   node services/query-api/dist/main.js
#   node services/openim-bridge/dist/main.js
FROM node:24-bookworm-slim AS build
# corepack's signature check fails behind some registries; npm is enough.
RUN npm i -g pnpm@10.34.9
WORKDIR /repo
# Dependencies first, from the lockfile alone: this layer survives source edits.
COPY pnpm-lock.yaml pnpm-workspace.yaml ./
RUN pnpm fetch
COPY . .
RUN pnpm install --frozen-lockfile --offline
RUN pnpm build
# Each service with only its production dependencies (the workspace packages
# it uses are copied in, dist included). Injecting workspace packages is a
# deploy-time setting here: the workspace itself keeps them linked for dev.
RUN for service in projector query-api openim-bridge; do \
      pnpm --filter "@imgroups/$service" --config.inject-workspace-packages=true \
        deploy --prod "/out/services/$service" || exit 1; \
    done

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and read-only to the service user.
COPY --from=build /out ./
USER node
EXPOSE 10002
CMD ["node", "services/query-api/dist/main.js"]
