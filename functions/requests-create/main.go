// Command requests-create is the Lambda function of POST /v1/requests.
package main

import "github.com/elevate-jit/elevate/internal/function"

func main() { function.Run("requests-create") }
