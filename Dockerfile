# fleetgate: the gateway, API and MQTT feed. Build: docker build -t fleetgate .
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
COPY protocols ./protocols
COPY bench ./bench
COPY test/fuzz-long.ts ./test/fuzz-long.ts
COPY test/support ./test/support
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY fixtures/routes ./fixtures/routes
EXPOSE 8808 8080 1883
VOLUME ["/app/data"]
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["serve"]
