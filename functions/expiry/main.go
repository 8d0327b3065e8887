// Command expiry is the target of grant expiry schedules.
package main

import "github.com/elevate-jit/elevate/internal/app"

func main() { app.Lambda("expiry") }
