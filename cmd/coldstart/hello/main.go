// Command hello is the floor make coldstart compares Elevate's functions
// with: a Lambda function that only starts the runtime client and answers.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context) (string, error) { return "hello", nil })
}
