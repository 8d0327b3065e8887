// Command requests-deny is the Lambda function of POST /v1/requests/{id}/deny.
package main

import "github.com/elevate-jit/elevate/internal/function"

func main() { function.Run("requests-deny") }
