// Command sweeper-tenant sweeps the tenants the sweep queue's messages name.
package main

import "github.com/elevate-jit/elevate/internal/function"

func main() { function.Run("sweeper-tenant") }
