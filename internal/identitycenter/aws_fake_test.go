package identitycenter_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	istypes "github.com/aws/aws-sdk-go-v2/service/identitystore/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	ssotypes "github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/identitycenter"
)

// These tests need no server: hand-written fakes answer for AWS.

const fakeInstance = "arn:aws:sso:::instance/ssoins-0123456789abcdef"

// fakeSSO answers the SSO Admin calls that have a function; any other call
// panics (the embedded interface is nil).
type fakeSSO struct {
	identitycenter.SSOAdminAPI

	listAssignments func(*ssoadmin.ListAccountAssignmentsInput) (*ssoadmin.ListAccountAssignmentsOutput, error)
	create          func(*ssoadmin.CreateAccountAssignmentInput) (*ssoadmin.CreateAccountAssignmentOutput, error)
	deletionStatus  func(*ssoadmin.DescribeAccountAssignmentDeletionStatusInput) (*ssoadmin.DescribeAccountAssignmentDeletionStatusOutput, error)

	mu    sync.Mutex
	calls int
}

func (f *fakeSSO) inc() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
}

func (f *fakeSSO) n() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func (f *fakeSSO) ListAccountAssignments(_ context.Context, in *ssoadmin.ListAccountAssignmentsInput, _ ...func(*ssoadmin.Options)) (*ssoadmin.ListAccountAssignmentsOutput, error) {
	f.inc()
	return f.listAssignments(in)
}

func (f *fakeSSO) CreateAccountAssignment(_ context.Context, in *ssoadmin.CreateAccountAssignmentInput, _ ...func(*ssoadmin.Options)) (*ssoadmin.CreateAccountAssignmentOutput, error) {
	f.inc()
	return f.create(in)
}

func (f *fakeSSO) DescribeAccountAssignmentDeletionStatus(_ context.Context, in *ssoadmin.DescribeAccountAssignmentDeletionStatusInput, _ ...func(*ssoadmin.Options)) (*ssoadmin.DescribeAccountAssignmentDeletionStatusOutput, error) {
	f.inc()
	return f.deletionStatus(in)
}

// fakeIDs answers Identity Store calls and keeps the last GetUserId input.
type fakeIDs struct {
	getUserID    func(*identitystore.GetUserIdInput) (*identitystore.GetUserIdOutput, error)
	describeUser func(*identitystore.DescribeUserInput) (*identitystore.DescribeUserOutput, error)
}

func (f *fakeIDs) GetUserId(_ context.Context, in *identitystore.GetUserIdInput, _ ...func(*identitystore.Options)) (*identitystore.GetUserIdOutput, error) {
	return f.getUserID(in)
}

func (f *fakeIDs) DescribeUser(_ context.Context, in *identitystore.DescribeUserInput, _ ...func(*identitystore.Options)) (*identitystore.DescribeUserOutput, error) {
	return f.describeUser(in)
}

// fakeOrg answers ListParents.
type fakeOrg struct {
	identitycenter.OrganizationsAPI
	listParents func(*organizations.ListParentsInput) (*organizations.ListParentsOutput, error)
}

func (f *fakeOrg) ListParents(_ context.Context, in *organizations.ListParentsInput, _ ...func(*organizations.Options)) (*organizations.ListParentsOutput, error) {
	return f.listParents(in)
}

// failing returns errs one per call, then nil.
func failing(errs ...error) func() error {
	var mu sync.Mutex
	return func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(errs) == 0 {
			return nil
		}
		err := errs[0]
		errs = errs[1:]
		return err
	}
}

func fastAWS(edit func(*identitycenter.AWSConfig)) *identitycenter.AWS {
	c := identitycenter.AWSConfig{TPS: 1000, Backoff: identitycenter.Backoff{Attempts: 5, Base: time.Millisecond, Max: 2 * time.Millisecond}}
	edit(&c)
	return identitycenter.NewAWS(c)
}

func fakeTenant(mapping access.IdentityMapping) access.Tenant {
	b := access.DefaultBoundary()
	b.IdentityMapping, b.InstanceARN, b.IdentityStoreID, b.AllowedRoots = mapping, fakeInstance, "d-0123456789", []string{"r-ab12"}
	return access.Tenant{ID: "0b7e8c52-3f0a-4d8e-9c61-2a4b5d6e7f80", Boundary: b, Settings: access.DefaultSettings()}
}

func TestAWSRetries(t *testing.T) {
	t.Parallel()
	throttled := func() error { return &ssotypes.ThrottlingException{Message: aws.String("Rate exceeded")} }
	conflict := func() error { return &ssotypes.ConflictException{Message: aws.String("propagating")} }
	tests := []struct {
		name      string
		errs      []error
		wantCalls int
		wantLater bool
		wantErr   bool
		// wantThrottles is how often the Throttled hook hears of it.
		wantThrottles int
	}{
		{"throttled twice, then answered", []error{throttled(), throttled()}, 3, false, false, 2},
		{"a conflict, then answered", []error{conflict()}, 2, false, false, 0},
		{"throttled on every attempt", slices.Repeat([]error{throttled()}, 10), 5, true, true, 5},
		{"access denied is not retried", []error{&ssotypes.AccessDeniedException{Message: aws.String("no")}}, 1, false, true, 0},
		{"a validation error is not retried", []error{apiError("ValidationException")}, 1, false, true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			next := failing(tc.errs...)
			sso := &fakeSSO{listAssignments: func(*ssoadmin.ListAccountAssignmentsInput) (*ssoadmin.ListAccountAssignmentsOutput, error) {
				if err := next(); err != nil {
					return nil, err
				}
				return &ssoadmin.ListAccountAssignmentsOutput{AccountAssignments: []ssotypes.AccountAssignment{{PrincipalType: ssotypes.PrincipalTypeUser, PrincipalId: aws.String("u-1")}}}, nil
			}}
			var throttles atomic.Int32
			ic := fastAWS(func(c *identitycenter.AWSConfig) {
				c.SSOAdmin = sso
				c.Throttled = func(context.Context) { throttles.Add(1) }
			})
			ok, err := ic.AssignmentExists(t.Context(), access.Assignment{InstanceARN: fakeInstance, AccountID: "111122223333", PermissionSetARN: "ps", PrincipalID: "u-1"})
			if (err != nil) != tc.wantErr || errors.Is(err, access.ErrRetryLater) != tc.wantLater {
				t.Fatalf("AssignmentExists error = %v; want error %v, ErrRetryLater %v", err, tc.wantErr, tc.wantLater)
			}
			if !tc.wantErr && !ok {
				t.Fatal("AssignmentExists = false after the call went through")
			}
			if sso.n() != tc.wantCalls {
				t.Fatalf("%d calls, want %d", sso.n(), tc.wantCalls)
			}
			if got := int(throttles.Load()); got != tc.wantThrottles {
				t.Errorf("Throttled told %d times, want %d", got, tc.wantThrottles)
			}
		})
	}

	t.Run("organizations: too many requests", func(t *testing.T) {
		t.Parallel()
		next := failing(&orgtypes.TooManyRequestsException{Message: aws.String("slow down")}, apiError("TooManyRequestsException"))
		org := &fakeOrg{listParents: func(*organizations.ListParentsInput) (*organizations.ListParentsOutput, error) {
			if err := next(); err != nil {
				return nil, err
			}
			return &organizations.ListParentsOutput{Parents: []orgtypes.Parent{{Id: aws.String("r-ab12"), Type: orgtypes.ParentTypeRoot}}}, nil
		}}
		ic := fastAWS(func(c *identitycenter.AWSConfig) { c.Organizations = org })
		got, err := ic.Ancestors(t.Context(), fakeTenant(access.MapUserName), access.Resource{Type: access.ResourceAccount, ID: "111122223333"})
		if err != nil || !slices.Equal(got, []string{"r-ab12"}) {
			t.Fatalf("Ancestors = %v, %v; want [r-ab12]", got, err)
		}
	})
}

func TestAWSRateLimit(t *testing.T) {
	t.Parallel()
	sso := &fakeSSO{listAssignments: func(*ssoadmin.ListAccountAssignmentsInput) (*ssoadmin.ListAccountAssignmentsOutput, error) {
		return &ssoadmin.ListAccountAssignmentsOutput{}, nil
	}}
	ic := identitycenter.NewAWS(identitycenter.AWSConfig{SSOAdmin: sso, TPS: 20})
	start := time.Now()
	for range 6 {
		if _, err := ic.AssignmentExists(t.Context(), access.Assignment{InstanceARN: fakeInstance}); err != nil {
			t.Fatal(err)
		}
	}
	// At 20 per second, six calls span at least five 50 ms intervals.
	if d := time.Since(start); d < 240*time.Millisecond {
		t.Fatalf("six calls at 20 TPS took %v, want at least 250ms", d)
	}
}

func TestAWSSlotReleasedWhenCreationFails(t *testing.T) {
	t.Parallel()
	next := failing(&ssotypes.AccessDeniedException{Message: aws.String("no")})
	sso := &fakeSSO{create: func(in *ssoadmin.CreateAccountAssignmentInput) (*ssoadmin.CreateAccountAssignmentOutput, error) {
		if err := next(); err != nil {
			return nil, err
		}
		return &ssoadmin.CreateAccountAssignmentOutput{AccountAssignmentCreationStatus: &ssotypes.AccountAssignmentOperationStatus{
			RequestId: aws.String("req-2"), Status: ssotypes.StatusValuesInProgress,
		}}, nil
	}}
	ic := fastAWS(func(c *identitycenter.AWSConfig) { c.SSOAdmin = sso; c.Slots = identitycenter.NewLocalSlots(1) })
	a := access.Assignment{InstanceARN: fakeInstance, PermissionSetARN: "ps", AccountID: "111122223333", PrincipalID: "u-1"}
	if _, err := ic.CreateAssignment(t.Context(), a); err == nil || errors.Is(err, access.ErrRetryLater) {
		t.Fatalf("CreateAssignment that AWS refuses: %v; want a plain error", err)
	}
	b := a
	b.AccountID = "444455556666"
	op, err := ic.CreateAssignment(t.Context(), b)
	if err != nil || op.ID != "req-2" || op.Status != access.OperationInProgress {
		t.Fatalf("CreateAssignment after a failed one = %+v, %v; want req-2 in progress (the slot was released)", op, err)
	}
	// The same assignment may retry its creation while it holds the slot.
	if _, err := ic.CreateAssignment(t.Context(), b); err != nil {
		t.Fatalf("retried CreateAssignment of the slot holder: %v", err)
	}
	if _, err := ic.CreateAssignment(t.Context(), a); !errors.Is(err, access.ErrRetryLater) {
		t.Fatalf("CreateAssignment while b holds the only slot: %v; want ErrRetryLater", err)
	}
}

func TestAWSDeletionStatusOfVanishedAssignment(t *testing.T) {
	t.Parallel()
	failed := &ssoadmin.DescribeAccountAssignmentDeletionStatusOutput{AccountAssignmentDeletionStatus: &ssotypes.AccountAssignmentOperationStatus{
		RequestId: aws.String("del-1"), Status: ssotypes.StatusValuesFailed, FailureReason: aws.String("boom"),
		TargetId: aws.String("111122223333"), PermissionSetArn: aws.String("ps"), PrincipalId: aws.String("u-1"), PrincipalType: ssotypes.PrincipalTypeUser,
	}}
	tests := []struct {
		name       string
		stillThere bool
		want       access.OperationStatus
	}{
		{"failed, and the assignment is still there", true, access.OperationFailed},
		{"failed, but the assignment is gone", false, access.OperationSucceeded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sso := &fakeSSO{
				deletionStatus: func(*ssoadmin.DescribeAccountAssignmentDeletionStatusInput) (*ssoadmin.DescribeAccountAssignmentDeletionStatusOutput, error) {
					return failed, nil
				},
				listAssignments: func(*ssoadmin.ListAccountAssignmentsInput) (*ssoadmin.ListAccountAssignmentsOutput, error) {
					out := &ssoadmin.ListAccountAssignmentsOutput{}
					if tc.stillThere {
						out.AccountAssignments = []ssotypes.AccountAssignment{{PrincipalType: ssotypes.PrincipalTypeUser, PrincipalId: aws.String("u-1")}}
					}
					return out, nil
				},
			}
			op, err := fastAWS(func(c *identitycenter.AWSConfig) { c.SSOAdmin = sso }).DeletionStatus(t.Context(), fakeInstance, "del-1")
			if err != nil || op.Status != tc.want || op.ID != "del-1" {
				t.Fatalf("DeletionStatus = %+v, %v; want %s", op, err, tc.want)
			}
		})
	}
}

func TestAWSResolveUserShapes(t *testing.T) {
	t.Parallel()
	const uid = "9067a1b2-c3d4-4e5f-8a9b-0c1d2e3f4a5b"
	tests := []struct {
		name     string
		mapping  access.IdentityMapping
		grantee  string
		status   istypes.UserStatus
		wantPath string // "" for an external id lookup
		wantIss  string
		wantID   string
		notFound bool
	}{
		{"user name", access.MapUserName, "alice", "", "userName", "", "alice", false},
		{"email", access.MapEmail, "alice@example.com", istypes.UserStatusEnabled, "emails.value", "", "alice@example.com", false},
		{"external id with a | in the id", access.MapExternalID, "https://idp.example.com|auth0|123", "", "", "https://idp.example.com", "auth0|123", false},
		{"disabled user", access.MapUserName, "alice", istypes.UserStatusDisabled, "userName", "", "alice", true},
		{"disabled user by id", access.MapUserID, uid, istypes.UserStatusDisabled, "", "", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got *identitystore.GetUserIdInput
			ids := &fakeIDs{
				getUserID: func(in *identitystore.GetUserIdInput) (*identitystore.GetUserIdOutput, error) {
					got = in
					return &identitystore.GetUserIdOutput{UserId: aws.String(uid), IdentityStoreId: in.IdentityStoreId}, nil
				},
				describeUser: func(in *identitystore.DescribeUserInput) (*identitystore.DescribeUserOutput, error) {
					if aws.ToString(in.UserId) != uid {
						return nil, apiError("ResourceNotFoundException")
					}
					return &identitystore.DescribeUserOutput{UserId: in.UserId, UserStatus: tc.status}, nil
				},
			}
			ic := fastAWS(func(c *identitycenter.AWSConfig) { c.IdentityStore = ids })
			id, err := ic.ResolveUser(t.Context(), fakeTenant(tc.mapping), tc.grantee)
			if tc.notFound {
				if !errors.Is(err, access.ErrUserNotFound) {
					t.Fatalf("ResolveUser = %q, %v; want ErrUserNotFound", id, err)
				}
			} else if err != nil || id != uid {
				t.Fatalf("ResolveUser = %q, %v; want %q", id, err, uid)
			}
			if tc.mapping == access.MapUserID {
				if got != nil {
					t.Fatal("GetUserId was called for the user_id mapping")
				}
				return
			}
			switch alt := got.AlternateIdentifier.(type) {
			case *istypes.AlternateIdentifierMemberUniqueAttribute:
				b, err := alt.Value.AttributeValue.MarshalSmithyDocument()
				if err != nil || aws.ToString(alt.Value.AttributePath) != tc.wantPath || string(b) != `"`+tc.wantID+`"` {
					t.Fatalf("unique attribute %s = %s (%v); want %s = %q", aws.ToString(alt.Value.AttributePath), b, err, tc.wantPath, tc.wantID)
				}
			case *istypes.AlternateIdentifierMemberExternalId:
				if tc.wantPath != "" || aws.ToString(alt.Value.Issuer) != tc.wantIss || aws.ToString(alt.Value.Id) != tc.wantID {
					t.Fatalf("external id = %q|%q; want %q|%q", aws.ToString(alt.Value.Issuer), aws.ToString(alt.Value.Id), tc.wantIss, tc.wantID)
				}
			default:
				t.Fatalf("alternate identifier %T", alt)
			}
		})
	}
}

func TestAWSDBIResourceIDNeedsTheLookupRole(t *testing.T) {
	t.Parallel()
	_, err := fastAWS(func(*identitycenter.AWSConfig) {}).DBIResourceID(t.Context(), fakeTenant(access.MapUserName), "arn:aws:rds:eu-west-1:111122223333:db:orders")
	var ae *access.Error
	if !errors.As(err, &ae) || ae.Code != access.CodeValidationFailed {
		t.Fatalf("DBIResourceID = %v; want a validation_failed *access.Error that fails the grant", err)
	}
}
