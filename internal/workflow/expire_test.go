package workflow_test

import (
	"context"
	"testing"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/workflow"
)

// callSteps records which step a schedule's input reached.
type callSteps struct{ calls []string }

func (c *callSteps) ExpireRequest(context.Context, string, string) (access.Request, error) {
	return access.Request{}, nil
}
func (c *callSteps) ProvisionGrant(context.Context, string, string) (bool, error)   { return true, nil }
func (c *callSteps) DeprovisionGrant(context.Context, string, string) (bool, error) { return true, nil }
func (c *callSteps) ExpireGrant(_ context.Context, _, id string, _ int64) (access.Grant, error) {
	c.calls = append(c.calls, "expire "+id)
	return access.Grant{}, nil
}
func (c *callSteps) StartGrant(_ context.Context, _, id string, _ int64) (access.Grant, error) {
	c.calls = append(c.calls, "start "+id)
	return access.Grant{}, nil
}
func (c *callSteps) RemindRequest(_ context.Context, _, id string) (access.Request, error) {
	c.calls = append(c.calls, "remind "+id)
	return access.Request{}, nil
}
func (c *callSteps) EscalateRequest(_ context.Context, _, id string) (access.Request, error) {
	c.calls = append(c.calls, "escalate "+id)
	return access.Request{}, nil
}

// The expiry function is the target of every schedule: its input's action
// picks the step, and each needs its own object.
func TestExpireDispatch(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   workflow.ExpiryInput
		want string // "" for an error
	}{
		{"expiry", workflow.ExpiryInput{TenantID: "t", GrantID: "g"}, "expire g"},
		{"named expiry", workflow.ExpiryInput{TenantID: "t", GrantID: "g", Action: workflow.ActionExpire}, "expire g"},
		{"start", workflow.ExpiryInput{TenantID: "t", GrantID: "g", Action: workflow.ActionStart}, "start g"},
		{"remind", workflow.ExpiryInput{TenantID: "t", RequestID: "r", Action: workflow.ActionRemind}, "remind r"},
		{"escalate", workflow.ExpiryInput{TenantID: "t", RequestID: "r", Action: workflow.ActionEscalate}, "escalate r"},
		{"remind without a request", workflow.ExpiryInput{TenantID: "t", GrantID: "g", Action: workflow.ActionRemind}, ""},
		{"start without a grant", workflow.ExpiryInput{TenantID: "t", RequestID: "r", Action: workflow.ActionStart}, ""},
		{"unknown action", workflow.ExpiryInput{TenantID: "t", GrantID: "g", Action: "explode"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			steps := &callSteps{}
			_, err := workflow.Handlers{Steps: steps}.Expire(context.Background(), tc.in)
			switch {
			case tc.want == "" && (err == nil || len(steps.calls) != 0):
				t.Errorf("Expire(%+v) = %v, calls %v; want an error and no call", tc.in, err, steps.calls)
			case tc.want != "" && (err != nil || len(steps.calls) != 1 || steps.calls[0] != tc.want):
				t.Errorf("Expire(%+v) = %v, calls %v; want %q", tc.in, err, steps.calls, tc.want)
			}
		})
	}
}
