// Command policies-evaluate is the Lambda function of POST /v1/policies/evaluate.
package main

import "github.com/elevate-jit/elevate/internal/app"

func main() { app.Lambda("policies-evaluate") }
