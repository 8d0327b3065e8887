// Command grants-list is the Lambda function of GET /v1/grants.
package main

import "github.com/elevate-jit/elevate/internal/function"

func main() { function.Run("grants-list") }
