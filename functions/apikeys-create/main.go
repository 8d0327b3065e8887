// Command apikeys-create is the Lambda function of POST /v1/api-keys.
package main

import "github.com/elevate-jit/elevate/internal/function"

func main() { function.Run("apikeys-create") }
