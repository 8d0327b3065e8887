// Command wf-provision is the workflow step wf-provision.
package main

import "github.com/elevate-jit/elevate/internal/function"

func main() { function.Run("wf-provision") }
