// Command approvals-pending is the Lambda function of GET /v1/approvals/pending.
package main

import "github.com/elevate-jit/elevate/internal/app"

func main() { app.Lambda("approvals-pending") }
