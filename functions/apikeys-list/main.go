// Command apikeys-list is the Lambda function of GET /v1/api-keys.
package main

import "github.com/elevate-jit/elevate/internal/function"

func main() { function.Run("apikeys-list") }
