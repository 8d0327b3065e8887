// Command requests-cancel is the Lambda function of POST /v1/requests/{id}/cancel.
package main

import "github.com/elevate-jit/elevate/internal/function"

func main() { function.Run("requests-cancel") }
