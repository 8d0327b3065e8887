// Command catalog-get is the Lambda function of GET /v1/catalog.
package main

import "github.com/elevate-jit/elevate/internal/function"

func main() { function.Run("catalog-get") }
