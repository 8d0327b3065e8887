// Command catalog-put is the Lambda function of PUT /v1/catalog.
package main

import "github.com/elevate-jit/elevate/internal/function"

func main() { function.Run("catalog-put") }
