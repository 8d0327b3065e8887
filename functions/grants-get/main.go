// Command grants-get is the Lambda function of GET /v1/grants/{id}.
package main

import "github.com/elevate-jit/elevate/internal/app"

func main() { app.Lambda("grants-get") }
