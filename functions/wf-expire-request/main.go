// Command wf-expire-request is the workflow step wf-expire-request.
package main

import "github.com/elevate-jit/elevate/internal/app"

func main() { app.Lambda("wf-expire-request") }
