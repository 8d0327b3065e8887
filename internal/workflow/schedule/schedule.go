// Package schedule is access.Scheduler on EventBridge Scheduler: the
// grants' expiry schedules. It is apart from package workflow so that only
// the functions that schedule expiries link the Scheduler client.
package schedule

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/workflow"
)

// SchedulerAPI is the part of the EventBridge Scheduler client that
// Scheduler uses.
type SchedulerAPI interface {
	CreateSchedule(ctx context.Context, in *scheduler.CreateScheduleInput, opts ...func(*scheduler.Options)) (*scheduler.CreateScheduleOutput, error)
	UpdateSchedule(ctx context.Context, in *scheduler.UpdateScheduleInput, opts ...func(*scheduler.Options)) (*scheduler.UpdateScheduleOutput, error)
	DeleteSchedule(ctx context.Context, in *scheduler.DeleteScheduleInput, opts ...func(*scheduler.Options)) (*scheduler.DeleteScheduleOutput, error)
	GetSchedule(ctx context.Context, in *scheduler.GetScheduleInput, opts ...func(*scheduler.Options)) (*scheduler.GetScheduleOutput, error)
}

// SchedulerConfig configures a Scheduler.
type SchedulerConfig struct {
	Client SchedulerAPI
	// Group is the schedule group holding the expiry schedules; empty means
	// the account's default group. The group must exist.
	Group string
	// TargetARN is the ARN of the expiry function the schedules invoke.
	TargetARN string
	// RoleARN is the role EventBridge Scheduler assumes to invoke the target.
	RoleARN string
	// DeadLetterARN is the SQS queue for invocations Scheduler gives up on;
	// empty means none.
	DeadLetterARN string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// The retry policy of an expiry schedule: the EventBridge Scheduler maximums,
// so a briefly failing expiry function is retried for a day before the
// invocation goes to the dead-letter queue.
const (
	expiryMaxRetries  = 185
	expiryMaxEventAge = 24 * 60 * 60 // seconds
)

// MinLead is how far ahead of now a schedule is placed at the earliest.
// EventBridge Scheduler rejects one-time schedules in the past, so an expiry
// that is due already (or within MinLead) fires MinLead from now instead.
const MinLead = 10 * time.Second

// Scheduler is access.Scheduler on EventBridge Scheduler: each active grant
// has one one-time schedule that invokes the expiry function at the grant's
// ExpiresAt and deletes itself after it has run.
type Scheduler struct {
	client     SchedulerAPI
	group      *string
	target     string
	role       string
	deadLetter string
	now        func() time.Time
}

var _ access.Scheduler = (*Scheduler)(nil)

// NewScheduler returns a Scheduler.
func NewScheduler(c SchedulerConfig) *Scheduler {
	s := &Scheduler{client: c.Client, target: c.TargetARN, role: c.RoleARN, deadLetter: c.DeadLetterARN, now: c.Now}
	if c.Group != "" {
		s.group = aws.String(c.Group)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// scheduleNamePrefix starts the name of every expiry schedule.
const scheduleNamePrefix = "elv-"

// maxScheduleName is EventBridge Scheduler's limit on schedule names.
const maxScheduleName = 64

// scheduleNameChars is compiled on first use, not at package init.
var scheduleNameChars = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9A-Za-z_.-]+$`) })

// ScheduleName is the name of a grant's expiry schedule: "elv-" and the grant
// id (a UUID gives 40 characters). A grant id that would make a name longer
// than 64 characters, or that holds characters a schedule name cannot, gives
// "elv-h-" and the first 32 hex digits of the id's SHA-256 instead. Grant ids
// are unique across tenants, so the name alone identifies the grant.
func ScheduleName(grantID string) string { return nameOf(scheduleNamePrefix, grantID) }

// startNamePrefix starts the name of every start schedule.
const startNamePrefix = "elv-start-"

// StartScheduleName is the name of a scheduled grant's start schedule:
// "elv-start-" and the grant id, or "elv-start-h-" and the first 32 hex
// digits of its SHA-256 (as ScheduleName).
func StartScheduleName(grantID string) string { return nameOf(startNamePrefix, grantID) }

func nameOf(prefix, grantID string) string {
	if len(prefix)+len(grantID) <= maxScheduleName && scheduleNameChars().MatchString(grantID) {
		return prefix + grantID
	}
	sum := sha256.Sum256([]byte(grantID))
	return prefix + "h-" + hex.EncodeToString(sum[:16])
}

// ExpiryExpression is the schedule expression for an expiry due at expires:
// at(yyyy-mm-ddThh:mm:ss) in UTC, rounded up to the next whole second so the
// schedule never fires before the grant ends, and at least MinLead after now.
func ExpiryExpression(expires, now time.Time) string {
	at := expires.UTC()
	if earliest := now.UTC().Add(MinLead); at.Before(earliest) {
		at = earliest
	}
	if whole := at.Truncate(time.Second); whole.Before(at) {
		at = whole.Add(time.Second)
	}
	return "at(" + at.Format("2006-01-02T15:04:05") + ")"
}

// ScheduleExpiry creates the grant's expiry schedule, or replaces the one
// in place, unless that one belongs to a newer generation of the grant.
func (s *Scheduler) ScheduleExpiry(ctx context.Context, g access.Grant) error {
	in := workflow.ExpiryInput{TenantID: g.TenantID, GrantID: g.ID, Generation: g.Generation}
	return s.put(ctx, in, ScheduleName(g.ID), "expiry", g.ExpiresAt, fmt.Sprintf("grant %s of tenant %s (generation %d)", g.ID, g.TenantID, g.Generation))
}

// ScheduleStart creates a scheduled grant's start schedule (the same target
// as the expiry, with action "start"), or replaces the one in place, unless
// that one belongs to a newer generation of the grant.
func (s *Scheduler) ScheduleStart(ctx context.Context, g access.Grant) error {
	in := workflow.ExpiryInput{TenantID: g.TenantID, GrantID: g.ID, Generation: g.Generation, Action: workflow.ActionStart}
	return s.put(ctx, in, StartScheduleName(g.ID), "start", g.StartsAt, fmt.Sprintf("grant %s of tenant %s (generation %d)", g.ID, g.TenantID, g.Generation))
}

// CancelStart deletes the grant's start schedule; a missing one is fine.
func (s *Scheduler) CancelStart(ctx context.Context, g access.Grant) error {
	return s.delete(ctx, StartScheduleName(g.ID), "start", "grant "+g.ID)
}

// The name prefixes of a pending request's reminder and escalation.
const (
	remindNamePrefix   = "elv-remind-"
	escalateNamePrefix = "elv-escalate-"
)

// NudgeScheduleName is the name of a pending request's reminder
// ("elv-remind-" and the request id) or escalation ("elv-escalate-"), with
// ScheduleName's rule for ids that do not fit.
func NudgeScheduleName(requestID string, kind access.Nudge) string {
	if kind == access.NudgeEscalate {
		return nameOf(escalateNamePrefix, requestID)
	}
	return nameOf(remindNamePrefix, requestID)
}

// ScheduleNudge creates a pending request's reminder or escalation
// schedule (the expiry function, with action "remind" or "escalate"), or
// replaces the one in place.
func (s *Scheduler) ScheduleNudge(ctx context.Context, r access.Request, kind access.Nudge) error {
	action := workflow.ActionRemind
	if kind == access.NudgeEscalate {
		action = workflow.ActionEscalate
	}
	in := workflow.ExpiryInput{TenantID: r.TenantID, RequestID: r.ID, Action: action}
	return s.put(ctx, in, NudgeScheduleName(r.ID, kind), string(kind), kind.At(r), fmt.Sprintf("request %s of tenant %s", r.ID, r.TenantID))
}

// CancelNudges deletes a request's reminder and escalation schedules;
// missing ones are fine.
func (s *Scheduler) CancelNudges(ctx context.Context, r access.Request) error {
	var errs []error
	for _, kind := range []access.Nudge{access.NudgeRemind, access.NudgeEscalate} {
		errs = append(errs, s.delete(ctx, NudgeScheduleName(r.ID, kind), string(kind), "request "+r.ID))
	}
	return errors.Join(errs...)
}

// put creates or replaces the one-time schedule name that delivers in at
// at, unless the schedule in place carries a newer generation of the same
// grant. action and subject name the schedule in its description and
// errors.
func (s *Scheduler) put(ctx context.Context, in workflow.ExpiryInput, name, action string, at time.Time, subject string) error {
	input, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("schedule %s of %s: %w", action, subject, err)
	}
	expression := ExpiryExpression(at, s.now())
	description := fmt.Sprintf("Elevate: %s of %s", action, subject)
	window := &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeOff}
	target := s.targetFor(string(input))

	// A schedule deletes itself once it has run, so one that was in place
	// when we looked may be gone when we update it; go round again then.
	for range 3 {
		_, err := s.client.CreateSchedule(ctx, &scheduler.CreateScheduleInput{
			Name: aws.String(name), GroupName: s.group, Description: aws.String(description),
			ScheduleExpression: aws.String(expression), ScheduleExpressionTimezone: aws.String("UTC"),
			FlexibleTimeWindow: window, ActionAfterCompletion: types.ActionAfterCompletionDelete,
			State: types.ScheduleStateEnabled, Target: target,
		})
		if err == nil {
			return nil
		}
		if !errors.As(err, new(*types.ConflictException)) {
			return fmt.Errorf("schedule %s of %s: create schedule %s: %w", action, subject, name, err)
		}

		cur, err := s.client.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(name), GroupName: s.group})
		if errors.As(err, new(*types.ResourceNotFoundException)) {
			continue
		} else if err != nil {
			return fmt.Errorf("schedule %s of %s: get schedule %s: %w", action, subject, name, err)
		}
		if gen, ok := scheduledGeneration(cur); ok && in.GrantID != "" && gen > in.Generation {
			return nil // a newer expiry is in place; this one is stale
		}

		_, err = s.client.UpdateSchedule(ctx, &scheduler.UpdateScheduleInput{
			Name: aws.String(name), GroupName: s.group, Description: aws.String(description),
			ScheduleExpression: aws.String(expression), ScheduleExpressionTimezone: aws.String("UTC"),
			FlexibleTimeWindow: window, ActionAfterCompletion: types.ActionAfterCompletionDelete,
			State: types.ScheduleStateEnabled, Target: target,
		})
		if errors.As(err, new(*types.ResourceNotFoundException)) {
			continue
		} else if err != nil {
			return fmt.Errorf("schedule %s of %s: update schedule %s: %w", action, subject, name, err)
		}
		return nil
	}
	return fmt.Errorf("schedule %s of %s: schedule %s kept appearing and disappearing", action, subject, name)
}

// CancelExpiry deletes the grant's expiry schedule; a missing one is fine.
func (s *Scheduler) CancelExpiry(ctx context.Context, g access.Grant) error {
	return s.delete(ctx, ScheduleName(g.ID), "expiry", "grant "+g.ID)
}

func (s *Scheduler) delete(ctx context.Context, name, what, subject string) error {
	_, err := s.client.DeleteSchedule(ctx, &scheduler.DeleteScheduleInput{Name: aws.String(name), GroupName: s.group})
	if err != nil && !errors.As(err, new(*types.ResourceNotFoundException)) {
		return fmt.Errorf("cancel %s of %s: delete schedule %s: %w", what, subject, name, err)
	}
	return nil
}

func (s *Scheduler) targetFor(input string) *types.Target {
	t := &types.Target{
		Arn:     aws.String(s.target),
		RoleArn: aws.String(s.role),
		Input:   aws.String(input),
		RetryPolicy: &types.RetryPolicy{
			MaximumRetryAttempts:     aws.Int32(expiryMaxRetries),
			MaximumEventAgeInSeconds: aws.Int32(expiryMaxEventAge),
		},
	}
	if s.deadLetter != "" {
		t.DeadLetterConfig = &types.DeadLetterConfig{Arn: aws.String(s.deadLetter)}
	}
	return t
}

// scheduledGeneration reads the generation from a schedule's input; ok is
// false when the input is not an workflow.ExpiryInput.
func scheduledGeneration(out *scheduler.GetScheduleOutput) (int64, bool) {
	if out == nil || out.Target == nil || out.Target.Input == nil {
		return 0, false
	}
	var in workflow.ExpiryInput
	if err := json.Unmarshal([]byte(*out.Target.Input), &in); err != nil || in.GrantID == "" {
		return 0, false
	}
	return in.Generation, true
}
