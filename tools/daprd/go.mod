// Not built on its own: scripts/build-dapr.sh copies components.go into the
// pinned dapr module (cmd/daprd/components) and builds daprd there. This
// go.mod keeps the file out of the platform's module.
module github.com/qeetmart/qeetmart/tools/daprd

go 1.26
