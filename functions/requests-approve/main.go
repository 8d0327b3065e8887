// Command requests-approve is the Lambda function of POST /v1/requests/{id}/approve.
package main

import "github.com/elevate-jit/elevate/internal/function"

func main() { function.Run("requests-approve") }
