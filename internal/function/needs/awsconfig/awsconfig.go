// Package awsconfig is the AWS configuration of Elevate's Lambda functions,
// shared by the providers of their needs. It reads what Lambda gives a
// function (the region, and the execution role's session as environment
// variables) and AWS_ENDPOINT_URL, without the SDK's config package: that
// package links and initializes the STS, SSO and SSO OIDC clients of the
// credential chains a function never uses, which cost every cold start
// about a megabyte and a millisecond or two.
package awsconfig

import (
	"context"
	"errors"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/elevate-jit/elevate/internal/function"
)

// Config returns the function's AWS configuration, the same for every
// provider of the wiring.
func Config(w *function.Wiring) aws.Config {
	cfg, _ := function.Shared(w, "aws-config", func() (aws.Config, error) { return FromEnv(os.Getenv), nil })
	return cfg
}

// FromEnv builds the configuration from Lambda's environment: AWS_REGION
// (or AWS_DEFAULT_REGION), the credentials AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, and AWS_ENDPOINT_URL as
// every service's endpoint when set. Without credentials every call fails,
// saying so. Retries, timeouts and the HTTP client are the clients'
// defaults, as with config.LoadDefaultConfig.
func FromEnv(getenv func(string) string) aws.Config {
	cfg := aws.Config{Region: getenv("AWS_REGION")}
	if cfg.Region == "" {
		cfg.Region = getenv("AWS_DEFAULT_REGION")
	}
	if id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"); id != "" && secret != "" {
		cfg.Credentials = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(id, secret, getenv("AWS_SESSION_TOKEN")))
	} else {
		cfg.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{}, errNoCredentials
		})
	}
	if u := getenv("AWS_ENDPOINT_URL"); u != "" {
		cfg.BaseEndpoint = aws.String(u)
	}
	return cfg
}

var errNoCredentials = errors.New("no AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set (Lambda sets them from the execution role)")
