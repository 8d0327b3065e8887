// Command requests-list is the Lambda function of GET /v1/requests.
package main

import "github.com/elevate-jit/elevate/internal/function"

func main() { function.Run("requests-list") }
