// Command policies-put is the Lambda function of PUT /v1/policies.
package main

import "github.com/elevate-jit/elevate/internal/app"

func main() { app.Lambda("policies-put") }
