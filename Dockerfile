# datamover: multi-stage build on a slim Node 20 image; the final stage holds production dependencies, the
# compiled dist/ and the built native helpers only, and runs as the unprivileged `node` user. Every RUN below is
# a command of the README's "Install" section (test/deploy.test.ts checks it).

FROM node:20-bookworm-slim AS build
WORKDIR /app
# node-gyp's toolchain, for the optional native helpers (native/: a mount that serves names that are not UTF-8,
# file times to the nanosecond); without it they are skipped and datamover falls back.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++
COPY package.json package-lock.json tsconfig.json ./
COPY native native
COPY engine engine
COPY workers workers
COPY cli cli
COPY bench bench
COPY test test
# npm ci builds native/ (install scripts) and runs `prepare`, which compiles with tsc into dist/.
RUN npm ci --no-audit --no-fund
RUN npm run build

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# Built above; npm ci links them as the optional dependencies they are (scripts off: nothing to build here).
COPY --from=build /app/native native
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY --from=build /app/dist/engine dist/engine
COPY --from=build /app/dist/workers dist/workers
COPY --from=build /app/dist/cli dist/cli
RUN npm install -g --ignore-scripts --no-audit --no-fund .
USER node
ENV DATAMOVER_HOME=/home/node/.datamover
ENTRYPOINT ["datamover"]
CMD ["--help"]
