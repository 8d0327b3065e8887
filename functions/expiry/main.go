// Command expiry is the target of grant expiry schedules.
package main

import "github.com/elevate-jit/elevate/internal/function"

func main() { function.Run("expiry") }
