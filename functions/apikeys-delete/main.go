// Command apikeys-delete is the Lambda function of DELETE /v1/api-keys/{id}.
package main

import "github.com/elevate-jit/elevate/internal/function"

func main() { function.Run("apikeys-delete") }
