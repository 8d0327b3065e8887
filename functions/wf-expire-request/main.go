// Command wf-expire-request is the workflow step wf-expire-request.
package main

import "github.com/elevate-jit/elevate/internal/function"

func main() { function.Run("wf-expire-request") }
