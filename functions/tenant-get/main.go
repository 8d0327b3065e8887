// Command tenant-get is the Lambda function of GET /v1/tenant.
package main

import "github.com/elevate-jit/elevate/internal/function"

func main() { function.Run("tenant-get") }
