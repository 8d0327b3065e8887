//go:build unix

package motoserver_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/elevate-jit/elevate/internal/motoserver"
)

// TestPatched runs a state machine twice on a patched server: the second
// StartExecution works (moto issue 10077), a canned Lambda error payload is
// a function error, and a Wait of 100 s takes a tenth of a second.
func TestPatched(t *testing.T) {
	s := motoserver.StartWith(t, motoserver.Options{Patched: true, TimeScale: 0.001})
	s.Configure(t, map[string]any{"stepfunctions": map[string]any{"execute_state_machine": true}, "lambda": map[string]any{"use_docker": false}})
	ctx := t.Context()
	client := sfn.NewFromConfig(s.AWSConfig())
	def := `{"StartAt": "Pause", "States": {
		"Pause": {"Type": "Wait", "Seconds": 100, "Next": "Call"},
		"Call": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
			"Parameters": {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:f", "Payload": {}},
			"ResultSelector": {"ok.$": "$.Payload.ok"}, "End": true}}}`
	m, err := client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name: aws.String("patched"), Definition: aws.String(def), RoleArn: aws.String("arn:aws:iam::123456789012:role/sfn"),
	})
	if err != nil {
		t.Fatalf("CreateStateMachine: %v\n%s", err, s.Output())
	}
	for _, tc := range []struct {
		name, result string
		status       sfntypes.ExecutionStatus
		want         string // output or error
	}{
		{"fails", `{"errorType": "Boom", "errorMessage": "it broke"}`, sfntypes.ExecutionStatusFailed, "Boom"},
		{"succeeds", `{"ok": true}`, sfntypes.ExecutionStatusSucceeded, `{"ok":true}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.QueueLambdaResults(t, tc.result)
			start := time.Now()
			ex, err := client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: m.StateMachineArn, Name: aws.String(tc.name)})
			if err != nil {
				t.Fatalf("StartExecution: %v\n%s", err, s.Output())
			}
			for {
				d, err := client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: ex.ExecutionArn})
				if err != nil {
					t.Fatalf("DescribeExecution: %v", err)
				}
				if d.Status == sfntypes.ExecutionStatusRunning {
					// Unscaled, the Wait alone would take 100 s.
					if time.Since(start) > 20*time.Second {
						t.Fatalf("still running after %v\n%s", time.Since(start), s.Output())
					}
					time.Sleep(20 * time.Millisecond)
					continue
				}
				got := aws.ToString(d.Error)
				if d.Status == sfntypes.ExecutionStatusSucceeded {
					got = compact(t, aws.ToString(d.Output))
				}
				if d.Status != tc.status || got != tc.want {
					t.Errorf("status %s, %q; want %s, %q", d.Status, got, tc.status, tc.want)
				}
				break
			}
		})
	}
}

// compact drops the spaces moto puts in its JSON.
func compact(t *testing.T, s string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("output %q: %v", s, err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
