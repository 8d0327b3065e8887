// Command wf-attach-token is the workflow step wf-attach-token.
package main

import "github.com/elevate-jit/elevate/internal/function"

func main() { function.Run("wf-attach-token") }
