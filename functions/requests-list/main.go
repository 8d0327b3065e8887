// Command requests-list is the Lambda function of GET /v1/requests.
package main

import "github.com/elevate-jit/elevate/internal/app"

func main() { app.Lambda("requests-list") }
