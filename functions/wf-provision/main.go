// Command wf-provision is the workflow step wf-provision.
package main

import "github.com/elevate-jit/elevate/internal/app"

func main() { app.Lambda("wf-provision") }
