// Command requests-get is the Lambda function of GET /v1/requests/{id}.
package main

import "github.com/elevate-jit/elevate/internal/app"

func main() { app.Lambda("requests-get") }
