// Command policies-put is the Lambda function of PUT /v1/policies.
package main

import "github.com/elevate-jit/elevate/internal/function"

func main() { function.Run("policies-put") }
