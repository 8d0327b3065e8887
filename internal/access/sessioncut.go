package access

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// Removing an account assignment does not end the role sessions Identity
// Center already issued for it: they live until the permission set's
// session duration has passed. Elevate cuts them (docs/revocation.md): once
// the deletion succeeded and a re-listing shows the assignment gone, it adds
// to the permission set's inline policy a deny of everything for that
// user's sessions (aws:userid "*:<user name>", the role session name Identity
// Center uses) in the accounts concerned, issued before that moment
// (aws:TokenIssueTime), re-provisions the set, and takes the statement out
// again once the session duration has passed.
//
// The cuts of a permission set are desired state in the table (a CutSet,
// revisioned like every item), written in the same commit as the grant
// that ends; reconcileCuts makes Identity Center match it (the whole policy,
// then the provisioning), idempotently, under a lease on the CutSet so that
// two steps never write the same policy at once. Any retry converges.

// CutMethod says how a revoked or expired grant's open sessions were dealt with.
type CutMethod string

// The methods of a revocation receipt.
const (
	// CutDone: the deny is in the permission set's policy in every account
	// that has the set, until SessionsCutUntil.
	CutDone CutMethod = "session_cut"
	// CutPending: the deny is recorded but not yet in Identity Center (the
	// re-provisioning is under way or failed and is retried by the sweeper).
	CutPending CutMethod = "session_cut_pending"
	// CutPolicyFull: the deny did not fit in the set's inline policy
	// (MaxInlinePolicyBytes, without whitespace); nothing else was taken out
	// to make room.
	CutPolicyFull CutMethod = "none_policy_full"
	// CutNotPermitted: the set is not Elevate's to change (not managed, and
	// the operator did not allow session cuts on the tenant's assignable
	// sets); Elevate did not touch it.
	CutNotPermitted CutMethod = "not_permitted"
	// CutOff: neither the tenant's end_sessions setting nor the permit's
	// @end_sessions annotation asked for a cut.
	CutOff CutMethod = "off"
	// CutAssignmentKept: no assignment was deleted (another grant or
	// standing access still holds it), so there were no sessions to cut.
	CutAssignmentKept CutMethod = "none_assignment_kept"
	// CutSessionsEnded: the deny never got into Identity Center before the
	// session duration passed (re-provisioning kept failing); the sessions
	// it was for have ended by themselves.
	CutSessionsEnded CutMethod = "none_sessions_ended"
	// CutUnsupported: this deployment's Identity Center or store cannot cut
	// sessions.
	CutUnsupported CutMethod = "none_unsupported"
)

// Revocation is a grant's revocation receipt: when its assignments were
// deleted (the deletion SUCCEEDED), when a re-listing of the assignments
// showed them gone, and what became of the sessions issued before.
type Revocation struct {
	AssignmentDeletedAt time.Time
	VerifiedAbsentAt    time.Time
	// SessionsCutUntil is when the deny goes again (the sessions issued
	// before VerifiedAbsentAt have all ended by then); zero until the cut is
	// in place.
	SessionsCutUntil time.Time
	Method           CutMethod
}

// Details is the receipt as audit details and event payload.
func (r *Revocation) Details() map[string]any {
	if r == nil {
		return nil
	}
	m := map[string]any{"method": string(r.Method)}
	for k, t := range map[string]time.Time{"assignment_deleted_at": r.AssignmentDeletedAt, "verified_absent_at": r.VerifiedAbsentAt, "sessions_cut_until": r.SessionsCutUntil} {
		if !t.IsZero() {
			m[k] = t.UTC().Format(time.RFC3339)
		}
	}
	return m
}

// EndSessions is a tenant's setting of which permission sets' sessions are
// cut when a grant ends.
type EndSessions string

// The end_sessions settings.
const (
	// EndSessionsManaged (the default, also "") cuts sessions of the sets
	// Elevate manages.
	EndSessionsManaged EndSessions = "managed"
	// EndSessionsAll also cuts sessions of the tenant's assignable sets,
	// where the operator's boundary allows it (Boundary.CutSessions).
	EndSessionsAll EndSessions = "all"
	// EndSessionsOff cuts none (unless a permit's @end_sessions asks).
	EndSessionsOff EndSessions = "off"
)

// SessionsToEnd is the tenant's end_sessions setting, the default spelled out.
func (s Settings) SessionsToEnd() EndSessions {
	if s.EndSessions == "" {
		return EndSessionsManaged
	}
	return s.EndSessions
}

// Valid reports whether e is a known setting ("" is the default).
func (e EndSessions) Valid() bool {
	return e == "" || e == EndSessionsManaged || e == EndSessionsAll || e == EndSessionsOff
}

// cutSidPrefix starts the Sid of every statement Elevate adds to cut
// sessions; statements with other Sids are never changed.
const cutSidPrefix = "ElevateCut"

// applyLease is how long a step that claimed a CutSet may take to write it
// to Identity Center before another step may claim it again: longer than
// any step runs.
const applyLease = 5 * time.Minute

// SessionCutter is what cutting sessions needs from Identity Center and the
// Identity Store. Identity Center adapters may implement it; without it no
// session is cut (receipt method none_unsupported).
type SessionCutter interface {
	// UserName returns an Identity Store user's user name: the role session
	// name of the user's Identity Center sessions.
	UserName(ctx context.Context, t Tenant, userID string) (string, error)
	// SessionDuration returns the permission set's session duration.
	SessionDuration(ctx context.Context, instanceARN, permissionSetARN string) (time.Duration, error)
	// EditInlinePolicy reads the set's inline policy ("" when it has none),
	// has edit change it, puts the result ("" deletes it) and re-provisions
	// the set to every account it is provisioned to, returning once the
	// provisioning succeeded. No other writer of the set's policy may write
	// between the read and the put, Elevate's sync of a managed set's spec
	// included, or one of the two changes would be lost. A set that is gone
	// is an error wrapping ErrNotFound.
	EditInlinePolicy(ctx context.Context, instanceARN, permissionSetARN string, edit func(current string) (string, error)) error
}

// CutStore reads the session cuts. They are written through Store.Commit
// (Change.CutSets). Stores may implement it; without it no session is cut.
type CutStore interface {
	// GetCutSet returns a permission set's cuts, or an error wrapping
	// ErrNotFound.
	GetCutSet(ctx context.Context, key CutSetKey) (CutSet, error)
	// ListCutSets lists every CutSet of the deployment, in a stable order.
	ListCutSets(ctx context.Context, p PageRequest) (Page[CutSet], error)
}

// CutSetKey names a permission set of an instance.
type CutSetKey struct {
	InstanceARN      string
	PermissionSetARN string
}

// CutState is where a cut is.
type CutState string

// The cut states.
const (
	CutStatePending CutState = "pending"
	CutStateApplied CutState = "applied"
)

// SessionCut is one deny of a grant's user's sessions on a permission set.
type SessionCut struct {
	Sid    string
	Holder Holder
	// UserName is the role session name of the user's sessions.
	UserName string
	Accounts []string
	// IssuedBefore is the revoke time: sessions issued before it are denied.
	IssuedBefore time.Time
	// Until is when the deny may go: IssuedBefore plus the set's session duration.
	Until time.Time
	State CutState
}

// CutSet is the desired session cuts of one permission set, deployment-wide
// (every tenant on the instance shares the set's policy).
type CutSet struct {
	Key  CutSetKey
	Cuts []SessionCut
	// ApplyingSince is when a step claimed the set to write it to Identity
	// Center; zero when none holds it.
	ApplyingSince time.Time
	// Deleted marks the set for removal in a Change (Revision is the stored
	// one plus one).
	Deleted   bool
	Revision  int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// needsApply reports whether Identity Center lags the set at now: a cut is
// pending, or an applied one has passed its end.
func (c CutSet) needsApply(now time.Time) bool {
	return slices.ContainsFunc(c.Cuts, func(x SessionCut) bool {
		return x.State == CutStatePending || !now.Before(x.Until)
	})
}

// cutSid is the Sid of a grant's cut on a permission set.
func cutSid(h Holder, key CutSetKey) string {
	sum := sha256.Sum256([]byte(h.TenantID + "\x00" + h.GrantID + "\x00" + key.InstanceARN + "\x00" + key.PermissionSetARN))
	return cutSidPrefix + hex.EncodeToString(sum[:8])
}

// cutStatement is the deny statement of a cut.
func cutStatement(c SessionCut) json.RawMessage {
	st := map[string]any{
		"Sid": c.Sid, "Effect": "Deny", "Action": "*", "Resource": "*",
		"Condition": map[string]any{
			"StringLike":   map[string]any{"aws:userid": "*:" + literal(c.UserName)},
			"StringEquals": map[string]any{"aws:PrincipalAccount": c.Accounts},
			"DateLessThan": map[string]any{"aws:TokenIssueTime": c.IssuedBefore.UTC().Format(time.RFC3339)},
		},
	}
	b, _ := json.Marshal(st)
	return b
}

// literal writes s for a StringLike condition so that it matches itself
// only: IAM reads "*" and "?" in it as wildcards and "${" as a policy
// variable, and writes the characters themselves as ${*}, ${?} and ${$}.
// A user called "*" must not deny everyone's sessions.
func literal(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch c {
		case '*', '?', '$':
			b.WriteString("${" + string(c) + "}")
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// policyDoc is an IAM policy whose statements are kept as they are.
type policyDoc struct {
	Version   string            `json:"Version,omitempty"`
	ID        string            `json:"Id,omitempty"`
	Statement []json.RawMessage `json:"Statement"`
}

// othersStatements parses a policy and returns its statements that are not
// Elevate's cuts, unchanged, with its version and id.
func othersStatements(policy string) (policyDoc, error) {
	var doc policyDoc
	if strings.TrimSpace(policy) == "" {
		return doc, nil
	}
	var raw struct {
		Version   string          `json:"Version"`
		ID        string          `json:"Id"`
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal([]byte(policy), &raw); err != nil {
		return doc, fmt.Errorf("parse the inline policy: %w", err)
	}
	doc.Version, doc.ID = raw.Version, raw.ID
	var sts []json.RawMessage
	if t := strings.TrimSpace(string(raw.Statement)); strings.HasPrefix(t, "{") {
		sts = []json.RawMessage{raw.Statement}
	} else if t != "" && t != "null" {
		if err := json.Unmarshal(raw.Statement, &sts); err != nil {
			return doc, fmt.Errorf("parse the inline policy's statements: %w", err)
		}
	}
	for _, st := range sts {
		var head struct {
			Sid string `json:"Sid"`
		}
		_ = json.Unmarshal(st, &head)
		if !strings.HasPrefix(head.Sid, cutSidPrefix) {
			doc.Statement = append(doc.Statement, st)
		}
	}
	return doc, nil
}

// render writes a policy document compactly; no statement at all is "".
func (d policyDoc) render() string {
	if len(d.Statement) == 0 {
		return ""
	}
	if d.Version == "" {
		d.Version = "2012-10-17"
	}
	b, _ := json.Marshal(d)
	return asciiJSON(b)
}

// asciiJSON writes JSON text in ASCII: every other character (which valid
// JSON holds only inside strings) becomes a \u escape. Identity Center
// takes inline policies in U+0009, U+000A, U+000D and U+0020 to U+00FF
// only, so a user name such as "田中" must reach it escaped.
func asciiJSON(b []byte) string {
	var out strings.Builder
	for _, c := range string(b) {
		switch {
		case c < utf8.RuneSelf:
			out.WriteRune(c)
		case c > 0xFFFF:
			r1, r2 := utf16.EncodeRune(c)
			fmt.Fprintf(&out, "\\u%04x\\u%04x", r1, r2)
		default:
			fmt.Fprintf(&out, "\\u%04x", c)
		}
	}
	return out.String()
}

// policySize is a policy's size as Identity Center counts it against
// MaxInlinePolicyBytes: its bytes without whitespace.
func policySize(policy string) int {
	n := 0
	for i := 0; i < len(policy); i++ {
		switch policy[i] {
		case ' ', '\t', '\n', '\r':
		default:
			n++
		}
	}
	return n
}

// WithCuts returns the policy with its cut statements replaced by those of
// cuts (in order), leaving every other statement as it is, and the Sids of
// the cuts that did not fit in MaxInlinePolicyBytes (the ones after
// them are still tried: a smaller one may fit).
func WithCuts(policy string, cuts []SessionCut) (string, []string, error) {
	doc, err := othersStatements(policy)
	if err != nil {
		return "", nil, err
	}
	var full []string
	for _, c := range cuts {
		next := doc
		next.Statement = append(slices.Clip(doc.Statement), cutStatement(c))
		if policySize(next.render()) > MaxInlinePolicyBytes {
			full = append(full, c.Sid)
			continue
		}
		doc = next
	}
	return doc.render(), full, nil
}

// KeepCuts returns want (a policy Elevate is about to put on a set it
// manages) with the cut statements of current (the set's policy now) added,
// so that bringing a managed set up to date never drops a cut.
func KeepCuts(current, want string) (string, error) {
	cur, err := parseStatements(current)
	if err != nil {
		return want, err
	}
	var cuts []json.RawMessage
	for _, st := range cur.Statement {
		var head struct {
			Sid string `json:"Sid"`
		}
		_ = json.Unmarshal(st, &head)
		if strings.HasPrefix(head.Sid, cutSidPrefix) {
			cuts = append(cuts, st)
		}
	}
	if len(cuts) == 0 {
		return want, nil
	}
	doc, err := othersStatements(want)
	if err != nil {
		return want, err
	}
	doc.Statement = append(doc.Statement, cuts...)
	return doc.render(), nil
}

// WithoutCuts returns the policy without Elevate's cut statements, for
// comparing a managed set's policy with its spec.
func WithoutCuts(policy string) (string, error) {
	doc, err := othersStatements(policy)
	if err != nil {
		return policy, err
	}
	return doc.render(), nil
}

// parseStatements parses every statement of a policy, cuts included.
func parseStatements(policy string) (policyDoc, error) {
	var doc policyDoc
	if strings.TrimSpace(policy) == "" {
		return doc, nil
	}
	var raw struct {
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal([]byte(policy), &raw); err != nil {
		return doc, fmt.Errorf("parse the inline policy: %w", err)
	}
	if t := strings.TrimSpace(string(raw.Statement)); strings.HasPrefix(t, "{") {
		doc.Statement = []json.RawMessage{raw.Statement}
	} else if t != "" && t != "null" {
		if err := json.Unmarshal(raw.Statement, &doc.Statement); err != nil {
			return doc, err
		}
	}
	return doc, nil
}

// cutDecision says whether a grant's ending cuts its sessions on the
// permission set it assigned: "" when it does, else the receipt's method.
// The permit's @end_sessions (on the grant) wins over the tenant's
// end_sessions setting: "true" asks as "all" does, "false" as "off".
// Managed sets are cut unless asked not to; assignable sets only when
// asked and the operator's boundary allows it (Boundary.CutSessions).
func cutDecision(t Tenant, g Grant, psARN string) CutMethod {
	setting := t.Settings.EndSessions
	switch g.EndSessions {
	case "true":
		setting = EndSessionsAll
	case "false":
		setting = EndSessionsOff
	}
	switch {
	case setting == EndSessionsOff:
		return CutOff
	case g.Resource.Type.Managed():
		return ""
	case setting != EndSessionsAll:
		return CutOff
	case !t.Boundary.CanAssign(psARN) || !t.Boundary.CutSessions:
		return CutNotPermitted
	}
	return ""
}

// receipt verifies that the assignments g deleted are gone (re-listing them
// in Identity Center) and works out its revocation receipt and, when its
// sessions are to be cut, the CutSet to write with the grant's end.
func (s *core) receipt(ctx context.Context, t Tenant, g Grant) (Grant, *CutSet, error) {
	now := s.clock()
	r := &Revocation{}
	if g.Revocation != nil {
		*r = *g.Revocation
	}
	var deleted []Assignment
	for _, a := range g.Assignments {
		if a.DeletedAt.IsZero() {
			continue
		}
		if a.DeletedAt.After(r.AssignmentDeletedAt) {
			r.AssignmentDeletedAt = a.DeletedAt
		}
		exists, err := s.ic.AssignmentExists(ctx, a)
		if err != nil {
			return g, nil, fmt.Errorf("verify the deletion of the assignment in %s: %w", a.AccountID, err)
		}
		if exists {
			// Made again since: by a grant that claimed it anew (its ledger
			// entry says so), which is not this grant's to verify or cut.
			if _, err := s.ledger.GetLedgerEntry(ctx, a.Key()); err == nil {
				continue
			} else if !errors.Is(err, ErrNotFound) {
				return g, nil, err
			}
			return g, nil, fmt.Errorf("the assignment of grant %s in %s was deleted but is still listed; verifying again later: %w", g.ID, a.AccountID, ErrRetryLater)
		}
		deleted = append(deleted, a)
	}
	r.VerifiedAbsentAt = now
	g.Revocation = r
	if len(deleted) == 0 {
		r.Method = CutAssignmentKept
		return g, nil, nil
	}
	ps := deleted[0].PermissionSetARN
	if m := cutDecision(t, g, ps); m != "" {
		r.Method = m
		return g, nil, nil
	}
	sc, ok1 := s.ic.(SessionCutter)
	cs, ok2 := s.store.(CutStore)
	if !ok1 || !ok2 {
		r.Method = CutUnsupported
		return g, nil, nil
	}
	key := CutSetKey{deleted[0].InstanceARN, ps}
	name, err := sc.UserName(ctx, t, deleted[0].PrincipalID)
	if err != nil {
		return g, nil, fmt.Errorf("user name of %s: %w", deleted[0].PrincipalID, err)
	}
	d, err := sc.SessionDuration(ctx, key.InstanceARN, key.PermissionSetARN)
	if err != nil {
		return g, nil, fmt.Errorf("session duration of %s: %w", ps, err)
	}
	set, err := cs.GetCutSet(ctx, key)
	switch {
	case errors.Is(err, ErrNotFound):
		set = CutSet{Key: key, CreatedAt: now}
	case err != nil:
		return g, nil, err
	}
	h := Holder{t.ID, g.ID}
	cut := SessionCut{Sid: cutSid(h, key), Holder: h, UserName: name, IssuedBefore: now, Until: now.Add(d), State: CutStatePending}
	for _, a := range deleted {
		if !slices.Contains(cut.Accounts, a.AccountID) {
			cut.Accounts = append(cut.Accounts, a.AccountID)
		}
	}
	slices.Sort(cut.Accounts)
	set.Cuts = slices.DeleteFunc(set.Cuts, func(c SessionCut) bool { return c.Sid == cut.Sid })
	set.Cuts = append(set.Cuts, cut)
	set.Revision++
	set.UpdatedAt = now
	r.Method = CutPending
	return g, &set, nil
}

// reconcileRounds bounds how often one call puts a set's policy again for
// cuts recorded while it was putting it (the others wait for the sweeper).
const reconcileRounds = 3

// reconcileCuts makes Identity Center match a CutSet (reconcileOnce), again
// while cuts were recorded during its own round: their steps found the set
// claimed and left them to it.
func (s *core) reconcileCuts(ctx context.Context, key CutSetKey) error {
	for range reconcileRounds {
		again, err := s.reconcileOnce(ctx, key)
		if err != nil || !again {
			return err
		}
	}
	return nil
}

// reconcileOnce claims a CutSet, puts the set's inline policy with every
// live cut (expired ones left out, cuts that do not fit reported), waits for
// the re-provisioning, then tells the grants concerned (their receipts) and
// records the outcome on the CutSet. A failure leaves the cuts pending for
// the next try and is reported. again says the set changed meanwhile and
// still lags.
func (s *core) reconcileOnce(ctx context.Context, key CutSetKey) (again bool, err error) {
	cs, ok1 := s.store.(CutStore)
	sc, ok2 := s.ic.(SessionCutter)
	if !ok1 || !ok2 {
		return false, nil
	}
	// Claim the set.
	var claimed CutSet
	_, err = retry(func() (struct{}, error) {
		set, err := cs.GetCutSet(ctx, key)
		if err != nil {
			return struct{}{}, ignoreNotFound(err)
		}
		now := s.clock()
		if !set.needsApply(now) || (!set.ApplyingSince.IsZero() && now.Sub(set.ApplyingSince) < applyLease) {
			return struct{}{}, nil
		}
		set.ApplyingSince, set.UpdatedAt = now, now
		set.Revision++
		if err := s.commit(ctx, Change{CutSets: []CutSet{set}}); err != nil {
			return struct{}{}, err
		}
		claimed = set
		return struct{}{}, nil
	})
	if err != nil || claimed.Revision == 0 {
		return false, err
	}
	now := s.clock()
	var live []SessionCut
	for _, c := range claimed.Cuts {
		if now.Before(c.Until) {
			live = append(live, c)
		}
	}
	// Always put and re-provision: the policy may be in place while its
	// provisioning failed.
	var full []string
	err = sc.EditInlinePolicy(ctx, key.InstanceARN, key.PermissionSetARN, func(current string) (string, error) {
		policy, f, err := WithCuts(current, live)
		full = f
		return policy, err
	})
	if errors.Is(err, ErrNotFound) {
		return false, s.dropGoneSet(ctx, cs, key, claimed)
	}
	if err != nil {
		// Another writer of the policy holding it is not a failure: the
		// sweeper's next pass tries again.
		if !errors.Is(err, ErrRetryLater) {
			s.report(ctx, Problem{ProblemSessionCutFailed, "cutting the sessions of permission set " + key.PermissionSetARN + " failed; the sweeper retries", err})
		}
		_ = s.updateCutSet(ctx, key, func(cur *CutSet) bool {
			if !cur.ApplyingSince.Equal(claimed.ApplyingSince) {
				return false
			}
			cur.ApplyingSince = time.Time{}
			return true
		})
		return false, fmt.Errorf("cut sessions on %s: %w", key.PermissionSetARN, err)
	}
	// Tell the grants, then record the outcome: a crash in between repeats
	// the (idempotent) write and finds the grants told.
	var errs []error
	for _, c := range claimed.Cuts {
		if c.State == CutStatePending && !now.Before(c.Until) {
			// never in place, and every session it was for has ended
			if err := s.tellGrant(ctx, c, CutSessionsEnded); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, c := range live {
		if c.State != CutStatePending {
			continue
		}
		m := CutDone
		if slices.Contains(full, c.Sid) {
			m = CutPolicyFull
		}
		if err := s.tellGrant(ctx, c, m); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return false, errors.Join(errs...)
	}
	err = s.updateCutSet(ctx, key, func(cur *CutSet) bool {
		cur.Cuts = slices.DeleteFunc(cur.Cuts, func(c SessionCut) bool {
			i := slices.IndexFunc(claimed.Cuts, func(x SessionCut) bool { return x.Sid == c.Sid && x.IssuedBefore.Equal(c.IssuedBefore) })
			if i < 0 {
				return false // added since the claim
			}
			return !now.Before(c.Until) || slices.Contains(full, c.Sid)
		})
		for i, c := range cur.Cuts {
			if slices.ContainsFunc(live, func(x SessionCut) bool { return x.Sid == c.Sid && x.IssuedBefore.Equal(c.IssuedBefore) }) {
				cur.Cuts[i].State = CutStateApplied
			}
		}
		if cur.ApplyingSince.Equal(claimed.ApplyingSince) {
			cur.ApplyingSince = time.Time{}
		}
		cur.Deleted = len(cur.Cuts) == 0
		again = !cur.Deleted && cur.ApplyingSince.IsZero() && cur.needsApply(s.clock())
		return true
	})
	return again && err == nil, err
}

// dropGoneSet ends the cuts of a permission set that is gone: deleting it
// took its roles, and every session they had, with it. The grants of its
// pending cuts are told so (none_sessions_ended) first, then the cuts told
// are taken out, and the CutSet with them once it holds no other (one
// added meanwhile is told by the next try).
func (s *core) dropGoneSet(ctx context.Context, cs CutStore, key CutSetKey, claimed CutSet) error {
	set, err := cs.GetCutSet(ctx, key)
	if err != nil {
		return ignoreNotFound(err)
	}
	var errs []error
	for _, c := range set.Cuts {
		if c.State == CutStatePending {
			if err := s.tellGrant(ctx, c, CutSessionsEnded); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return s.updateCutSet(ctx, key, func(cur *CutSet) bool {
		cur.Cuts = slices.DeleteFunc(cur.Cuts, func(c SessionCut) bool {
			return slices.ContainsFunc(set.Cuts, func(x SessionCut) bool { return x.Sid == c.Sid && x.IssuedBefore.Equal(c.IssuedBefore) })
		})
		if cur.ApplyingSince.Equal(claimed.ApplyingSince) {
			cur.ApplyingSince = time.Time{}
		}
		cur.Deleted = len(cur.Cuts) == 0
		return true
	})
}

// updateCutSet changes a CutSet alone, reading it again when the write lost
// a race; a missing set is left missing.
func (s *core) updateCutSet(ctx context.Context, key CutSetKey, change func(c *CutSet) bool) error {
	cs := s.store.(CutStore)
	_, err := retry(func() (struct{}, error) {
		set, err := cs.GetCutSet(ctx, key)
		if err != nil {
			return struct{}{}, ignoreNotFound(err)
		}
		if !change(&set) {
			return struct{}{}, nil
		}
		set.Revision++
		set.UpdatedAt = s.clock()
		return struct{}{}, s.commit(ctx, Change{CutSets: []CutSet{set}})
	})
	return err
}

// tellGrant records on a grant's receipt that its cut is in place (until
// the cut's end) or did not fit in the policy, with its audit event. A
// grant told already is left alone.
func (s *core) tellGrant(ctx context.Context, c SessionCut, m CutMethod) error {
	t, err := s.tenant(ctx, c.Holder.TenantID)
	if err != nil {
		return err
	}
	_, err = retry(func() (struct{}, error) {
		g, err := s.loadGrant(ctx, c.Holder.TenantID, c.Holder.GrantID)
		if err != nil || g.Revocation == nil || g.Revocation.Method != CutPending {
			return struct{}{}, ignoreNotFound(err)
		}
		now := s.clock()
		r := *g.Revocation
		action, sev := AuditGrantSessionsCut, SeverityInfo
		r.Method = m
		switch m {
		case CutDone:
			r.SessionsCutUntil = c.Until
		case CutPolicyFull:
			action, sev = AuditGrantSessionCutFailed, SeverityHigh
			s.report(ctx, Problem{ProblemSessionCutFailed, "the session cut of grant " + g.ID + " does not fit in an inline policy", errors.New("inline policy full")})
		default:
			action, sev = AuditGrantSessionCutFailed, SeverityHigh
		}
		g.Revocation = &r
		g.Revision++
		g.UpdatedAt = now
		ev := s.audit(t, systemActor(t.ID), now, action, "grant", g.ID, sev, map[string]any{
			"revocation": r.Details(), "accounts": c.Accounts,
		})
		return struct{}{}, s.commit(ctx, Change{Grants: []Grant{g}, Audit: []AuditEvent{ev}})
	})
	return err
}

// sweepCuts reconciles every CutSet that Identity Center lags: pending cuts
// (a failed re-provisioning is retried here) and cuts past their end.
func (s *core) sweepCuts(ctx context.Context, rep *SweepReport) error {
	cs, ok := s.store.(CutStore)
	if !ok {
		return nil
	}
	if _, ok := s.ic.(SessionCutter); !ok {
		return nil
	}
	now := s.clock()
	var todo []CutSetKey
	if err := eachPage(func(p PageRequest) (Page[CutSet], error) { return cs.ListCutSets(ctx, p) }, func(c CutSet) error {
		if c.needsApply(now) {
			todo = append(todo, c.Key)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("list session cuts: %w", err)
	}
	for _, k := range todo {
		if err := s.reconcileCuts(ctx, k); err != nil {
			rep.Problems = append(rep.Problems, err.Error())
			continue
		}
		rep.CutSetsReconciled++
	}
	return nil
}
