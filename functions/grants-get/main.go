// Command grants-get is the Lambda function of GET /v1/grants/{id}.
package main

import "github.com/elevate-jit/elevate/internal/function"

func main() { function.Run("grants-get") }
