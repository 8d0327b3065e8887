// Command apikeys-get is the Lambda function of GET /v1/api-keys/{id}.
package main

import "github.com/elevate-jit/elevate/internal/function"

func main() { function.Run("apikeys-get") }
