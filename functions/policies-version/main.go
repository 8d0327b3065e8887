// Command policies-version is the Lambda function of GET /v1/policies/versions/{n}.
package main

import "github.com/elevate-jit/elevate/internal/function"

func main() { function.Run("policies-version") }
