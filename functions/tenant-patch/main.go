// Command tenant-patch is the Lambda function of PATCH /v1/tenant.
package main

import "github.com/elevate-jit/elevate/internal/app"

func main() { app.Lambda("tenant-patch") }
