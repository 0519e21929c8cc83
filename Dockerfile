# One image per program, from one file:
#   docker build --build-arg APP=gateway -t qeetmart/gateway:0.1.0 .
# APP is gateway, auth, user, product or inventory (`make images` builds all
# five). The daprd sidecar is not in the image: Kubernetes injects it,
# Compose runs daprio/daprd beside it.
ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-bookworm AS build
ARG APP
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# A static binary: the runtime image has no libc.
RUN test -n "$APP" && \
    case "$APP" in gateway) pkg=./gateway ;; *) pkg=./services/$APP ;; esac && \
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/app "$pkg"

# distroless/static: no shell, no package manager, runs as uid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/app /usr/local/bin/app
USER 65532:65532
# Services listen on loopback (only their sidecar in the pod reaches them);
# the gateway is given HOST=0.0.0.0 by its manifests.
EXPOSE 4000 4001 4002 4003 4004
ENTRYPOINT ["/usr/local/bin/app"]
