// Command wf-deprovision is the workflow step wf-deprovision.
package main

import "github.com/elevate-jit/elevate/internal/app"

func main() { app.Lambda("wf-deprovision") }
