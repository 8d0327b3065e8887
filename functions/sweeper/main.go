// Command sweeper is the sweeper, run on a fixed rate.
package main

import "github.com/elevate-jit/elevate/internal/app"

func main() { app.Lambda("sweeper") }
