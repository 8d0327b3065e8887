// Command requests-deny is the Lambda function of POST /v1/requests/{id}/deny.
package main

import "github.com/elevate-jit/elevate/internal/app"

func main() { app.Lambda("requests-deny") }
