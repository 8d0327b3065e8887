// Command wf-attach-token is the workflow step wf-attach-token.
package main

import "github.com/elevate-jit/elevate/internal/app"

func main() { app.Lambda("wf-attach-token") }
