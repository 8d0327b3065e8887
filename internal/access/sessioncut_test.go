package access_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

// bucketWrite is a managed (Elevate-made) permission set's request; carol
// approves it.
func bucketWrite(account string) access.CreateRequestInput {
	return access.CreateRequestInput{Resource: access.Resource{Type: access.ResourceS3Bucket, ID: "team-logs", AccountID: account},
		Action: "write", DurationSeconds: 3600, Justification: "fix"}
}

// approvedGrant makes and approves a request by p and provisions its grant.
func (f *fixture) approvedGrant(p access.Principal, in access.CreateRequestInput) access.Grant {
	f.t.Helper()
	r := f.pending(p, in)
	r = must(f.svc.Approve(f.ctx, carol, r.ID, "", nil))(f.t)
	f.provision(p.TenantID, r.GrantID)
	g := f.grant(p.TenantID, r.GrantID)
	if g.Status != access.GrantActive {
		f.t.Fatalf("grant is %s, want active", g.Status)
	}
	return g
}

// revoke revokes g as ada and takes it away.
func (f *fixture) revoke(g access.Grant) access.Grant {
	f.t.Helper()
	must(f.svc.RevokeGrant(f.ctx, ada, g.ID, "done", nil))(f.t)
	f.deprovision(g.TenantID, g.ID)
	return f.grant(g.TenantID, g.ID)
}

// statements returns the Sids of a policy's statements, with the policy's
// statements by Sid.
func statements(t *testing.T, policy string) ([]string, map[string]map[string]any) {
	t.Helper()
	if policy == "" {
		return nil, nil
	}
	var doc struct {
		Statement []map[string]any
	}
	if err := json.Unmarshal([]byte(policy), &doc); err != nil {
		t.Fatalf("policy %s: %v", policy, err)
	}
	var sids []string
	by := map[string]map[string]any{}
	for i, st := range doc.Statement {
		sid, _ := st["Sid"].(string)
		if sid == "" {
			sid = fmt.Sprint("#", i)
		}
		sids = append(sids, sid)
		by[sid] = st
	}
	return sids, by
}

func cutSids(sids []string) []string {
	var out []string
	for _, s := range sids {
		if strings.HasPrefix(s, "ElevateCut") {
			out = append(out, s)
		}
	}
	return out
}

func TestSessionCutOnRevoke(t *testing.T) {
	f := withTenant(t)
	g := f.approvedGrant(alice, bucketWrite(acct2))
	ps := g.Assignments[0].PermissionSetARN
	managed, _ := f.ic.InlinePolicy(f.ctx, instanceARN, ps)
	f.clock.Advance(10 * time.Minute)
	revokedAt := f.clock.Now()
	g = f.revoke(g)

	if g.Status != access.GrantRevoked || g.Revocation == nil {
		t.Fatalf("grant is %s with receipt %+v", g.Status, g.Revocation)
	}
	r := *g.Revocation
	d := access.ManagedSessionLength
	if r.Method != access.CutDone || !r.AssignmentDeletedAt.Equal(revokedAt) || !r.VerifiedAbsentAt.Equal(revokedAt) || !r.SessionsCutUntil.Equal(revokedAt.Add(d)) {
		t.Errorf("receipt = %+v, want session_cut until %v", r, revokedAt.Add(d))
	}
	if g.Assignments[0].DeletedAt.IsZero() {
		t.Errorf("assignment %+v has no DeletedAt", g.Assignments[0])
	}
	policy, _ := f.ic.InlinePolicy(f.ctx, instanceARN, ps)
	sids, by := statements(t, policy)
	cuts := cutSids(sids)
	if len(cuts) != 1 {
		t.Fatalf("policy %s has cuts %v, want one", policy, cuts)
	}
	st, _ := json.Marshal(by[cuts[0]])
	for _, want := range []string{`"Effect":"Deny"`, `"aws:userid":"*:alice"`, `"aws:PrincipalAccount":["` + acct2 + `"]`, `"aws:TokenIssueTime":"` + revokedAt.Format(time.RFC3339) + `"`} {
		if !strings.Contains(string(st), want) {
			t.Errorf("cut statement %s lacks %s", st, want)
		}
	}
	if without, _ := access.WithoutCuts(policy); without != must(access.WithoutCuts(managed))(t) {
		t.Errorf("the managed statements changed:\n%s\nwant\n%s", without, managed)
	}
	// grant.revoked carries the receipt as it was when the grant ended (the
	// cut recorded, not yet in place); grant.sessions_cut follows.
	ev, ok := f.findAudit(tenantA, g.ID, access.AuditGrantRevoked)
	if rv, _ := ev.Details["revocation"].(map[string]any); !ok || rv["method"] != "session_cut_pending" || rv["verified_absent_at"] != revokedAt.Format(time.RFC3339) {
		t.Errorf("grant.revoked details = %v", ev.Details)
	}
	cut, ok := f.findAudit(tenantA, g.ID, access.AuditGrantSessionsCut)
	if rv, _ := cut.Details["revocation"].(map[string]any); !ok || rv["method"] != "session_cut" || rv["sessions_cut_until"] != revokedAt.Add(d).Format(time.RFC3339) {
		t.Errorf("grant.sessions_cut details = %v (found %v)", cut.Details, ok)
	}

	// A sweep before the end changes nothing; after it, the cut goes.
	puts := len(f.ic.PolicyPuts())
	must(f.op.Sweep(f.ctx))(t)
	if n := len(f.ic.PolicyPuts()); n != puts {
		t.Errorf("a sweep before the cut's end put the policy again (%d puts, was %d)", n, puts)
	}
	f.clock.Advance(d)
	rep := must(f.op.Sweep(f.ctx))(t)
	if rep.CutSetsReconciled != 1 {
		t.Errorf("sweep reconciled %d cut sets, want 1 (%v)", rep.CutSetsReconciled, rep.Problems)
	}
	policy, _ = f.ic.InlinePolicy(f.ctx, instanceARN, ps)
	if sids, _ := statements(t, policy); len(cutSids(sids)) != 0 || must(access.WithoutCuts(policy))(t) != must(access.WithoutCuts(managed))(t) {
		t.Errorf("policy after the cut's end = %s, want the managed one %s", policy, managed)
	}
	if _, err := f.store.(access.CutStore).GetCutSet(f.ctx, access.CutSetKey{InstanceARN: instanceARN, PermissionSetARN: ps}); err == nil {
		t.Error("the cut set is still stored after its last cut went")
	}
	if got := f.grant(tenantA, g.ID).Revocation; got.Method != access.CutDone {
		t.Errorf("receipt after the cut went = %+v", got)
	}
}

func TestSessionCutOnExpiry(t *testing.T) {
	f := withTenant(t)
	g := f.approvedGrant(alice, bucketWrite(acct2))
	g = f.expire(g)
	if g.Status != access.GrantExpired || g.Revocation == nil || g.Revocation.Method != access.CutDone {
		t.Fatalf("grant is %s with receipt %+v", g.Status, g.Revocation)
	}
	if ev, ok := f.findAudit(tenantA, g.ID, access.AuditGrantExpired); !ok || ev.Details["revocation"] == nil {
		t.Errorf("grant.expired details = %v", ev.Details)
	}
}

// Two grants ending at once on the same permission set both get their cut:
// neither read-modify-write of the set's cuts loses the other's.
func TestSessionCutConcurrentRevokes(t *testing.T) {
	for round := range 5 {
		f := withTenant(t)
		ga := f.approvedGrant(alice, bucketWrite(acct2))
		gb := f.approvedGrant(bob, bucketWrite(acct2))
		ps := ga.Assignments[0].PermissionSetARN
		must(f.svc.RevokeGrant(f.ctx, ada, ga.ID, "", nil))(t)
		must(f.svc.RevokeGrant(f.ctx, ada, gb.ID, "", nil))(t)
		var wg sync.WaitGroup
		for _, g := range []access.Grant{ga, gb} {
			wg.Go(func() {
				for range maxSteps {
					if done, err := f.steps.DeprovisionGrant(f.ctx, tenantA, g.ID); err == nil && done {
						return
					}
				}
			})
		}
		wg.Wait()
		// What a lease or a failed write left pending, the sweeper finishes.
		must(f.op.Sweep(f.ctx))(t)
		policy, _ := f.ic.InlinePolicy(f.ctx, instanceARN, ps)
		sids, by := statements(t, policy)
		if cuts := cutSids(sids); len(cuts) != 2 {
			t.Fatalf("round %d: policy has cuts %v, want both grants' (%s)", round, cuts, policy)
		}
		var users []string
		for _, sid := range cutSids(sids) {
			b, _ := json.Marshal(by[sid])
			for _, u := range []string{"alice", "bob"} {
				if strings.Contains(string(b), `"*:`+u+`"`) {
					users = append(users, u)
				}
			}
		}
		slices.Sort(users)
		if !slices.Equal(users, []string{"alice", "bob"}) {
			t.Errorf("round %d: cut users = %v", round, users)
		}
		for _, g := range []access.Grant{ga, gb} {
			if r := f.grant(tenantA, g.ID).Revocation; r == nil || r.Method != access.CutDone {
				t.Errorf("round %d: receipt of %s = %+v", round, g.ID, r)
			}
		}
	}
}

// hookedCuts runs hook once, right after the first GetCutSet once armed:
// another step's commit lands between a read and the write that follows it.
type hookedCuts struct {
	testStore
	armed atomic.Bool
	hook  func()
}

func (h *hookedCuts) GetCutSet(ctx context.Context, key access.CutSetKey) (access.CutSet, error) {
	c, err := h.testStore.(access.CutStore).GetCutSet(ctx, key)
	if h.armed.CompareAndSwap(true, false) {
		h.hook()
	}
	return c, err
}

func (h *hookedCuts) ListCutSets(ctx context.Context, p access.PageRequest) (access.Page[access.CutSet], error) {
	return h.testStore.(access.CutStore).ListCutSets(ctx, p)
}

// The race itself: grant b's end reads the permission set's cuts, then
// grant a's end writes them, then b writes. b's write must fail (stale) and
// its retry keep both cuts.
func TestSessionCutStaleCutSet(t *testing.T) {
	var hc *hookedCuts
	f := newFixtureOn(t, func(f *fixture) { hc = &hookedCuts{testStore: f.store}; f.store = hc })
	f.tenant(tenantA, nil)
	ga := f.approvedGrant(alice, bucketWrite(acct2))
	gb := f.approvedGrant(bob, bucketWrite(acct2))
	ps := ga.Assignments[0].PermissionSetARN
	must(f.svc.RevokeGrant(f.ctx, ada, ga.ID, "", nil))(t)
	must(f.svc.RevokeGrant(f.ctx, ada, gb.ID, "", nil))(t)
	hc.hook = func() { f.deprovision(tenantA, ga.ID) }
	hc.armed.Store(true)
	failed := 0
	for i := 0; ; i++ {
		if i == maxSteps {
			t.Fatal("b never ends")
		}
		done, err := f.steps.DeprovisionGrant(f.ctx, tenantA, gb.ID)
		if err != nil {
			failed++
			continue
		}
		if done {
			break
		}
	}
	if failed == 0 {
		t.Error("b's write of the cuts never met a's (the race did not happen)")
	}
	policy, _ := f.ic.InlinePolicy(f.ctx, instanceARN, ps)
	if sids, _ := statements(t, policy); len(cutSids(sids)) != 2 {
		t.Errorf("policy %s, want both grants' cuts", policy)
	}
	for _, g := range []access.Grant{ga, gb} {
		if r := f.grant(tenantA, g.ID).Revocation; r == nil || r.Method != access.CutDone {
			t.Errorf("receipt of %s = %+v", g.ID, r)
		}
	}
}

func TestSessionCutProvisionFails(t *testing.T) {
	f := withTenant(t)
	g := f.approvedGrant(alice, bucketWrite(acct2))
	f.ic.FailProvisioning(func(string) bool { return true })
	g = f.revoke(g)
	if g.Status != access.GrantRevoked || g.Revocation == nil || g.Revocation.Method != access.CutPending || !g.Revocation.SessionsCutUntil.IsZero() {
		t.Fatalf("grant is %s with receipt %+v, want revoked with session_cut_pending", g.Status, g.Revocation)
	}
	if !slices.ContainsFunc(f.reports, func(r string) bool { return strings.Contains(r, "[session_cut_failed]") }) {
		t.Errorf("reports = %q, want a session_cut_failed", f.reports)
	}
	// The sweeper retries while it fails, and the cut lands once it works.
	rep := must(f.op.Sweep(f.ctx))(t)
	if rep.CutSetsReconciled != 0 || len(rep.Problems) == 0 {
		t.Errorf("sweep with a failing re-provisioning: %d reconciled, problems %q", rep.CutSetsReconciled, rep.Problems)
	}
	f.ic.FailProvisioning(nil)
	f.clock.Advance(time.Minute)
	rep = must(f.op.Sweep(f.ctx))(t)
	if rep.CutSetsReconciled != 1 {
		t.Errorf("sweep reconciled %d, want 1 (%q)", rep.CutSetsReconciled, rep.Problems)
	}
	r := f.grant(tenantA, g.ID).Revocation
	if r.Method != access.CutDone || !r.SessionsCutUntil.Equal(r.VerifiedAbsentAt.Add(access.ManagedSessionLength)) {
		t.Errorf("receipt after the retry = %+v", r)
	}
}

func TestSessionCutPolicyFull(t *testing.T) {
	f := newFixture(t)
	f.tenant(tenantA, func(in *access.NewTenantInput) {
		in.Settings.EndSessions = access.EndSessionsAll
		in.Boundary.CutSessions = true
	})
	// Someone else's statements fill psReadOnly's inline policy.
	big := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Sid":"Theirs","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::%s/*"}]}`, strings.Repeat("x", access.MaxInlinePolicyBytes-150))
	f.ic.SetInlinePolicy(psReadOnly, big)
	g := f.revoke(f.activeGrant(alice, readOnly(acct1)))
	if g.Revocation == nil || g.Revocation.Method != access.CutPolicyFull {
		t.Fatalf("receipt = %+v, want none_policy_full", g.Revocation)
	}
	if got, _ := f.ic.InlinePolicy(f.ctx, instanceARN, psReadOnly); got != big {
		t.Errorf("their policy changed")
	}
	if ev, ok := f.findAudit(tenantA, g.ID, access.AuditGrantSessionCutFailed); !ok || ev.Severity != access.SeverityHigh {
		t.Errorf("grant.session_cut_failed = %+v (found %v)", ev, ok)
	}
	if !slices.ContainsFunc(f.reports, func(r string) bool { return strings.Contains(r, "[session_cut_failed]") }) {
		t.Errorf("reports = %q", f.reports)
	}

	// With room, a catalog set's other statements stay as they are.
	f.ic.SetInlinePolicy(psReadOnly, `{"Version":"2012-10-17","Statement":{"Sid":"Theirs","Effect":"Deny","Action":"iam:*","Resource":"*"}}`)
	g = f.revoke(f.activeGrant(alice, readOnly(acct1)))
	if g.Revocation.Method != access.CutDone {
		t.Fatalf("receipt = %+v", g.Revocation)
	}
	policy, _ := f.ic.InlinePolicy(f.ctx, instanceARN, psReadOnly)
	sids, by := statements(t, policy)
	if len(sids) != 2 || sids[0] != "Theirs" || by["Theirs"]["Action"] != "iam:*" || len(cutSids(sids)) != 1 {
		t.Errorf("policy = %s", policy)
	}
}

func TestSessionCutWhichSets(t *testing.T) {
	for _, tc := range []struct {
		name     string
		setting  access.EndSessions
		allowed  bool
		in       func() access.CreateRequestInput
		approved bool
		want     access.CutMethod
	}{
		{"catalog set by default", "", false, func() access.CreateRequestInput { return readOnly(acct1) }, false, access.CutOff},
		{"catalog set, all, not allowed by the operator", access.EndSessionsAll, false, func() access.CreateRequestInput { return readOnly(acct1) }, false, access.CutNotPermitted},
		{"catalog set, managed, allowed", access.EndSessionsManaged, true, func() access.CreateRequestInput { return readOnly(acct1) }, false, access.CutOff},
		{"catalog set, all, allowed", access.EndSessionsAll, true, func() access.CreateRequestInput { return readOnly(acct1) }, false, access.CutDone},
		{"managed set, off", access.EndSessionsOff, true, func() access.CreateRequestInput { return bucketWrite(acct2) }, true, access.CutOff},
		{"managed set by default", "", false, func() access.CreateRequestInput { return bucketWrite(acct2) }, true, access.CutDone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.tenant(tenantA, func(in *access.NewTenantInput) {
				in.Settings.EndSessions = tc.setting
				in.Boundary.CutSessions = tc.allowed
			})
			var g access.Grant
			if tc.approved {
				g = f.approvedGrant(alice, tc.in())
			} else {
				g = f.activeGrant(alice, tc.in())
			}
			g = f.revoke(g)
			if g.Revocation == nil || g.Revocation.Method != tc.want {
				t.Fatalf("receipt = %+v, want %s", g.Revocation, tc.want)
			}
			if tc.want != access.CutDone && f.ic.Calls("PutInlinePolicy") != 0 {
				t.Errorf("PutInlinePolicy called %d times for a set not cut", f.ic.Calls("PutInlinePolicy"))
			}
		})
	}
}

// An assignment another grant still holds is not deleted: nothing to cut.
func TestSessionCutSharedAssignment(t *testing.T) {
	f := withTenant(t)
	g1 := f.approvedGrant(alice, bucketWrite(acct2))
	g2 := f.approvedGrant(alice, bucketWrite(acct2))
	g1 = f.revoke(g1)
	if g1.Revocation == nil || g1.Revocation.Method != access.CutAssignmentKept || !g1.Revocation.AssignmentDeletedAt.IsZero() {
		t.Fatalf("receipt of the first = %+v, want none_assignment_kept", g1.Revocation)
	}
	if f.ic.Calls("PutInlinePolicy") != 0 {
		t.Error("a cut was put while another grant holds the assignment")
	}
	g2 = f.revoke(g2)
	if g2.Revocation == nil || g2.Revocation.Method != access.CutDone {
		t.Fatalf("receipt of the last = %+v", g2.Revocation)
	}
}

// A managed set brought up to date (a new policy version) keeps its cuts.
func TestKeepCuts(t *testing.T) {
	cut := access.SessionCut{Sid: "ElevateCut0011223344556677", UserName: "alice", Accounts: []string{acct1}, IssuedBefore: t0, Until: t0.Add(time.Hour)}
	old := `{"Version":"2012-10-17","Statement":[{"Sid":"Old","Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
	withCut, full, err := access.WithCuts(old, []access.SessionCut{cut})
	if err != nil || len(full) != 0 {
		t.Fatal(full, err)
	}
	want := `{"Version":"2012-10-17","Statement":[{"Sid":"New","Effect":"Allow","Action":"s3:PutObject","Resource":"*"}]}`
	got := must(access.KeepCuts(withCut, want))(t)
	sids, _ := statements(t, got)
	if !slices.Equal(sids, []string{"New", cut.Sid}) {
		t.Errorf("kept = %s", got)
	}
	if got := must(access.KeepCuts(old, want))(t); got != want {
		t.Errorf("without cuts = %s", got)
	}
}

// A cut recorded while another step is putting the set's policy (it holds
// the lease, so the new cut's own step leaves it) is put by that step's next
// round, without waiting for the sweeper.
func TestSessionCutAddedWhileApplying(t *testing.T) {
	f := withTenant(t)
	ga := f.approvedGrant(alice, bucketWrite(acct2))
	gb := f.approvedGrant(bob, bucketWrite(acct2))
	ps := ga.Assignments[0].PermissionSetARN
	must(f.svc.RevokeGrant(f.ctx, ada, ga.ID, "", nil))(t)
	must(f.svc.RevokeGrant(f.ctx, ada, gb.ID, "", nil))(t)
	var once sync.Once
	f.ic.OnPutInlinePolicy(func() { once.Do(func() { f.deprovision(tenantA, gb.ID) }) })
	f.deprovision(tenantA, ga.ID)
	for _, g := range []access.Grant{ga, gb} {
		if r := f.grant(tenantA, g.ID).Revocation; r == nil || r.Method != access.CutDone {
			t.Errorf("receipt of %s = %+v, want session_cut without a sweep", g.ID, r)
		}
	}
	policy, _ := f.ic.InlinePolicy(f.ctx, instanceARN, ps)
	if sids, _ := statements(t, policy); len(cutSids(sids)) != 2 {
		t.Errorf("policy %s, want both cuts", policy)
	}
}

// The permit's @end_sessions wins over the tenant's setting, never over the
// operator's boundary.
func TestSessionCutAnnotation(t *testing.T) {
	const policies = `
@id("bucket-keep") @approval("auto") @end_sessions("false")
permit (principal, action == Elevate::Action::"request", resource is Elevate::S3Bucket);

@id("account-cut") @approval("auto") @end_sessions("true")
permit (principal, action == Elevate::Action::"request", resource is Elevate::Account);
`
	for _, tc := range []struct {
		name    string
		allowed bool
		in      access.CreateRequestInput
		want    access.CutMethod
	}{
		{"false on a managed set", true, bucketWrite(acct2), access.CutOff},
		{"true on a catalog set the operator allows", true, readOnly(acct1), access.CutDone},
		{"true on a catalog set the operator does not allow", false, readOnly(acct1), access.CutNotPermitted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.tenant(tenantA, func(in *access.NewTenantInput) { in.Boundary.CutSessions = tc.allowed })
			must(f.svc.PutPolicies(f.ctx, ada, policies, 1))(t)
			g := f.revoke(f.activeGrant(alice, tc.in))
			if g.EndSessions == "" || g.Revocation == nil || g.Revocation.Method != tc.want {
				t.Fatalf("grant end_sessions %q, receipt %+v, want %s", g.EndSessions, g.Revocation, tc.want)
			}
		})
	}
}

// Identity Center takes an inline policy of at most 10,240 bytes (without
// whitespace) in the characters U+0009, U+000A, U+000D and U+0020 to
// U+00FF, and the recording fake refuses anything else as it does. Cuts
// beyond the limit are refused one by one (none_policy_full) while the
// others land; a user name outside Latin-1 is escaped, and the wildcards
// of a user name are matched literally, so that a user called "*" denies
// nobody else.
func TestSessionCutFitsIdentityCenterLimits(t *testing.T) {
	f := newFixture(t)
	f.tenant(tenantA, func(in *access.NewTenantInput) {
		in.Settings.EndSessions = access.EndSessionsAll
		in.Boundary.CutSessions = true
	})
	methods := map[access.CutMethod]int{}
	for range 45 {
		g := f.revoke(f.activeGrant(alice, readOnly(acct1)))
		methods[g.Revocation.Method]++
	}
	if methods[access.CutDone] < 30 || methods[access.CutPolicyFull] == 0 || methods[access.CutDone]+methods[access.CutPolicyFull] != 45 {
		t.Errorf("receipts %v: want most cuts made and the ones that do not fit refused, none left pending", methods)
	}

	for _, name := range []string{"田中", "*", "a?b$c"} {
		f.clock.Advance(2 * time.Hour) // the earlier cuts end, and the sweep takes them out
		must(f.op.Sweep(f.ctx))(t)
		g := f.revoke(f.activeGrant(user(tenantA, name, access.RoleRequester, "engineering"), readOnly(acct1)))
		if g.Revocation == nil || g.Revocation.Method != access.CutDone {
			t.Fatalf("%s: receipt %+v, want the cut made", name, g.Revocation)
		}
		policy, _ := f.ic.InlinePolicy(f.ctx, instanceARN, psReadOnly)
		_, by := statements(t, policy)
		var userid any
		for _, st := range by {
			userid = st["Condition"].(map[string]any)["StringLike"].(map[string]any)["aws:userid"]
		}
		want := map[string]string{"田中": "*:田中", "*": "*:${*}", "a?b$c": "*:a${?}b${$}c"}[name]
		if userid != want {
			t.Errorf("%s: aws:userid %v, want %q", name, userid, want)
		}
	}
}

// A permission set that is gone (the sweeper deletes managed sets no grant
// uses) took its roles, and their sessions, with it: its cuts are over.
// Before, every later sweep failed on it for good and reported a
// session_cut_failed each time, and the pending receipt never settled.
func TestSessionCutOfAPermissionSetThatIsGone(t *testing.T) {
	f := withTenant(t)
	g := f.approvedGrant(alice, bucketWrite(acct2))
	f.ic.FailProvisioning(func(string) bool { return true })
	g = f.revoke(g)
	if g.Revocation == nil || g.Revocation.Method != access.CutPending {
		t.Fatalf("receipt %+v, want session_cut_pending", g.Revocation)
	}
	ps := g.Assignments[0].PermissionSetARN
	f.ic.RemovePermissionSet(ps)
	f.clock.Advance(time.Minute)
	if rep := must(f.op.Sweep(f.ctx))(t); len(rep.Problems) != 0 {
		t.Errorf("sweep after the set went: problems %q", rep.Problems)
	}
	if r := f.grant(tenantA, g.ID).Revocation; r.Method != access.CutSessionsEnded {
		t.Errorf("receipt %+v, want none_sessions_ended", r)
	}
	if _, err := f.store.(access.CutStore).GetCutSet(f.ctx, access.CutSetKey{InstanceARN: instanceARN, PermissionSetARN: ps}); err == nil {
		t.Error("the cuts of a permission set that is gone are still kept")
	}
}
