package motoserver

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/aws/aws-lambda-go/lambda/messages"
)

// FunctionHeader is the header in which a patched server forwarding an
// Invoke (Options.InvokeURL) names the function, as the caller named it:
// a name, or an ARN with or without a qualifier.
const FunctionHeader = "X-Elevate-Function"

// Function answers one forwarded Lambda invocation with its result, which
// is returned as JSON; an error is a function error (see Functions).
type Function func(ctx context.Context, payload json.RawMessage) (any, error)

// Handle makes a Function of a Lambda handler with a typed input, decoded
// from the payload as the Go runtime does (encoding/json).
func Handle[In, Out any](h func(context.Context, In) (Out, error)) Function {
	return func(ctx context.Context, payload json.RawMessage) (any, error) {
		var in In
		if err := json.Unmarshal(payload, &in); err != nil {
			return nil, err
		}
		return h(ctx, in)
	}
}

// Functions serves the invocations a patched server forwards to
// Options.InvokeURL: each goes to the function of its name (the name in an
// ARN, without qualifier). A result is answered as JSON; an error as the Go
// runtime reports one (aws-lambda-go's messages.InvokeResponse_Error, its
// type named after the error's Go type), which the server turns into a
// function error named after that type. An unknown function is a 404, which
// the server reports as the function error Elevate.InvokeForwardFailed.
type Functions map[string]Function

func (f Functions) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fn := f[FunctionName(r.Header.Get(FunctionHeader))]
	if r.Method != http.MethodPost || fn == nil {
		http.Error(w, "no such function", http.StatusNotFound)
		return
	}
	payload, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if len(payload) == 0 {
		payload = []byte("null")
	}
	out, err := fn(r.Context(), payload)
	if err != nil {
		typ := reflect.TypeOf(err)
		if typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		out = messages.InvokeResponse_Error{Message: err.Error(), Type: typ.Name()}
	}
	b, err := json.Marshal(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// FunctionName is the name of a Lambda function named by name, an ARN
// (arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]) or a name.
func FunctionName(name string) string {
	if _, after, ok := strings.Cut(name, ":function:"); ok {
		name, _, _ = strings.Cut(after, ":")
	}
	return name
}
