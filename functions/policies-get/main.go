// Command policies-get is the Lambda function of GET /v1/policies.
package main

import "github.com/elevate-jit/elevate/internal/function"

func main() { function.Run("policies-get") }
