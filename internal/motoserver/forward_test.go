//go:build unix

package motoserver_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/elevate-jit/elevate/internal/motoserver"
)

// TestForwardedInvocations runs executions whose Lambda task is answered by
// a Go server (Options.InvokeURL, launcher patch 5): the function gets the
// task's payload and its name, its result is the task's result, its error
// is the task's function error, and an invocation nobody answers fails the
// task with Elevate.InvokeForwardFailed.
func TestForwardedInvocations(t *testing.T) {
	type input struct {
		Name  string `json:"name"`
		Fail  bool   `json:"fail"`
		Token string `json:"token"`
	}
	var (
		mu    sync.Mutex
		calls []input
	)
	greet := func(_ context.Context, in input) (map[string]string, error) {
		mu.Lock()
		calls = append(calls, in)
		mu.Unlock()
		if in.Fail {
			return nil, &greetError{in.Name}
		}
		return map[string]string{"greeting": "hello " + in.Name}, nil
	}
	fns := httptest.NewServer(motoserver.Functions{"greet": motoserver.Handle(greet)})
	t.Cleanup(fns.Close)

	s := motoserver.StartWith(t, motoserver.Options{Patched: true, TimeScale: 0.001, InvokeURL: fns.URL})
	s.Configure(t, map[string]any{"stepfunctions": map[string]any{"execute_state_machine": true}, "lambda": map[string]any{"use_docker": false}})
	ctx := t.Context()
	client := sfn.NewFromConfig(s.AWSConfig())
	machine := func(name, function string) *string {
		t.Helper()
		def := `{"StartAt": "Call", "States": {
			"Call": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
				"Parameters": {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:` + function + `",
					"Payload": {"name.$": "$.name", "fail.$": "$.fail", "token.$": "$$.Execution.Name"}},
				"ResultSelector": {"greeting.$": "$.Payload.greeting"}, "End": true}}}`
		m, err := client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
			Name: aws.String(name), Definition: aws.String(def), RoleArn: aws.String("arn:aws:iam::123456789012:role/sfn"),
		})
		if err != nil {
			t.Fatalf("CreateStateMachine: %v\n%s", err, s.Output())
		}
		return m.StateMachineArn
	}
	greetMachine, nobodyMachine := machine("greet", "greet"), machine("nobody", "nobody")

	for _, tc := range []struct {
		name    string
		machine *string
		fail    bool
		status  sfntypes.ExecutionStatus
		want    string // output or error
	}{
		{"answers", greetMachine, false, sfntypes.ExecutionStatusSucceeded, `{"greeting":"hello answers"}`},
		{"fails", greetMachine, true, sfntypes.ExecutionStatusFailed, "greetError"},
		{"unknown", nobodyMachine, false, sfntypes.ExecutionStatusFailed, "Elevate.InvokeForwardFailed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, _ := json.Marshal(input{Name: tc.name, Fail: tc.fail})
			ex, err := client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: tc.machine, Name: aws.String(tc.name), Input: aws.String(string(in))})
			if err != nil {
				t.Fatalf("StartExecution: %v\n%s", err, s.Output())
			}
			d := waitEnded(t, client, ex.ExecutionArn, s)
			got := aws.ToString(d.Error)
			if d.Status == sfntypes.ExecutionStatusSucceeded {
				got = compact(t, aws.ToString(d.Output))
			}
			if d.Status != tc.status || got != tc.want {
				t.Errorf("status %s, %q (%s); want %s, %q", d.Status, got, aws.ToString(d.Cause), tc.status, tc.want)
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	// The known function was called once per execution, with the task's payload.
	want := []input{{Name: "answers", Token: "answers"}, {Name: "fails", Fail: true, Token: "fails"}}
	if len(calls) != len(want) || calls[0] != want[0] || calls[1] != want[1] {
		t.Errorf("greet was called with %+v, want %+v", calls, want)
	}
}

type greetError struct{ name string }

func (e *greetError) Error() string { return "cannot greet " + e.name }

// TestForwardNeedsPatchedServer: only the launcher forwards invocations.
func TestForwardNeedsPatchedServer(t *testing.T) {
	s, err := motoserver.Run(motoserver.Options{InvokeURL: "http://127.0.0.1:1/"})
	if err == nil {
		s.Stop()
		t.Fatal("a server without Patched started with InvokeURL")
	}
}

// waitEnded waits until an execution is no longer running.
func waitEnded(t *testing.T, client *sfn.Client, arn *string, s *motoserver.Server) *sfn.DescribeExecutionOutput {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		d, err := client.DescribeExecution(t.Context(), &sfn.DescribeExecutionInput{ExecutionArn: arn})
		if err != nil {
			t.Fatalf("DescribeExecution: %v", err)
		}
		if d.Status != sfntypes.ExecutionStatusRunning {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("still running after 20 s\n%s", s.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
