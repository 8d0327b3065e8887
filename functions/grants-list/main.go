// Command grants-list is the Lambda function of GET /v1/grants.
package main

import "github.com/elevate-jit/elevate/internal/app"

func main() { app.Lambda("grants-list") }
