// Command tenant-patch is the Lambda function of PATCH /v1/tenant.
package main

import "github.com/elevate-jit/elevate/internal/function"

func main() { function.Run("tenant-patch") }
