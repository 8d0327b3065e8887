// Command wf-deprovision is the workflow step wf-deprovision.
package main

import "github.com/elevate-jit/elevate/internal/function"

func main() { function.Run("wf-deprovision") }
