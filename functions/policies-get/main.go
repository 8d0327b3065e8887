// Command policies-get is the Lambda function of GET /v1/policies.
package main

import "github.com/elevate-jit/elevate/internal/app"

func main() { app.Lambda("policies-get") }
