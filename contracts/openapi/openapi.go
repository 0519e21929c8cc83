// Package openapi holds QeetMart's OpenAPI contracts, one file per program
// (common.yaml is shared by them), embedded so the gateway can serve them
// (gateway/apidocs) from the same files the tests check responses against.
package openapi

import "embed"

// Files are the contracts: <program>.yaml and common.yaml.
//
//go:embed *.yaml
var Files embed.FS
