// Command policies-evaluate is the Lambda function of POST /v1/policies/evaluate.
package main

import "github.com/elevate-jit/elevate/internal/function"

func main() { function.Run("policies-evaluate") }
