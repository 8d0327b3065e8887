package identitycenter_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	ssotypes "github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/identitycenter"
)

func TestAWSResolveUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.createUser(t, "alice", "alice@example.com")
	bob := e.createUser(t, "bob", "bob@example.com")
	ic := e.newAWS(nil)

	tests := []struct {
		name     string
		mapping  access.IdentityMapping
		grantee  string
		want     string
		notFound bool
	}{
		{"user name", access.MapUserName, "alice", alice, false},
		{"another user name", access.MapUserName, "bob", bob, false},
		{"email", access.MapEmail, "bob@example.com", bob, false},
		{"user id", access.MapUserID, alice, alice, false},
		{"missing user name", access.MapUserName, "mallory", "", true},
		{"missing email", access.MapEmail, "mallory@example.com", "", true},
		{"missing user id", access.MapUserID, randomUUID(), "", true},
		{"user name is not an email", access.MapEmail, "alice", "", true},
		{"empty grantee", access.MapUserName, "", "", true},
		{"external id without issuer", access.MapExternalID, "alice", "", true},
		{"external id unknown", access.MapExternalID, "https://idp.example.com|alice", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ic.ResolveUser(e.ctx, e.tenant(tc.mapping), tc.grantee)
			if tc.notFound {
				if !errors.Is(err, access.ErrUserNotFound) {
					t.Fatalf("ResolveUser(%q) = %q, %v; want an error wrapping ErrUserNotFound", tc.grantee, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ResolveUser(%q) = %q, %v; want %q", tc.grantee, got, err, tc.want)
			}
		})
	}
}

func TestAWSResolveUserCache(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.createUser(t, "alice", "alice@example.com")
	clk := &fakeClock{now: time.Now()}
	ids := &countingIDs{IdentityStoreAPI: e.ids}
	ic := e.newAWS(func(c *identitycenter.AWSConfig) { c.IdentityStore = ids; c.Now = clk.Now; c.CacheTTL = time.Minute })
	ten := e.tenant(access.MapUserName)

	resolve := func(grantee string) (string, error) { return ic.ResolveUser(e.ctx, ten, grantee) }
	steps := []struct {
		name      string
		advance   time.Duration
		grantee   string
		want      string
		wantCalls int // Identity Store calls made by this step
	}{
		{"first lookup asks the store", 0, "alice", alice, 2},
		{"second lookup is cached", 0, "alice", alice, 0},
		{"still cached just before the TTL", 59 * time.Second, "alice", alice, 0},
		{"asked again after the TTL", 2 * time.Second, "alice", alice, 2},
		{"a missing user asks the store", 0, "mallory", "", 1},
		{"a missing user is cached briefly", 20 * time.Second, "mallory", "", 0},
		{"and asked again after 30 seconds", 11 * time.Second, "mallory", "", 1},
	}
	for _, s := range steps {
		clk.Advance(s.advance)
		before := ids.n()
		got, err := resolve(s.grantee)
		if s.want == "" && !errors.Is(err, access.ErrUserNotFound) {
			t.Fatalf("%s: ResolveUser = %q, %v; want ErrUserNotFound", s.name, got, err)
		}
		if s.want != "" && (err != nil || got != s.want) {
			t.Fatalf("%s: ResolveUser = %q, %v; want %q", s.name, got, err, s.want)
		}
		if calls := ids.n() - before; calls != s.wantCalls {
			t.Fatalf("%s: %d Identity Store calls, want %d", s.name, calls, s.wantCalls)
		}
	}

	// Another tenant's store is another cache entry.
	other := ten
	other.Boundary.IdentityStoreID = "d-" + randomHex(5)
	before := ids.n()
	if _, err := ic.ResolveUser(e.ctx, other, "alice"); !errors.Is(err, access.ErrUserNotFound) {
		t.Fatalf("alice in another store: %v, want ErrUserNotFound", err)
	}
	if ids.n() == before {
		t.Fatal("a lookup in another identity store was answered from the cache")
	}
}

func TestAWSOrganizations(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ouA := e.ou(t, e.root, "a-"+randomHex(3))
	ouB := e.ou(t, ouA, "b")
	inB := e.account(t, ouB, "in-b")
	inA := e.account(t, ouA, "in-a")
	closed := e.account(t, ouB, "closed")
	if _, err := e.org.CloseAccount(e.ctx, &organizations.CloseAccountInput{AccountId: aws.String(closed)}); err != nil {
		t.Fatalf("CloseAccount: %v", err)
	}
	org := &countingOrg{OrganizationsAPI: e.org}
	ic := e.newAWS(func(c *identitycenter.AWSConfig) { c.Organizations = org })
	ten := e.tenant(access.MapUserName, ouA)

	t.Run("ancestors", func(t *testing.T) {
		tests := []struct {
			name string
			r    access.Resource
			want []string
		}{
			{"account under B", access.Resource{Type: access.ResourceAccount, ID: inB}, []string{e.root, ouA, ouB}},
			{"account under A", access.Resource{Type: access.ResourceAccount, ID: inA}, []string{e.root, ouA}},
			{"bucket in an account under B", access.Resource{Type: access.ResourceS3Bucket, ID: "logs", AccountID: inB}, []string{e.root, ouA, ouB}},
			{"OU B", access.Resource{Type: access.ResourceOrganizationalUnit, ID: ouB}, []string{e.root, ouA}},
			{"OU A", access.Resource{Type: access.ResourceOrganizationalUnit, ID: ouA}, []string{e.root}},
			{"account outside the organization", access.Resource{Type: access.ResourceAccount, ID: randomAccount()}, nil},
		}
		for _, tc := range tests {
			got, err := ic.Ancestors(e.ctx, ten, tc.r)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("%s: Ancestors = %v, %v; want %v", tc.name, got, err, tc.want)
			}
		}
		before := org.n()
		if got, _ := ic.Ancestors(e.ctx, ten, access.Resource{Type: access.ResourceAccount, ID: inB}); !slices.Equal(got, []string{e.root, ouA, ouB}) || org.n() != before {
			t.Errorf("cached Ancestors = %v after %d calls, want the chain from the cache", got, org.n()-before)
		}
	})

	t.Run("accounts under", func(t *testing.T) {
		tests := []struct {
			name          string
			ou            string
			max           int
			want          []string
			wantTruncated bool
		}{
			{"A: its own and B's active accounts", ouA, 10, []string{inA, inB}, false},
			{"A capped at the number of active accounts", ouA, 2, []string{inA, inB}, false},
			{"A capped below it", ouA, 1, []string{inA}, true},
			{"B", ouB, 10, []string{inB}, false},
		}
		for _, tc := range tests {
			fresh := e.newAWS(func(c *identitycenter.AWSConfig) { c.Organizations = org })
			got, truncated, err := fresh.AccountsUnder(e.ctx, ten, tc.ou, tc.max)
			if err != nil || !slices.Equal(got, tc.want) || truncated != tc.wantTruncated {
				t.Errorf("%s: AccountsUnder = %v, %v, %v; want %v, %v", tc.name, got, truncated, err, tc.want, tc.wantTruncated)
			}
			// The walk taught the adapter every account's ancestors.
			before := org.n()
			for _, acct := range got {
				if _, err := fresh.Ancestors(e.ctx, ten, access.Resource{Type: access.ResourceAccount, ID: acct}); err != nil {
					t.Fatal(err)
				}
			}
			if org.n() != before {
				t.Errorf("%s: Ancestors of the listed accounts made %d Organizations calls, want 0", tc.name, org.n()-before)
			}
		}
	})
}

// spec is a managed permission set for a bucket of its own.
func spec(t *testing.T, e *env, action string) access.ManagedPermissionSet {
	t.Helper()
	s, err := access.ManagedSpec(e.instanceARN, access.Resource{Type: access.ResourceS3Bucket, ID: "bucket-" + randomHex(6), AccountID: "123456789012"}, action, 1, "")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAWSEnsurePermissionSet(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ten := e.tenant(access.MapUserName)
	ic := e.newAWS(nil)
	s := spec(t, e, "read")

	arn, err := ic.EnsurePermissionSet(e.ctx, ten, s)
	if err != nil {
		t.Fatalf("EnsurePermissionSet: %v", err)
	}
	ps, err := e.raw.DescribePermissionSet(e.ctx, &ssoadmin.DescribePermissionSetInput{InstanceArn: aws.String(e.instanceARN), PermissionSetArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	if got := ps.PermissionSet; aws.ToString(got.Name) != s.Name || aws.ToString(got.SessionDuration) != "PT1H" || aws.ToString(got.Description) != s.Description {
		t.Errorf("permission set = %q, %q, %q; want %q, PT1H, %q", aws.ToString(got.Name), aws.ToString(got.SessionDuration), aws.ToString(got.Description), s.Name, s.Description)
	}
	if got := inlinePolicy(t, e, arn); got != s.InlinePolicy {
		t.Errorf("inline policy = %s, want %s", got, s.InlinePolicy)
	}
	tags := must(e.sso.ListTagsForResource(e.ctx, &ssoadmin.ListTagsForResourceInput{InstanceArn: aws.String(e.instanceARN), ResourceArn: aws.String(arn)}))(t).Tags
	if len(tags) != 1 || aws.ToString(tags[0].Key) != access.ManagedTagKey || aws.ToString(tags[0].Value) != access.ManagedTagValue {
		t.Errorf("tags given at creation = %+v, want only %s=%s", tags, access.ManagedTagKey, access.ManagedTagValue)
	}

	steps := []struct {
		name string
		ic   *identitycenter.AWS
	}{
		{"the same adapter", ic},
		{"a fresh adapter finds it by name", e.newAWS(nil)},
	}
	for _, st := range steps {
		got, err := st.ic.EnsurePermissionSet(e.ctx, ten, s)
		if err != nil || got != arn {
			t.Errorf("%s: EnsurePermissionSet = %q, %v; want %q", st.name, got, err, arn)
		}
	}
	if n := e.sso.count("CreatePermissionSet"); n != 1 {
		t.Errorf("CreatePermissionSet called %d times, want 1", n)
	}

	// A new policy under the same name (an RDS instance recreated under the
	// same name has a new resource id) replaces the old one.
	changed := s
	changed.InlinePolicy = strings.Replace(s.InlinePolicy, "s3:GetObjectTagging", "s3:GetObjectAcl", 1)
	if got, err := ic.EnsurePermissionSet(e.ctx, ten, changed); err != nil || got != arn {
		t.Fatalf("EnsurePermissionSet with a changed policy = %q, %v; want %q", got, err, arn)
	}
	if got := inlinePolicy(t, e, arn); got != changed.InlinePolicy {
		t.Errorf("inline policy after the change = %s, want %s", got, changed.InlinePolicy)
	}
	if n := e.sso.count("CreatePermissionSet"); n != 1 {
		t.Errorf("CreatePermissionSet called %d times, want still 1", n)
	}
}

func TestAWSEnsurePermissionSetRefusesUnmanaged(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ten := e.tenant(access.MapUserName)
	s := spec(t, e, "write")
	tests := []struct {
		name string
		tags []ssotypes.Tag
	}{
		{"untagged", nil},
		{"tagged false", []ssotypes.Tag{{Key: aws.String(access.ManagedTagKey), Value: aws.String("false")}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := s
			s.Name = access.ManagedName(e.instanceARN, access.Resource{Type: access.ResourceS3Bucket, ID: randomHex(8)}, "read", 1)
			existing := e.permissionSet(t, s.Name, tc.tags...)
			puts := e.sso.count("PutInlinePolicyToPermissionSet")
			_, err := e.newAWS(nil).EnsurePermissionSet(e.ctx, ten, s)
			var ae *access.Error
			if !errors.As(err, &ae) || ae.Code != access.CodeConflict || !strings.Contains(ae.Message, s.Name) {
				t.Fatalf("EnsurePermissionSet over an unmanaged set: %v; want an *access.Error (conflict) naming it", err)
			}
			if got := inlinePolicy(t, e, existing); got != "" {
				t.Errorf("the unmanaged set got an inline policy: %s", got)
			}
			if e.sso.count("PutInlinePolicyToPermissionSet") != puts {
				t.Error("PutInlinePolicyToPermissionSet was called")
			}
		})
	}
}

func inlinePolicy(t *testing.T, e *env, arn string) string {
	t.Helper()
	out, err := e.raw.GetInlinePolicyForPermissionSet(e.ctx, &ssoadmin.GetInlinePolicyForPermissionSetInput{InstanceArn: aws.String(e.instanceARN), PermissionSetArn: aws.String(arn)})
	if err != nil {
		t.Fatalf("GetInlinePolicyForPermissionSet: %v", err)
	}
	return aws.ToString(out.InlinePolicy)
}

func TestAWSAssignmentRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ic := e.newAWS(nil)
	a := access.Assignment{InstanceARN: e.instanceARN, PermissionSetARN: e.permissionSet(t, "ro-"+randomHex(4)), AccountID: randomAccount(), PrincipalID: randomUUID()}

	exists := func() bool {
		t.Helper()
		ok, err := ic.AssignmentExists(e.ctx, a)
		if err != nil {
			t.Fatalf("AssignmentExists: %v", err)
		}
		return ok
	}
	if exists() {
		t.Fatal("the assignment exists before it is created")
	}
	op, err := ic.CreateAssignment(e.ctx, a)
	if err != nil || op.ID == "" || op.Status == access.OperationFailed {
		t.Fatalf("CreateAssignment = %+v, %v", op, err)
	}
	if st, err := ic.CreationStatus(e.ctx, a.InstanceARN, op.ID); err != nil || st.Status != access.OperationSucceeded || st.ID != op.ID {
		t.Fatalf("CreationStatus = %+v, %v; want SUCCEEDED", st, err)
	}
	if !exists() || !slices.Equal(e.assigned(t, a.AccountID, a.PermissionSetARN), []string{a.PrincipalID}) {
		t.Fatal("the assignment does not exist after its creation succeeded")
	}
	// The user's assignments list it, and only for that user.
	if got, err := ic.AssignmentsOf(e.ctx, a.InstanceARN, a.PrincipalID); err != nil || !slices.Equal(got, []access.AssignmentKey{a.Key()}) {
		t.Fatalf("AssignmentsOf = %+v, %v; want the assignment", got, err)
	}
	if got, err := ic.AssignmentsOf(e.ctx, a.InstanceARN, randomUUID()); err != nil || len(got) != 0 {
		t.Fatalf("AssignmentsOf another user = %+v, %v; want none", got, err)
	}
	// Another user's assignment of the same set is not this one.
	other := a
	other.PrincipalID = randomUUID()
	if ok, err := ic.AssignmentExists(e.ctx, other); err != nil || ok {
		t.Fatalf("AssignmentExists for another user = %v, %v; want false", ok, err)
	}

	del, err := ic.DeleteAssignment(e.ctx, a)
	if err != nil || del.ID == "" {
		t.Fatalf("DeleteAssignment = %+v, %v", del, err)
	}
	if st, err := ic.DeletionStatus(e.ctx, a.InstanceARN, del.ID); err != nil || st.Status != access.OperationSucceeded {
		t.Fatalf("DeletionStatus = %+v, %v; want SUCCEEDED", st, err)
	}
	if exists() {
		t.Fatal("the assignment exists after its deletion succeeded")
	}

	again, err := ic.DeleteAssignment(e.ctx, a)
	if err != nil || again.ID == "" || again.Status != access.OperationSucceeded {
		t.Fatalf("DeleteAssignment of a missing assignment = %+v, %v; want an operation that succeeded", again, err)
	}
	if st, err := ic.DeletionStatus(e.ctx, a.InstanceARN, again.ID); err != nil || st.Status != access.OperationSucceeded {
		t.Fatalf("DeletionStatus of a missing assignment's deletion = %+v, %v; want SUCCEEDED", st, err)
	}
}

// slowCreations makes moto's creations report IN_PROGRESS until settled.
type slowCreations struct {
	*motoSSO
	settled map[string]bool
}

func (s *slowCreations) CreateAccountAssignment(ctx context.Context, in *ssoadmin.CreateAccountAssignmentInput, opts ...func(*ssoadmin.Options)) (*ssoadmin.CreateAccountAssignmentOutput, error) {
	out, err := s.motoSSO.CreateAccountAssignment(ctx, in, opts...)
	if err == nil {
		out.AccountAssignmentCreationStatus.Status = ssotypes.StatusValuesInProgress
	}
	return out, err
}

func (s *slowCreations) DescribeAccountAssignmentCreationStatus(ctx context.Context, in *ssoadmin.DescribeAccountAssignmentCreationStatusInput, opts ...func(*ssoadmin.Options)) (*ssoadmin.DescribeAccountAssignmentCreationStatusOutput, error) {
	out, err := s.motoSSO.DescribeAccountAssignmentCreationStatus(ctx, in, opts...)
	if err == nil && !s.settled[aws.ToString(in.AccountAssignmentCreationRequestId)] {
		out.AccountAssignmentCreationStatus.Status = ssotypes.StatusValuesInProgress
	}
	return out, err
}

func TestAWSCreationSlots(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	slow := &slowCreations{motoSSO: e.sso, settled: map[string]bool{}}
	ic := e.newAWS(func(c *identitycenter.AWSConfig) { c.SSOAdmin = slow; c.Slots = identitycenter.NewLocalSlots(1) })
	ps := e.permissionSet(t, "ro-"+randomHex(4))
	first := access.Assignment{InstanceARN: e.instanceARN, PermissionSetARN: ps, AccountID: randomAccount(), PrincipalID: randomUUID()}
	second := first
	second.AccountID = randomAccount()

	op, err := ic.CreateAssignment(e.ctx, first)
	if err != nil || op.Status != access.OperationInProgress {
		t.Fatalf("first CreateAssignment = %+v, %v; want IN_PROGRESS", op, err)
	}
	if _, err := ic.CreateAssignment(e.ctx, second); !errors.Is(err, access.ErrRetryLater) {
		t.Fatalf("second CreateAssignment while the first is outstanding: %v; want ErrRetryLater", err)
	}
	if st, err := ic.CreationStatus(e.ctx, e.instanceARN, op.ID); err != nil || st.Status != access.OperationInProgress {
		t.Fatalf("CreationStatus = %+v, %v; want IN_PROGRESS", st, err)
	}
	if _, err := ic.CreateAssignment(e.ctx, second); !errors.Is(err, access.ErrRetryLater) {
		t.Fatalf("second CreateAssignment while the first is still in progress: %v; want ErrRetryLater", err)
	}
	slow.settled[op.ID] = true
	if st, err := ic.CreationStatus(e.ctx, e.instanceARN, op.ID); err != nil || st.Status != access.OperationSucceeded {
		t.Fatalf("CreationStatus = %+v, %v; want SUCCEEDED", st, err)
	}
	if op2, err := ic.CreateAssignment(e.ctx, second); err != nil || op2.ID == "" {
		t.Fatalf("second CreateAssignment after the first ended = %+v, %v", op2, err)
	}
}

func TestAWSDeleteManagedPermissionSetIfUnused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ten := e.tenant(access.MapUserName)
	later := func() time.Time { return time.Now().Add(time.Hour) } // past DeleteGrace
	ic := e.newAWS(func(c *identitycenter.AWSConfig) { c.Now = later })

	unused := must(ic.EnsurePermissionSet(e.ctx, ten, spec(t, e, "read")))(t)
	used := must(ic.EnsurePermissionSet(e.ctx, ten, spec(t, e, "write")))(t)
	a := access.Assignment{InstanceARN: e.instanceARN, PermissionSetARN: used, AccountID: randomAccount(), PrincipalID: randomUUID()}
	if _, err := ic.CreateAssignment(e.ctx, a); err != nil {
		t.Fatal(err)
	}
	unmanagedName := access.ManagedName(e.instanceARN, access.Resource{Type: access.ResourceS3Bucket, ID: randomHex(8)}, "read", 1)
	unmanaged := e.permissionSet(t, unmanagedName)
	otherName := e.permissionSet(t, "AdministratorAccess-"+randomHex(3), ssotypes.Tag{Key: aws.String(access.ManagedTagKey), Value: aws.String(access.ManagedTagValue)})

	for _, tc := range []struct {
		name  string
		inUse func(string) bool
		want  map[string]bool
	}{
		{"none in use", func(string) bool { return false }, map[string]bool{unused: true, used: true, unmanaged: false, otherName: false}},
		{"the used one in use", func(arn string) bool { return arn == used }, map[string]bool{unused: true, used: false, unmanaged: false, otherName: false}},
	} {
		managed := must(ic.ManagedPermissionSets(e.ctx, e.instanceARN, tc.inUse))(t)
		for arn, want := range tc.want {
			if slices.Contains(managed, arn) != want {
				t.Errorf("%s: ManagedPermissionSets contains %s: %v, want %v", tc.name, arn, !want, want)
			}
		}
	}

	tests := []struct {
		name        string
		ic          *identitycenter.AWS
		arn         string
		wantDeleted bool
		wantErr     bool
	}{
		{"used", ic, used, false, false},
		{"unmanaged", ic, unmanaged, false, true},
		{"unused but younger than the grace period", e.newAWS(nil), unused, false, false},
		{"unused", ic, unused, true, false},
		{"already gone", ic, unused, true, false},
	}
	for _, tc := range tests {
		deleted, err := tc.ic.DeleteManagedPermissionSetIfUnused(e.ctx, e.instanceARN, tc.arn)
		if deleted != tc.wantDeleted || (err != nil) != tc.wantErr {
			t.Errorf("%s: DeleteManagedPermissionSetIfUnused = %v, %v; want %v, error %v", tc.name, deleted, err, tc.wantDeleted, tc.wantErr)
		}
	}
	for arn, want := range map[string]bool{used: true, unmanaged: true, unused: false} {
		if got := e.permissionSetExists(t, arn); got != want {
			t.Errorf("permission set %s exists: %v, want %v", arn, got, want)
		}
	}

	// Once its last assignment is gone, the used set goes too.
	if _, err := ic.DeleteAssignment(e.ctx, a); err != nil {
		t.Fatal(err)
	}
	if deleted, err := ic.DeleteManagedPermissionSetIfUnused(e.ctx, e.instanceARN, used); err != nil || !deleted {
		t.Fatalf("DeleteManagedPermissionSetIfUnused after its assignment was deleted = %v, %v; want true", deleted, err)
	}
}

// must takes a call's value and error and fails the test on the error.
func must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

func TestAWSEnsurePermissionSetConcurrently(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ten := e.tenant(access.MapUserName)
	ic := e.newAWS(nil)
	s := spec(t, e, "read")
	arns := make([]string, 5)
	var wg sync.WaitGroup
	for i := range arns {
		wg.Go(func() {
			arn, err := ic.EnsurePermissionSet(e.ctx, ten, s)
			if err != nil {
				t.Error(err)
			}
			arns[i] = arn
		})
	}
	wg.Wait()
	if arns[0] == "" || slices.ContainsFunc(arns, func(a string) bool { return a != arns[0] }) {
		t.Fatalf("concurrent EnsurePermissionSet returned %v, want one ARN", arns)
	}
	if n := e.sso.count("CreatePermissionSet"); n != 1 {
		t.Fatalf("CreatePermissionSet called %d times, want 1", n)
	}
}
