// Command requests-cancel is the Lambda function of POST /v1/requests/{id}/cancel.
package main

import "github.com/elevate-jit/elevate/internal/app"

func main() { app.Lambda("requests-cancel") }
