// Command requests-get is the Lambda function of GET /v1/requests/{id}.
package main

import "github.com/elevate-jit/elevate/internal/function"

func main() { function.Run("requests-get") }
