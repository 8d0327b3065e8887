// Command openapi is the Lambda function of GET /openapi.json.
package main

import "github.com/elevate-jit/elevate/internal/function"

func main() { function.Run("openapi") }
