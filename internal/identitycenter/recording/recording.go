// Package recording is an in-memory stand-in for Identity Center, for the
// local server and tests: it keeps the assignments it would have made. It is
// its own package so that the Lambda functions, which use the AWS adapter in
// internal/identitycenter, do not link it.
package recording

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/elevate-jit/elevate/internal/access"
)

// IdentityCenter is an in-memory Identity Center. Every user exists unless
// Users is set; operations succeed at once unless a test says otherwise.
// It is safe for concurrent use.
type IdentityCenter struct {
	log *slog.Logger

	mu             sync.Mutex
	assignments    map[access.AssignmentKey]bool
	permissionSets map[string]access.ManagedPermissionSet
	ops            map[string]access.Operation
	seq            int
	users          map[string]bool
	// pendingPolls makes each new operation report IN_PROGRESS this many times.
	pendingPolls map[string]int
	polls        int
	failCreate   func(access.Assignment) bool
	failDelete   func(access.Assignment) bool
	calls        map[string]int
	// hold keeps new creations IN_PROGRESS, their assignments absent, until
	// ReleaseHeld; held maps each such operation to its assignment.
	// orgs is each instance's organization: account id → its root and OUs,
	// outermost first.
	orgs     map[string]map[string][]string
	hold     bool
	held     map[string]access.Assignment
	onCreate func(access.Assignment)
	// names maps the user ids ResolveUser made to their user names;
	// policies are the permission sets' inline policies, and puts the
	// policies PutInlinePolicy wrote, in order.
	names          map[string]string
	policies       map[string]string
	puts           []PolicyPut
	failProvision  func(permissionSetARN string) bool
	sessionLengths map[string]time.Duration
	onPut          func()
	// removed are the permission sets RemovePermissionSet deleted.
	removed map[string]bool
}

// PolicyPut is one PutInlinePolicy call: the set and the policy put.
type PolicyPut struct {
	PermissionSetARN string
	Policy           string
}

// New returns an empty recording Identity Center that logs what it
// would do to log (nil for no log).
func New(log *slog.Logger) *IdentityCenter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &IdentityCenter{
		log: log, assignments: map[access.AssignmentKey]bool{}, permissionSets: map[string]access.ManagedPermissionSet{},
		ops: map[string]access.Operation{}, pendingPolls: map[string]int{}, calls: map[string]int{},
		held: map[string]access.Assignment{}, orgs: map[string]map[string][]string{},
		names: map[string]string{}, policies: map[string]string{}, sessionLengths: map[string]time.Duration{},
	}
}

// SetOrganization sets the organization behind an instance: each account id
// maps to its organization root and OUs, outermost first. Accounts it does
// not list are outside the organization.
func (r *IdentityCenter) SetOrganization(instanceARN string, accounts map[string][]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	tree := make(map[string][]string, len(accounts))
	for a, path := range accounts {
		tree[a] = slices.Clone(path)
	}
	r.orgs[instanceARN] = tree
}

func (r *IdentityCenter) organization(t access.Tenant) map[string][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.orgs[t.Boundary.InstanceARN]
}

// HoldCreations makes new creations stay IN_PROGRESS, with their assignments
// not yet in place, until ReleaseHeld: Identity Center's asynchrony, under
// the test's control.
func (r *IdentityCenter) HoldCreations() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hold = true
}

// ReleaseHeld completes every held creation (the assignments appear) and
// stops holding new ones.
func (r *IdentityCenter) ReleaseHeld() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hold = false
	for id, a := range r.held {
		r.assignments[a.Key()] = true
		delete(r.held, id)
	}
}

// OnCreateAssignment calls f during every CreateAssignment, after the
// creation was accepted: a test uses it to interleave another call exactly
// there. It runs without the Recording's lock held.
func (r *IdentityCenter) OnCreateAssignment(f func(access.Assignment)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.onCreate = f
}

// SetUsers limits the users that exist to these user names; nil means
// everyone exists.
func (r *IdentityCenter) SetUsers(names ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.users = map[string]bool{}
	for _, n := range names {
		r.users[strings.ToLower(n)] = true
	}
}

// SetPendingPolls makes operations report IN_PROGRESS n times before settling.
func (r *IdentityCenter) SetPendingPolls(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.polls = n
}

// FailCreations makes creations of matching assignments fail.
func (r *IdentityCenter) FailCreations(f func(access.Assignment) bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failCreate = f
}

// FailDeletions makes deletions of matching assignments fail.
func (r *IdentityCenter) FailDeletions(f func(access.Assignment) bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failDelete = f
}

// Preassign records an assignment that existed before Elevate.
func (r *IdentityCenter) Preassign(a access.Assignment) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.assignments[a.Key()] = true
}

// Assignments returns the assignments that exist now.
func (r *IdentityCenter) Assignments() []access.AssignmentKey {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]access.AssignmentKey, 0, len(r.assignments))
	for k := range r.assignments {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b access.AssignmentKey) int {
		return strings.Compare(a.AccountID+a.PrincipalID+a.PermissionSetARN, b.AccountID+b.PrincipalID+b.PermissionSetARN)
	})
	return out
}

// AssignmentsOf lists a user's assignments in an instance.
func (r *IdentityCenter) AssignmentsOf(_ context.Context, instanceARN, userID string) ([]access.AssignmentKey, error) {
	var out []access.AssignmentKey
	for _, k := range r.Assignments() {
		if k.InstanceARN == instanceARN && k.PrincipalID == userID {
			out = append(out, k)
		}
	}
	return out, nil
}

// Calls returns how often a method was called.
func (r *IdentityCenter) Calls(method string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[method]
}

// UserID is the Identity Store user id the recording maps a grantee id to.
func UserID(granteeID string) string {
	h := sha256.Sum256([]byte(granteeID))
	x := hex.EncodeToString(h[:16])
	return x[:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// ResolveUser maps a grantee to a stable fake Identity Store user id through
// the tenant's identity mapping: user names and e-mail addresses match
// whatever their case (as in the Identity Store), a user_id mapping takes an
// id UserID made, and external ids match exactly.
func (r *IdentityCenter) ResolveUser(_ context.Context, t access.Tenant, granteeID string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls["ResolveUser"]++
	name := granteeID
	switch t.Boundary.IdentityMapping {
	case access.MapUserName, access.MapEmail:
		name = strings.ToLower(granteeID)
	case access.MapUserID:
		name = ""
		for n := range r.users {
			if UserID(n) == granteeID {
				name = n
			}
		}
		if r.users == nil && uuidPattern.MatchString(granteeID) {
			return granteeID, nil
		}
		if name == "" {
			return "", fmt.Errorf("user id %q: %w", granteeID, access.ErrUserNotFound)
		}
	}
	if r.users != nil && !r.users[name] {
		return "", fmt.Errorf("user %q: %w", granteeID, access.ErrUserNotFound)
	}
	r.names[UserID(name)] = name
	return UserID(name), nil
}

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// Ancestors reads the OU path from the instance's organization.
func (r *IdentityCenter) Ancestors(_ context.Context, t access.Tenant, res access.Resource) ([]string, error) {
	org := r.organization(t)
	if res.Type != access.ResourceOrganizationalUnit {
		return slices.Clone(org[res.TargetAccount()]), nil
	}
	for _, path := range org {
		if i := slices.Index(path, res.ID); i >= 0 {
			return slices.Clone(path[:i]), nil
		}
	}
	return nil, nil
}

// AccountsUnder lists the accounts whose OU path contains ouID.
func (r *IdentityCenter) AccountsUnder(_ context.Context, t access.Tenant, ouID string, max int) ([]string, bool, error) {
	var out []string
	for acct, path := range r.organization(t) {
		if slices.Contains(path, ouID) {
			out = append(out, acct)
		}
	}
	slices.Sort(out)
	if len(out) > max {
		return out[:max], true, nil
	}
	return out, false, nil
}

// EnsurePermissionSet records the managed permission set and returns a
// deterministic ARN for it.
func (r *IdentityCenter) EnsurePermissionSet(_ context.Context, t access.Tenant, spec access.ManagedPermissionSet) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls["EnsurePermissionSet"]++
	inst := t.Boundary.InstanceARN[strings.LastIndex(t.Boundary.InstanceARN, "/")+1:]
	h := sha256.Sum256([]byte(spec.Name))
	arn := fmt.Sprintf("arn:aws:sso:::permissionSet/%s/ps-%s", inst, hex.EncodeToString(h[:8]))
	if _, ok := r.permissionSets[arn]; !ok {
		r.log.Info("identity center: would create managed permission set", "name", spec.Name, "arn", arn, "account_id", spec.AccountID)
	}
	r.permissionSets[arn] = spec
	// Like the AWS adapter, bringing the set's policy up to date keeps
	// the session cuts in it.
	if p, err := access.KeepCuts(r.policies[arn], spec.InlinePolicy); err == nil {
		r.policies[arn] = p
	}
	return arn, nil
}

// PermissionSet returns a managed permission set recorded under arn.
func (r *IdentityCenter) PermissionSet(arn string) (access.ManagedPermissionSet, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ps, ok := r.permissionSets[arn]
	return ps, ok
}

// AssignmentExists reports whether the assignment is recorded.
func (r *IdentityCenter) AssignmentExists(_ context.Context, a access.Assignment) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls["AssignmentExists"]++
	return r.assignments[a.Key()], nil
}

// CreateAssignment records the assignment (or holds its creation).
func (r *IdentityCenter) CreateAssignment(_ context.Context, a access.Assignment) (access.Operation, error) {
	op, hook := r.create(a)
	if hook != nil {
		hook(a)
	}
	return op, nil
}

func (r *IdentityCenter) create(a access.Assignment) (access.Operation, func(access.Assignment)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls["CreateAssignment"]++
	if r.failCreate != nil && r.failCreate(a) {
		return r.newOp(access.OperationFailed, "recording: creation refused"), r.onCreate
	}
	r.log.Info("identity center: would create account assignment", "instance_arn", a.InstanceARN,
		"account_id", a.AccountID, "permission_set_arn", a.PermissionSetARN, "principal_id", a.PrincipalID)
	if r.hold {
		op := r.newOp(access.OperationSucceeded, "")
		r.held[op.ID] = a
		return access.Operation{ID: op.ID, Status: access.OperationInProgress}, r.onCreate
	}
	r.assignments[a.Key()] = true
	return r.newOp(access.OperationSucceeded, ""), r.onCreate
}

// DeleteAssignment removes the assignment.
func (r *IdentityCenter) DeleteAssignment(_ context.Context, a access.Assignment) (access.Operation, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls["DeleteAssignment"]++
	if r.failDelete != nil && r.failDelete(a) {
		return r.newOp(access.OperationFailed, "recording: deletion refused"), nil
	}
	delete(r.assignments, a.Key())
	r.log.Info("identity center: would delete account assignment", "instance_arn", a.InstanceARN,
		"account_id", a.AccountID, "permission_set_arn", a.PermissionSetARN, "principal_id", a.PrincipalID)
	return r.newOp(access.OperationSucceeded, ""), nil
}

// CreationStatus reports an operation's state.
func (r *IdentityCenter) CreationStatus(_ context.Context, _ string, id string) (access.Operation, error) {
	return r.status(id)
}

// DeletionStatus reports an operation's state.
func (r *IdentityCenter) DeletionStatus(_ context.Context, _ string, id string) (access.Operation, error) {
	return r.status(id)
}

func (r *IdentityCenter) status(id string) (access.Operation, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls["Status"]++
	op, ok := r.ops[id]
	if !ok {
		return access.Operation{}, fmt.Errorf("recording: unknown operation %s", id)
	}
	if _, held := r.held[id]; held {
		return access.Operation{ID: id, Status: access.OperationInProgress}, nil
	}
	if r.pendingPolls[id] > 0 {
		r.pendingPolls[id]--
		return access.Operation{ID: id, Status: access.OperationInProgress}, nil
	}
	return op, nil
}

func (r *IdentityCenter) newOp(status access.OperationStatus, reason string) access.Operation {
	r.seq++
	op := access.Operation{ID: fmt.Sprintf("op-%08d", r.seq), Status: status, Reason: reason}
	r.ops[op.ID] = op
	r.pendingPolls[op.ID] = r.polls
	if r.polls > 0 {
		return access.Operation{ID: op.ID, Status: access.OperationInProgress}
	}
	return op
}

// DBIResourceID returns a stable fake DbiResourceId for a DB instance ARN.
func (r *IdentityCenter) DBIResourceID(_ context.Context, _ access.Tenant, arn string) (string, error) {
	h := sha256.Sum256([]byte(arn))
	return "db-" + strings.ToUpper(hex.EncodeToString(h[:13])), nil
}

// UserName returns the user name ResolveUser mapped to userID (the id
// itself for a user it did not resolve).
func (r *IdentityCenter) UserName(_ context.Context, _ access.Tenant, userID string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls["UserName"]++
	if n, ok := r.names[userID]; ok {
		return n, nil
	}
	return userID, nil
}

// SetSessionDuration sets a permission set's session duration (a managed
// set's spec says it, else one hour).
func (r *IdentityCenter) SetSessionDuration(permissionSetARN string, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sessionLengths[permissionSetARN] = d
}

// SessionDuration returns the set's session duration.
func (r *IdentityCenter) SessionDuration(_ context.Context, _, permissionSetARN string) (time.Duration, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls["SessionDuration"]++
	if d, ok := r.sessionLengths[permissionSetARN]; ok {
		return d, nil
	}
	if ps, ok := r.permissionSets[permissionSetARN]; ok && ps.SessionDuration > 0 {
		return ps.SessionDuration, nil
	}
	return time.Hour, nil
}

// InlinePolicy returns the set's inline policy.
func (r *IdentityCenter) InlinePolicy(_ context.Context, _, permissionSetARN string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls["InlinePolicy"]++
	if r.removed[permissionSetARN] {
		return "", fmt.Errorf("get inline policy of %s: ResourceNotFoundException: %w", permissionSetARN, access.ErrNotFound)
	}
	return r.policies[permissionSetARN], nil
}

// RemovePermissionSet deletes a permission set, as the sweeper's collector
// or an operator would: its policy reads and writes fail with not found.
func (r *IdentityCenter) RemovePermissionSet(permissionSetARN string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.removed == nil {
		r.removed = map[string]bool{}
	}
	r.removed[permissionSetARN] = true
}

// SetInlinePolicy sets a set's inline policy, as someone else than Elevate would.
func (r *IdentityCenter) SetInlinePolicy(permissionSetARN, policy string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.policies[permissionSetARN] = policy
}

// FailProvisioning makes the re-provisioning after PutInlinePolicy fail for
// matching sets (nil: none fails); the policy is put all the same, as in
// Identity Center.
func (r *IdentityCenter) FailProvisioning(f func(permissionSetARN string) bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failProvision = f
}

// OnPutInlinePolicy calls f during every PutInlinePolicy, after the policy
// was put and before the call returns, without the lock held: a test
// interleaves another step exactly there.
func (r *IdentityCenter) OnPutInlinePolicy(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.onPut = f
}

// EditInlinePolicy reads the set's policy, has edit change it and puts the
// result (PutInlinePolicy). The fake takes no lock: it models one Identity
// Center, and the tests of its callers interleave steps through its hooks.
func (r *IdentityCenter) EditInlinePolicy(ctx context.Context, inst, permissionSetARN string, edit func(current string) (string, error)) error {
	current, err := r.InlinePolicy(ctx, inst, permissionSetARN)
	if err != nil {
		return err
	}
	policy, err := edit(current)
	if err != nil {
		return err
	}
	return r.PutInlinePolicy(ctx, inst, permissionSetARN, policy)
}

// PutInlinePolicy records the policy and its re-provisioning.
func (r *IdentityCenter) PutInlinePolicy(ctx context.Context, inst, permissionSetARN, policy string) error {
	err := r.putInlinePolicy(permissionSetARN, policy)
	r.mu.Lock()
	hook := r.onPut
	r.mu.Unlock()
	if hook != nil {
		hook()
	}
	return err
}

func (r *IdentityCenter) putInlinePolicy(permissionSetARN, policy string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls["PutInlinePolicy"]++
	if r.removed[permissionSetARN] {
		return fmt.Errorf("put inline policy of %s: ResourceNotFoundException: %w", permissionSetARN, access.ErrNotFound)
	}
	if err := validInlinePolicy(policy); err != nil {
		return err
	}
	r.policies[permissionSetARN] = policy
	r.puts = append(r.puts, PolicyPut{permissionSetARN, policy})
	r.log.Info("identity center: would put the inline policy and re-provision", "permission_set_arn", permissionSetARN, "characters", len(policy))
	if r.failProvision != nil && r.failProvision(permissionSetARN) {
		return fmt.Errorf("provision permission set %s: FAILED", permissionSetARN)
	}
	return nil
}

// PolicyPuts returns the PutInlinePolicy calls made, in order.
func (r *IdentityCenter) PolicyPuts() []PolicyPut {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.puts)
}

// validInlinePolicy refuses a policy Identity Center would: more than
// access.MaxInlinePolicyBytes bytes without whitespace, or a character
// outside tab, line feed, carriage return and U+0020 to U+00FF.
func validInlinePolicy(policy string) error {
	n := 0
	for _, c := range policy {
		switch {
		case c == '\t' || c == '\n' || c == '\r' || c == ' ':
			continue
		case c < 0x20 || c > 0xFF:
			return fmt.Errorf("PutInlinePolicyToPermissionSet: ValidationException: the policy holds the character %q, outside \\u0009\\u000A\\u000D\\u0020-\\u00FF", c)
		}
		n += utf8.RuneLen(c)
	}
	if n > access.MaxInlinePolicyBytes {
		return fmt.Errorf("PutInlinePolicyToPermissionSet: ValidationException: the policy is %d bytes, over the maximum limit of %d bytes", n, access.MaxInlinePolicyBytes)
	}
	return nil
}
