package sim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

// identityCenter is the simulator's Identity Center, Identity Store and
// Organizations, answering as the AWS adapter (internal/identitycenter)
// would after its own retries:
//
//   - creations and deletions are asynchronous: an operation is IN_PROGRESS
//     until a random time after it was issued (at most maxOperation), and
//     the assignment appears or goes then, whether anyone polls or not;
//   - a creation or deletion of an assignment another operation is still
//     working on is a ConflictException, which the adapter gives up on as
//     access.ErrRetryLater;
//   - more than rateLimit calls in one simulated second are throttled
//     (access.ErrRetryLater);
//   - standing assignments exist from the start; users can be disabled
//     (ResolveUser answers access.ErrUserNotFound);
//   - a deletion of an assignment that is not there succeeds, and a failed
//     deletion of one that is gone counts as succeeded (the adapter's rules).
//
// Every call goes through the world's fault injection and may host another
// actor's step (maybeNest). It is not safe for concurrent use: the simulator
// runs on one goroutine.
type identityCenter struct {
	w *world

	present  map[access.AssignmentKey]bool
	standing map[access.AssignmentKey]bool
	ops      map[string]*operation
	pending  []*operation // not yet settled, in issue order
	inflight map[access.AssignmentKey]*operation
	seq      int
	// users are the enabled state of each user of each identity store.
	users map[string]map[string]bool
	// orgs maps an instance to its organization: account → root and OUs.
	orgs    map[string]map[string][]string
	managed map[string]bool

	second int64
	calls  int
}

// operation is an asynchronous creation or deletion.
type operation struct {
	id     string
	create bool
	key    access.AssignmentKey
	due    time.Time
	fail   bool
	done   bool
}

// Timing of Identity Center operations and its rate limit.
const (
	// maxOperation bounds how long an operation stays IN_PROGRESS; well
	// under the domain's creationSettles (15 minutes), as AWS's operations
	// take seconds.
	maxOperation = 4 * time.Minute
	rateLimit    = 20
)

func newIdentityCenter(w *world) *identityCenter {
	return &identityCenter{
		w: w, present: map[access.AssignmentKey]bool{}, standing: map[access.AssignmentKey]bool{},
		ops: map[string]*operation{}, inflight: map[access.AssignmentKey]*operation{},
		users: map[string]map[string]bool{}, orgs: map[string]map[string][]string{}, managed: map[string]bool{},
	}
}

var (
	_ access.IdentityCenter   = (*identityCenter)(nil)
	_ access.DBResolver       = (*identityCenter)(nil)
	_ access.AssignmentLister = (*identityCenter)(nil)
)

// userID is the Identity Store user id of a user name in a store.
func userID(store, name string) string { return "u-" + strings.ToLower(name) + "-" + store }

// settle applies every operation due by now, in issue order.
func (ic *identityCenter) settle(now time.Time) {
	kept := ic.pending[:0]
	for _, op := range ic.pending {
		if op.due.After(now) {
			kept = append(kept, op)
			continue
		}
		ic.finish(op)
	}
	clear(ic.pending[len(kept):])
	ic.pending = kept
}

func (ic *identityCenter) finish(op *operation) {
	op.done = true
	delete(ic.inflight, op.key)
	if op.fail {
		ic.w.trace.event(ic.w, "ic: %s of %s FAILED", op.verb(), ic.w.keyLabel(op.key))
		return
	}
	if op.create {
		ic.present[op.key] = true
		delete(ic.w.check.removed, op.key)
	} else {
		delete(ic.present, op.key)
	}
	ic.w.trace.event(ic.w, "ic: %s of %s done (%s)", op.verb(), ic.w.keyLabel(op.key), op.id)
	ic.w.check.keyChanged(op.key)
}

func (op *operation) verb() string {
	if op.create {
		return "creation"
	}
	return "deletion"
}

// creating reports whether a creation of k is in flight.
func (ic *identityCenter) creating(k access.AssignmentKey) bool {
	op := ic.inflight[k]
	return op != nil && op.create && !op.fail
}

// begin runs the preamble of every call: settle what is due, perhaps run
// another actor's step, apply the rate limit and pick a fault.
func (ic *identityCenter) begin(call string, kind callKind, tag string) (fault, error) {
	w := ic.w
	ic.settle(w.now())
	w.maybeNest("ic." + call)
	ic.settle(w.now())
	f := w.fault("ic."+call, kind, tag)
	switch f {
	case faultBefore:
		return f, fmt.Errorf("ic.%s: %w", call, errInjected)
	case faultThrottle:
		return f, errThrottled("ic." + call)
	case faultCrashBefore:
		crashNow("ic." + call)
	}
	if s := w.now().Unix(); s != ic.second {
		ic.second, ic.calls = s, 0
	}
	if ic.calls++; ic.calls > rateLimit {
		w.throttled++
		return f, errThrottled("ic." + call)
	}
	return f, nil
}

// end applies a fault that strikes after the call took effect.
func (ic *identityCenter) end(call string, f fault) error {
	switch f {
	case faultAfter:
		return fmt.Errorf("ic.%s: %w", call, errLost)
	case faultCrashAfter:
		crashNow("ic." + call)
	}
	return nil
}

// ResolveUser maps a grantee to an enabled user of the tenant's identity
// store, by user name (the simulated tenants map by user name).
func (ic *identityCenter) ResolveUser(_ context.Context, t access.Tenant, granteeID string) (string, error) {
	f, err := ic.begin("ResolveUser", read, granteeID)
	if err != nil {
		return "", err
	}
	store, name := t.Boundary.IdentityStoreID, strings.ToLower(granteeID)
	enabled, ok := ic.users[store][name]
	if !ok || !enabled {
		return "", fmt.Errorf("user %q: %w", granteeID, access.ErrUserNotFound)
	}
	return userID(store, name), ic.end("ResolveUser", f)
}

// Ancestors returns the root and OUs above an account or OU.
func (ic *identityCenter) Ancestors(_ context.Context, t access.Tenant, r access.Resource) ([]string, error) {
	f, err := ic.begin("Ancestors", read, r.ID)
	if err != nil {
		return nil, err
	}
	org := ic.orgs[t.Boundary.InstanceARN]
	var out []string
	if r.Type != access.ResourceOrganizationalUnit {
		out = slices.Clone(org[r.TargetAccount()])
	} else {
		for _, acct := range sortedKeys(org) {
			if i := slices.Index(org[acct], r.ID); i >= 0 {
				out = slices.Clone(org[acct][:i])
				break
			}
		}
	}
	return out, ic.end("Ancestors", f)
}

// AccountsUnder lists the accounts under an OU, sorted.
func (ic *identityCenter) AccountsUnder(_ context.Context, t access.Tenant, ouID string, limit int) ([]string, bool, error) {
	f, err := ic.begin("AccountsUnder", read, ouID)
	if err != nil {
		return nil, false, err
	}
	org := ic.orgs[t.Boundary.InstanceARN]
	var out []string
	for _, acct := range sortedKeys(org) {
		if slices.Contains(org[acct], ouID) {
			out = append(out, acct)
		}
	}
	truncated := len(out) > limit
	if truncated {
		out = out[:limit]
	}
	return out, truncated, ic.end("AccountsUnder", f)
}

// EnsurePermissionSet returns a deterministic ARN for a managed permission set.
func (ic *identityCenter) EnsurePermissionSet(_ context.Context, t access.Tenant, spec access.ManagedPermissionSet) (string, error) {
	f, err := ic.begin("EnsurePermissionSet", write, spec.Name)
	if err != nil {
		return "", err
	}
	inst := t.Boundary.InstanceARN[strings.LastIndex(t.Boundary.InstanceARN, "/")+1:]
	h := sha256.Sum256([]byte(spec.Name))
	arn := fmt.Sprintf("arn:aws:sso:::permissionSet/%s/ps-%s", inst, hex.EncodeToString(h[:8]))
	ic.managed[arn] = true
	return arn, ic.end("EnsurePermissionSet", f)
}

// DBIResourceID returns a stable resource id for a DB instance.
func (ic *identityCenter) DBIResourceID(_ context.Context, _ access.Tenant, arn string) (string, error) {
	h := sha256.Sum256([]byte(arn))
	return "db-" + strings.ToUpper(hex.EncodeToString(h[:13])), nil
}

// AssignmentExists reports whether the assignment is in place now (an
// assignment being created is not, yet).
func (ic *identityCenter) AssignmentExists(_ context.Context, a access.Assignment) (bool, error) {
	k := a.Key()
	f, err := ic.begin("AssignmentExists", read, ic.w.keyLabel(k))
	if err != nil {
		return false, err
	}
	exists := ic.present[k]
	ic.w.trace.event(ic.w, "ic: AssignmentExists %s = %t", ic.w.keyLabel(k), exists)
	return exists, ic.end("AssignmentExists", f)
}

// AssignmentsOf lists the assignments of a user, sorted.
func (ic *identityCenter) AssignmentsOf(_ context.Context, instanceARN, user string) ([]access.AssignmentKey, error) {
	f, err := ic.begin("AssignmentsOf", read, user)
	if err != nil {
		return nil, err
	}
	var out []access.AssignmentKey
	for k := range ic.present {
		if k.InstanceARN == instanceARN && k.PrincipalID == user {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, compareKeys)
	return out, ic.end("AssignmentsOf", f)
}

// conflict is the adapter's answer when SSO Admin kept answering
// ConflictException: another operation on the assignment is in flight.
func conflict(call string, k access.AssignmentKey) error {
	return fmt.Errorf("%s of %s: gave up after 5 attempts: %w: ConflictException: another operation on the assignment is in progress", call, k.AccountID, access.ErrRetryLater)
}

// CreateAssignment starts a creation. The boundary invariant is checked
// here, when Identity Center accepts the creation.
func (ic *identityCenter) CreateAssignment(_ context.Context, a access.Assignment) (access.Operation, error) {
	k := a.Key()
	f, err := ic.begin("CreateAssignment", async, ic.w.keyLabel(k))
	if err != nil {
		return access.Operation{}, err
	}
	if ic.inflight[k] != nil {
		ic.w.trace.event(ic.w, "ic: CreateAssignment %s conflicts with %s", ic.w.keyLabel(k), ic.inflight[k].id)
		return access.Operation{}, conflict("CreateAccountAssignment", k)
	}
	ic.w.check.creationAccepted(k)
	op := ic.start(true, k, f == faultOpFails)
	ic.w.trace.event(ic.w, "ic: CreateAssignment %s → %s %s", ic.w.keyLabel(k), op.ID, op.Status)
	return op, ic.end("CreateAssignment", f)
}

// DeleteAssignment starts a deletion; one of an assignment that is not
// there has succeeded at once.
func (ic *identityCenter) DeleteAssignment(_ context.Context, a access.Assignment) (access.Operation, error) {
	k := a.Key()
	f, err := ic.begin("DeleteAssignment", async, ic.w.keyLabel(k))
	if err != nil {
		return access.Operation{}, err
	}
	if ic.inflight[k] != nil {
		ic.w.trace.event(ic.w, "ic: DeleteAssignment %s conflicts with %s", ic.w.keyLabel(k), ic.inflight[k].id)
		return access.Operation{}, conflict("DeleteAccountAssignment", k)
	}
	if !ic.present[k] {
		ic.w.trace.event(ic.w, "ic: DeleteAssignment %s: not there, done", ic.w.keyLabel(k))
		return access.Operation{ID: "gone-" + ic.nextID(), Status: access.OperationSucceeded}, ic.end("DeleteAssignment", f)
	}
	if ic.standing[k] {
		ic.w.check.violate("nothing taken away", "DeleteAssignment of standing access %s", ic.w.keyLabel(k))
	}
	op := ic.start(false, k, f == faultOpFails)
	ic.w.trace.event(ic.w, "ic: DeleteAssignment %s → %s %s", ic.w.keyLabel(k), op.ID, op.Status)
	return op, ic.end("DeleteAssignment", f)
}

func (ic *identityCenter) nextID() string {
	ic.seq++
	return fmt.Sprintf("op-%06d", ic.seq)
}

// start issues an operation that ends after a random while: at once four
// times in ten, within 30 s mostly, within maxOperation at worst.
func (ic *identityCenter) start(create bool, k access.AssignmentKey, fail bool) access.Operation {
	w := ic.w
	var d time.Duration
	switch r := w.rng.IntN(10); {
	case r < 4:
	case r < 9:
		d = time.Duration(1+w.rng.IntN(30)) * time.Second
	default:
		d = time.Duration(30+w.rng.IntN(int(maxOperation/time.Second)-30)) * time.Second
	}
	op := &operation{id: ic.nextID(), create: create, key: k, due: w.now().Add(d), fail: fail}
	ic.ops[op.id] = op
	ic.inflight[k] = op
	if d == 0 {
		ic.finish(op)
	} else {
		ic.pending = append(ic.pending, op)
		w.check.keyChanged(k)
	}
	return ic.status(op)
}

func (ic *identityCenter) status(op *operation) access.Operation {
	switch {
	case !op.done:
		return access.Operation{ID: op.id, Status: access.OperationInProgress}
	case op.fail:
		return access.Operation{ID: op.id, Status: access.OperationFailed, Reason: "simulated: the operation failed"}
	}
	return access.Operation{ID: op.id, Status: access.OperationSucceeded}
}

// CreationStatus polls a creation.
func (ic *identityCenter) CreationStatus(_ context.Context, _ string, id string) (access.Operation, error) {
	f, err := ic.begin("CreationStatus", read, id)
	if err != nil {
		return access.Operation{}, err
	}
	op := ic.ops[id]
	if op == nil || !op.create {
		return access.Operation{}, fmt.Errorf("creation status %s: ResourceNotFoundException", id)
	}
	return ic.status(op), ic.end("CreationStatus", f)
}

// DeletionStatus polls a deletion; a failed one whose assignment is gone
// anyway has succeeded.
func (ic *identityCenter) DeletionStatus(_ context.Context, _ string, id string) (access.Operation, error) {
	f, err := ic.begin("DeletionStatus", read, id)
	if err != nil {
		return access.Operation{}, err
	}
	if strings.HasPrefix(id, "gone-") {
		return access.Operation{ID: id, Status: access.OperationSucceeded}, ic.end("DeletionStatus", f)
	}
	op := ic.ops[id]
	if op == nil || op.create {
		return access.Operation{}, fmt.Errorf("deletion status %s: ResourceNotFoundException", id)
	}
	st := ic.status(op)
	if st.Status == access.OperationFailed && !ic.present[op.key] {
		st = access.Operation{ID: id, Status: access.OperationSucceeded}
	}
	return st, ic.end("DeletionStatus", f)
}

// compareKeys orders assignment keys.
func compareKeys(a, b access.AssignmentKey) int {
	return strings.Compare(a.InstanceARN+"\x00"+a.PrincipalID+"\x00"+a.AccountID+"\x00"+a.PermissionSetARN,
		b.InstanceARN+"\x00"+b.PrincipalID+"\x00"+b.AccountID+"\x00"+b.PermissionSetARN)
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
