package schedule_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/google/uuid"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/motoserver"
	"github.com/elevate-jit/elevate/internal/workflow"
	"github.com/elevate-jit/elevate/internal/workflow/schedule"
)

func TestMain(m *testing.M) { motoserver.Main(m) }

const (
	testTargetARN = "arn:aws:lambda:us-east-1:123456789012:function:elevate-expiry"
	testRoleARN   = "arn:aws:iam::123456789012:role/elevate-scheduler"
	testDLQARN    = "arn:aws:sqs:us-east-1:123456789012:elevate-expiry-dlq"
)

// schedulerNow is the fixed time of the scheduler tests.
var schedulerNow = time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)

// newMotoScheduler returns a Scheduler on the shared moto server with a
// schedule group of its own, and the raw client to inspect it.
func newMotoScheduler(t *testing.T) (*schedule.Scheduler, *scheduler.Client, string) {
	t.Helper()
	srv := motoserver.Shared(t)
	client := scheduler.NewFromConfig(srv.AWSConfig())
	group := "elv-test-" + uuid.NewString()[:8]
	if _, err := client.CreateScheduleGroup(t.Context(), &scheduler.CreateScheduleGroupInput{Name: aws.String(group)}); err != nil {
		t.Fatalf("CreateScheduleGroup: %v\n%s", err, srv.Output())
	}
	s := schedule.NewScheduler(schedule.SchedulerConfig{
		Client: client, Group: group, TargetARN: testTargetARN, RoleARN: testRoleARN, DeadLetterARN: testDLQARN,
		Now: func() time.Time { return schedulerNow },
	})
	return s, client, group
}

func testGrant(generation int64, expires time.Time) access.Grant {
	return access.Grant{
		ID: "3f1c2b9e-8d7a-4c6b-9e5f-0a1b2c3d4e5f", TenantID: "7d2e9a41-1b3c-4d5e-8f70-9a8b7c6d5e4f",
		Status: access.GrantActive, Generation: generation, ExpiresAt: expires,
	}
}

func getSchedule(t *testing.T, c *scheduler.Client, group, name string) *scheduler.GetScheduleOutput {
	t.Helper()
	out, err := c.GetSchedule(t.Context(), &scheduler.GetScheduleInput{GroupName: aws.String(group), Name: aws.String(name)})
	if err != nil {
		t.Fatalf("GetSchedule %s: %v", name, err)
	}
	return out
}

func TestSchedulerScheduleExpiry(t *testing.T) {
	s, client, group := newMotoScheduler(t)
	// Expires a quarter second past the hour: the schedule fires at the next
	// whole second, never before.
	g := testGrant(3, schedulerNow.Add(time.Hour+250*time.Millisecond))
	if err := s.ScheduleExpiry(t.Context(), g); err != nil {
		t.Fatal(err)
	}

	name := "elv-" + g.ID
	got := getSchedule(t, client, group, name)
	checks := []struct{ field, got, want string }{
		{"Name", aws.ToString(got.Name), name},
		{"GroupName", aws.ToString(got.GroupName), group},
		{"ScheduleExpression", aws.ToString(got.ScheduleExpression), "at(2030-06-01T13:00:01)"},
		{"ScheduleExpressionTimezone", aws.ToString(got.ScheduleExpressionTimezone), "UTC"},
		{"FlexibleTimeWindow.Mode", string(got.FlexibleTimeWindow.Mode), "OFF"},
		{"ActionAfterCompletion", string(got.ActionAfterCompletion), "DELETE"},
		{"State", string(got.State), "ENABLED"},
		{"Target.Arn", aws.ToString(got.Target.Arn), testTargetARN},
		{"Target.RoleArn", aws.ToString(got.Target.RoleArn), testRoleARN},
		{"Target.Input", aws.ToString(got.Target.Input), `{"tenant_id":"` + g.TenantID + `","grant_id":"` + g.ID + `","generation":3}`},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.field, c.got, c.want)
		}
	}
	if got.Target.DeadLetterConfig == nil || aws.ToString(got.Target.DeadLetterConfig.Arn) != testDLQARN {
		t.Errorf("Target.DeadLetterConfig = %+v, want Arn %s", got.Target.DeadLetterConfig, testDLQARN)
	}
	if rp := got.Target.RetryPolicy; rp == nil || aws.ToInt32(rp.MaximumRetryAttempts) != 185 || aws.ToInt32(rp.MaximumEventAgeInSeconds) != 86400 {
		t.Errorf("Target.RetryPolicy = %+v, want 185 attempts within 86400 s", rp)
	}
	var in workflow.ExpiryInput
	if err := json.Unmarshal([]byte(aws.ToString(got.Target.Input)), &in); err != nil {
		t.Fatalf("input is not an ExpiryInput: %v", err)
	}
	if want := (workflow.ExpiryInput{TenantID: g.TenantID, GrantID: g.ID, Generation: 3}); in != want {
		t.Errorf("input = %+v, want %+v", in, want)
	}

	// Scheduling the same generation again is harmless.
	if err := s.ScheduleExpiry(t.Context(), g); err != nil {
		t.Fatalf("schedule the same generation again: %v", err)
	}
	if n := countSchedules(t, client, group); n != 1 {
		t.Errorf("%d schedules after scheduling one grant twice, want 1", n)
	}
}

func TestSchedulerReschedule(t *testing.T) {
	s, client, group := newMotoScheduler(t)
	g := testGrant(1, schedulerNow.Add(time.Hour))
	if err := s.ScheduleExpiry(t.Context(), g); err != nil {
		t.Fatal(err)
	}
	newer := testGrant(2, schedulerNow.Add(2*time.Hour))
	if err := s.ScheduleExpiry(t.Context(), newer); err != nil {
		t.Fatalf("schedule a new generation: %v", err)
	}
	if n := countSchedules(t, client, group); n != 1 {
		t.Fatalf("%d schedules after a new generation, want 1 (updated, not added)", n)
	}
	want := func(when string, gen int64, expr string) {
		t.Helper()
		got := getSchedule(t, client, group, "elv-"+g.ID)
		if e := aws.ToString(got.ScheduleExpression); e != expr {
			t.Errorf("%s: expression = %s, want %s", when, e, expr)
		}
		var in workflow.ExpiryInput
		if err := json.Unmarshal([]byte(aws.ToString(got.Target.Input)), &in); err != nil || in.Generation != gen {
			t.Errorf("%s: input = %s, want generation %d", when, aws.ToString(got.Target.Input), gen)
		}
		if m := got.FlexibleTimeWindow.Mode; m != types.FlexibleTimeWindowModeOff {
			t.Errorf("%s: flexible time window = %s, want OFF", when, m)
		}
	}
	want("after generation 2", 2, "at(2030-06-01T14:00:00)")

	// A late call for the older generation leaves the newer schedule alone.
	if err := s.ScheduleExpiry(t.Context(), g); err != nil {
		t.Fatalf("schedule a stale generation: %v", err)
	}
	want("after a stale generation 1", 2, "at(2030-06-01T14:00:00)")
}

func TestSchedulerCancelExpiry(t *testing.T) {
	s, client, group := newMotoScheduler(t)
	g := testGrant(1, schedulerNow.Add(time.Hour))
	if err := s.ScheduleExpiry(t.Context(), g); err != nil {
		t.Fatal(err)
	}
	if err := s.CancelExpiry(t.Context(), g); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	_, err := client.GetSchedule(t.Context(), &scheduler.GetScheduleInput{GroupName: aws.String(group), Name: aws.String("elv-" + g.ID)})
	if !errors.As(err, new(*types.ResourceNotFoundException)) {
		t.Fatalf("GetSchedule after cancel: %v, want ResourceNotFoundException", err)
	}
	if err := s.CancelExpiry(t.Context(), g); err != nil {
		t.Errorf("cancel again: %v, want nil", err)
	}
	other := testGrant(1, schedulerNow)
	other.ID = uuid.NewString()
	if err := s.CancelExpiry(t.Context(), other); err != nil {
		t.Errorf("cancel a grant that never had a schedule: %v, want nil", err)
	}
}

// A scheduled grant's start is a schedule of its own beside the expiry:
// the same target, with action "start", deleted by CancelStart.
func TestSchedulerStart(t *testing.T) {
	s, client, group := newMotoScheduler(t)
	g := testGrant(0, time.Time{})
	g.Status, g.StartsAt = access.GrantScheduled, schedulerNow.Add(3*time.Hour)
	if err := s.ScheduleStart(t.Context(), g); err != nil {
		t.Fatal(err)
	}
	name := "elv-start-" + g.ID
	got := getSchedule(t, client, group, name)
	checks := []struct{ field, got, want string }{
		{"ScheduleExpression", aws.ToString(got.ScheduleExpression), "at(2030-06-01T15:00:00)"},
		{"ActionAfterCompletion", string(got.ActionAfterCompletion), "DELETE"},
		{"Target.Arn", aws.ToString(got.Target.Arn), testTargetARN},
		{"Target.RoleArn", aws.ToString(got.Target.RoleArn), testRoleARN},
		{"Target.Input", aws.ToString(got.Target.Input), `{"tenant_id":"` + g.TenantID + `","grant_id":"` + g.ID + `","generation":0,"action":"start"}`},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.field, c.got, c.want)
		}
	}
	// Twice is harmless; the expiry schedule of the same grant is another.
	if err := s.ScheduleStart(t.Context(), g); err != nil {
		t.Fatalf("schedule the start again: %v", err)
	}
	g.ExpiresAt = schedulerNow.Add(4 * time.Hour)
	if err := s.ScheduleExpiry(t.Context(), g); err != nil {
		t.Fatal(err)
	}
	if n := countSchedules(t, client, group); n != 2 {
		t.Fatalf("%d schedules, want the start and the expiry", n)
	}

	if err := s.CancelStart(t.Context(), g); err != nil {
		t.Fatalf("cancel start: %v", err)
	}
	_, err := client.GetSchedule(t.Context(), &scheduler.GetScheduleInput{GroupName: aws.String(group), Name: aws.String(name)})
	if !errors.As(err, new(*types.ResourceNotFoundException)) {
		t.Fatalf("GetSchedule after cancel: %v, want ResourceNotFoundException", err)
	}
	if n := countSchedules(t, client, group); n != 1 {
		t.Fatalf("%d schedules after cancelling the start, want the expiry alone", n)
	}
	if err := s.CancelStart(t.Context(), g); err != nil {
		t.Errorf("cancel the start again: %v, want nil", err)
	}
}

// A pending request's reminder and escalation are schedules of their own,
// with the request in their input, deleted together by CancelNudges.
func TestSchedulerNudges(t *testing.T) {
	s, client, group := newMotoScheduler(t)
	r := access.Request{
		ID: "5e4d3c2b-1a09-4f8e-b7d6-c5b4a3928170", TenantID: "7d2e9a41-1b3c-4d5e-8f70-9a8b7c6d5e4f", Status: access.RequestPending,
		RemindAt: schedulerNow.Add(12 * time.Hour), EscalateAt: schedulerNow.Add(30 * time.Minute), EscalateTo: "oncall",
	}
	for _, kind := range []access.Nudge{access.NudgeRemind, access.NudgeEscalate} {
		if err := s.ScheduleNudge(t.Context(), r, kind); err != nil {
			t.Fatal(err)
		}
		if err := s.ScheduleNudge(t.Context(), r, kind); err != nil {
			t.Fatalf("schedule the %s again: %v", kind, err)
		}
	}
	for _, c := range []struct{ name, expr, input string }{
		{"elv-remind-" + r.ID, "at(2030-06-02T00:00:00)", `{"tenant_id":"` + r.TenantID + `","generation":0,"action":"remind","request_id":"` + r.ID + `"}`},
		{"elv-escalate-" + r.ID, "at(2030-06-01T12:30:00)", `{"tenant_id":"` + r.TenantID + `","generation":0,"action":"escalate","request_id":"` + r.ID + `"}`},
	} {
		got := getSchedule(t, client, group, c.name)
		if e := aws.ToString(got.ScheduleExpression); e != c.expr {
			t.Errorf("%s: expression = %s, want %s", c.name, e, c.expr)
		}
		if in := aws.ToString(got.Target.Input); in != c.input {
			t.Errorf("%s: input = %s, want %s", c.name, in, c.input)
		}
		if a := aws.ToString(got.Target.Arn); a != testTargetARN || got.ActionAfterCompletion != types.ActionAfterCompletionDelete {
			t.Errorf("%s: target %s, after completion %s", c.name, a, got.ActionAfterCompletion)
		}
	}
	if n := countSchedules(t, client, group); n != 2 {
		t.Fatalf("%d schedules, want the reminder and the escalation", n)
	}
	if err := s.CancelNudges(t.Context(), r); err != nil {
		t.Fatalf("cancel nudges: %v", err)
	}
	if n := countSchedules(t, client, group); n != 0 {
		t.Fatalf("%d schedules after CancelNudges, want 0", n)
	}
	if err := s.CancelNudges(t.Context(), r); err != nil {
		t.Errorf("cancel the nudges again: %v, want nil", err)
	}
}

// TestSchedulerPastExpiry checks that an expiry already due is scheduled
// MinLead from now: EventBridge Scheduler rejects one-time schedules in the past.
func TestSchedulerPastExpiry(t *testing.T) {
	s, client, group := newMotoScheduler(t)
	g := testGrant(1, schedulerNow.Add(-time.Minute))
	if err := s.ScheduleExpiry(t.Context(), g); err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(getSchedule(t, client, group, "elv-"+g.ID).ScheduleExpression); got != "at(2030-06-01T12:00:10)" {
		t.Errorf("expression = %s, want at(2030-06-01T12:00:10)", got)
	}
}

func countSchedules(t *testing.T, c *scheduler.Client, group string) int {
	t.Helper()
	out, err := c.ListSchedules(t.Context(), &scheduler.ListSchedulesInput{GroupName: aws.String(group)})
	if err != nil {
		t.Fatalf("ListSchedules: %v", err)
	}
	return len(out.Schedules)
}

func TestScheduleName(t *testing.T) {
	valid := regexp.MustCompile(`^[0-9A-Za-z_.-]{1,64}$`)
	long := strings.Repeat("a", 61)
	tests := []struct {
		name, grantID, want string
	}{
		{"uuid", "3f1c2b9e-8d7a-4c6b-9e5f-0a1b2c3d4e5f", "elv-3f1c2b9e-8d7a-4c6b-9e5f-0a1b2c3d4e5f"},
		{"60 characters", long[:60], "elv-" + long[:60]},
		{"61 characters", long, ""},
		{"a character names cannot hold", "tenant/grant", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := schedule.ScheduleName(tt.grantID)
			if !valid.MatchString(got) {
				t.Fatalf("ScheduleName(%q) = %q: not a valid schedule name (1-64 of [0-9A-Za-z_.-])", tt.grantID, got)
			}
			if tt.want != "" && got != tt.want {
				t.Errorf("ScheduleName(%q) = %q, want %q", tt.grantID, got, tt.want)
			}
			if tt.want == "" && !strings.HasPrefix(got, "elv-h-") {
				t.Errorf("ScheduleName(%q) = %q, want a hashed name elv-h-…", tt.grantID, got)
			}
			if again := schedule.ScheduleName(tt.grantID); again != got {
				t.Errorf("ScheduleName(%q) is not stable: %q then %q", tt.grantID, got, again)
			}
		})
	}
	if len(schedule.ScheduleName(uuid.NewString())) > 64 {
		t.Errorf("name of a UUID grant id is longer than 64 characters")
	}
	if a, b := schedule.ScheduleName(long+"x"), schedule.ScheduleName(long+"y"); a == b {
		t.Errorf("two long grant ids share the name %s", a)
	}
}

func TestExpiryExpression(t *testing.T) {
	now := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		expires time.Time
		want    string
	}{
		{"whole second", now.Add(time.Hour), "at(2030-06-01T13:00:00)"},
		{"one microsecond past rounds up", now.Add(time.Hour + time.Microsecond), "at(2030-06-01T13:00:01)"},
		{"half a second past rounds up", now.Add(time.Hour + 500*time.Millisecond), "at(2030-06-01T13:00:01)"},
		{"another zone is converted to UTC", time.Date(2030, 6, 1, 15, 30, 0, 0, time.FixedZone("UTC+2", 2*3600)), "at(2030-06-01T13:30:00)"},
		{"exactly MinLead ahead", now.Add(schedule.MinLead), "at(2030-06-01T12:00:10)"},
		{"within MinLead", now.Add(3 * time.Second), "at(2030-06-01T12:00:10)"},
		{"already past", now.Add(-time.Hour), "at(2030-06-01T12:00:10)"},
		{"zero", time.Time{}, "at(2030-06-01T12:00:10)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := schedule.ExpiryExpression(tt.expires, now); got != tt.want {
				t.Errorf("ExpiryExpression(%s) = %s, want %s", tt.expires, got, tt.want)
			}
		})
	}
	t.Run("now with a fraction", func(t *testing.T) {
		if got := schedule.ExpiryExpression(time.Time{}, now.Add(100*time.Millisecond)); got != "at(2030-06-01T12:00:11)" {
			t.Errorf("got %s, want at(2030-06-01T12:00:11)", got)
		}
	})
}

// fakeScheduler answers with functions a test sets; unset calls fail it.
type fakeScheduler struct {
	t      *testing.T
	create func(*scheduler.CreateScheduleInput) error
	get    func(*scheduler.GetScheduleInput) (*scheduler.GetScheduleOutput, error)
	update func(*scheduler.UpdateScheduleInput) error
	delete func(*scheduler.DeleteScheduleInput) error
	calls  []string
}

func (f *fakeScheduler) CreateSchedule(_ context.Context, in *scheduler.CreateScheduleInput, _ ...func(*scheduler.Options)) (*scheduler.CreateScheduleOutput, error) {
	f.calls = append(f.calls, "create")
	if f.create == nil {
		f.t.Fatal("unexpected CreateSchedule")
	}
	return &scheduler.CreateScheduleOutput{}, f.create(in)
}

func (f *fakeScheduler) UpdateSchedule(_ context.Context, in *scheduler.UpdateScheduleInput, _ ...func(*scheduler.Options)) (*scheduler.UpdateScheduleOutput, error) {
	f.calls = append(f.calls, "update")
	if f.update == nil {
		f.t.Fatal("unexpected UpdateSchedule")
	}
	return &scheduler.UpdateScheduleOutput{}, f.update(in)
}

func (f *fakeScheduler) DeleteSchedule(_ context.Context, in *scheduler.DeleteScheduleInput, _ ...func(*scheduler.Options)) (*scheduler.DeleteScheduleOutput, error) {
	f.calls = append(f.calls, "delete")
	if f.delete == nil {
		f.t.Fatal("unexpected DeleteSchedule")
	}
	return &scheduler.DeleteScheduleOutput{}, f.delete(in)
}

func (f *fakeScheduler) GetSchedule(_ context.Context, in *scheduler.GetScheduleInput, _ ...func(*scheduler.Options)) (*scheduler.GetScheduleOutput, error) {
	f.calls = append(f.calls, "get")
	if f.get == nil {
		f.t.Fatal("unexpected GetSchedule")
	}
	return f.get(in)
}

func TestSchedulerErrors(t *testing.T) {
	boom := errors.New("boom")
	g := testGrant(1, schedulerNow.Add(time.Hour))
	conflict := &types.ConflictException{Message: aws.String("exists")}
	notFound := &types.ResourceNotFoundException{Message: aws.String("missing")}
	tests := []struct {
		name    string
		fake    fakeScheduler
		cancel  bool
		wantErr error
		calls   string
	}{
		{name: "create fails", fake: fakeScheduler{create: func(*scheduler.CreateScheduleInput) error { return boom }},
			wantErr: boom, calls: "create"},
		{name: "update fails", fake: fakeScheduler{
			create: func(*scheduler.CreateScheduleInput) error { return conflict },
			get: func(*scheduler.GetScheduleInput) (*scheduler.GetScheduleOutput, error) {
				return &scheduler.GetScheduleOutput{}, nil
			},
			update: func(*scheduler.UpdateScheduleInput) error { return boom },
		}, wantErr: boom, calls: "create get update"},
		{name: "schedule ran and went away between create and update", fake: func() fakeScheduler {
			n := 0
			return fakeScheduler{
				create: func(*scheduler.CreateScheduleInput) error {
					if n++; n == 1 {
						return conflict
					}
					return nil
				},
				get: func(*scheduler.GetScheduleInput) (*scheduler.GetScheduleOutput, error) { return nil, notFound },
			}
		}(), calls: "create get create"},
		{name: "delete fails", cancel: true, fake: fakeScheduler{delete: func(*scheduler.DeleteScheduleInput) error { return boom }},
			wantErr: boom, calls: "delete"},
		{name: "delete finds nothing", cancel: true, fake: fakeScheduler{delete: func(*scheduler.DeleteScheduleInput) error { return notFound }},
			calls: "delete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &tt.fake
			f.t = t
			s := schedule.NewScheduler(schedule.SchedulerConfig{Client: f, Group: "g", TargetARN: testTargetARN, RoleARN: testRoleARN,
				Now: func() time.Time { return schedulerNow }})
			var err error
			if tt.cancel {
				err = s.CancelExpiry(t.Context(), g)
			} else {
				err = s.ScheduleExpiry(t.Context(), g)
			}
			switch {
			case tt.wantErr == nil && err != nil:
				t.Errorf("err = %v, want nil", err)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Errorf("err = %v, want one wrapping %v", err, tt.wantErr)
			case tt.wantErr != nil && !strings.Contains(err.Error(), g.ID):
				t.Errorf("err = %v, want it to name grant %s", err, g.ID)
			}
			if got := strings.Join(f.calls, " "); got != tt.calls {
				t.Errorf("calls = %s, want %s", got, tt.calls)
			}
		})
	}
}

// TestSchedulerUpdateMatchesCreate checks that replacing a schedule sends
// every field a new one gets: UpdateSchedule replaces the whole schedule.
func TestSchedulerUpdateMatchesCreate(t *testing.T) {
	var created *scheduler.CreateScheduleInput
	var updated *scheduler.UpdateScheduleInput
	f := &fakeScheduler{t: t,
		create: func(in *scheduler.CreateScheduleInput) error { created = in; return &types.ConflictException{} },
		get: func(*scheduler.GetScheduleInput) (*scheduler.GetScheduleOutput, error) {
			return &scheduler.GetScheduleOutput{Target: &types.Target{Input: aws.String(`{"tenant_id":"t","grant_id":"g","generation":1}`)}}, nil
		},
		update: func(in *scheduler.UpdateScheduleInput) error { updated = in; return nil },
	}
	s := schedule.NewScheduler(schedule.SchedulerConfig{Client: f, Group: "g", TargetARN: testTargetARN, RoleARN: testRoleARN,
		DeadLetterARN: testDLQARN, Now: func() time.Time { return schedulerNow }})
	if err := s.ScheduleExpiry(t.Context(), testGrant(2, schedulerNow.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	if updated == nil {
		t.Fatalf("calls = %v, want an update after the conflict", f.calls)
	}
	want := scheduler.UpdateScheduleInput{
		Name: created.Name, GroupName: created.GroupName, Description: created.Description,
		ScheduleExpression: created.ScheduleExpression, ScheduleExpressionTimezone: created.ScheduleExpressionTimezone,
		FlexibleTimeWindow: created.FlexibleTimeWindow, ActionAfterCompletion: created.ActionAfterCompletion,
		State: created.State, Target: created.Target, StartDate: created.StartDate, EndDate: created.EndDate,
		KmsKeyArn: created.KmsKeyArn,
	}
	if !reflect.DeepEqual(*updated, want) {
		t.Errorf("update = %+v\nwant the create's fields %+v", *updated, want)
	}
	if updated.ActionAfterCompletion != types.ActionAfterCompletionDelete || aws.ToString(updated.GroupName) != "g" {
		t.Errorf("update lacks ActionAfterCompletion DELETE or the group: %+v", *updated)
	}
}
