// Command grants-create is the Lambda function of POST /v1/grants.
package main

import "github.com/elevate-jit/elevate/internal/function"

func main() { function.Run("grants-create") }
