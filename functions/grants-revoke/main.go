// Command grants-revoke is the Lambda function of POST /v1/grants/{id}/revoke.
package main

import "github.com/elevate-jit/elevate/internal/function"

func main() { function.Run("grants-revoke") }
