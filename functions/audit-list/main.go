// Command audit-list is the Lambda function of GET /v1/audit-events.
package main

import "github.com/elevate-jit/elevate/internal/function"

func main() { function.Run("audit-list") }
