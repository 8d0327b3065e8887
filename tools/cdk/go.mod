// This module holds no Go code. It exists so that the go command treats
// tools/cdk (and the node_modules that npm ci puts here, which ship Go
// template files) as outside the root module: go test ./... and go vet ./...
// at the repository root never descend into it.
module elevate-tools-cdk

go 1.26.0
