// Command sweeper is the sweeper, run on a fixed rate.
package main

import "github.com/elevate-jit/elevate/internal/function"

func main() { function.Run("sweeper") }
