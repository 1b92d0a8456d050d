# syntax=docker/dockerfile:1
# The `stackelberg` command in an image: market, firms, auth and results all run from it (see
# docker-compose.yml and docs/deploy.md). Packages come from the npm registry alone (`npm ci`
# against package-lock.json); nothing else is downloaded: the optional @tensorflow/tfjs-node, whose
# install script downloads libtensorflow, is left out (learning firms use the WASM backend) and no
# install script runs. nats-server is not in this image: compose runs the official nats image.

# --- build: every package, then dist/ (protobuf code generated, TypeScript compiled) ---
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=optional --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build

# --- runtime: production packages, dist/ and the experiments ---
FROM node:20-bookworm-slim
ENV NODE_ENV=production LOG_FORMAT=json
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY experiments ./experiments
# `stackelberg` on PATH, as `npm link` would put it. The mount points exist in the image, owned by
# the unprivileged user, so that named volumes mounted there start out writable by it.
RUN chmod +x dist/services/cli/main.js \
  && ln -s /app/dist/services/cli/main.js /usr/local/bin/stackelberg \
  && mkdir -p /auth /creds/market /creds/leader /creds/follower /creds/reader /creds/server /claims /results \
  && chown -R node:node /auth /creds /claims /results
USER node
ENTRYPOINT ["stackelberg"]
CMD ["--help"]
