package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/google/uuid"
)

// object is one object of a kind written with revisions.
type object struct {
	// write returns a change writing the object at revision rev, with note in
	// one of its text fields.
	write func(rev int64, note string) access.Change
	// read returns the stored revision and note.
	read func(ctx context.Context) (rev int64, note string, err error)
}

// kinds are the kinds of object written with revisions; new makes a fresh
// object of the kind in a tenant of store s.
var kinds = []struct {
	name string
	new  func(s access.Store, tenantID string) object
}{
	{"tenant", func(s access.Store, _ string) object {
		v := newTenant()
		return object{
			write: func(rev int64, note string) access.Change {
				w := v
				w.Revision, w.Name = rev, note
				return access.Change{Tenants: []access.Tenant{w}}
			},
			read: func(ctx context.Context) (int64, string, error) {
				got, err := s.GetTenant(ctx, v.ID)
				return got.Revision, got.Name, err
			},
		}
	}},
	{"request", func(s access.Store, tenantID string) object {
		v := newRequest(tenantID, base)
		return object{
			write: func(rev int64, note string) access.Change {
				w := v
				w.Revision, w.Reasoning = rev, note
				return access.Change{Requests: []access.Request{w}}
			},
			read: func(ctx context.Context) (int64, string, error) {
				got, err := s.GetRequest(ctx, tenantID, v.ID)
				return got.Revision, got.Reasoning, err
			},
		}
	}},
	{"grant", func(s access.Store, tenantID string) object {
		v := newGrant(tenantID, base)
		return object{
			write: func(rev int64, note string) access.Change {
				w := v
				w.Revision, w.Reasoning = rev, note
				return access.Change{Grants: []access.Grant{w}}
			},
			read: func(ctx context.Context) (int64, string, error) {
				got, err := s.GetGrant(ctx, tenantID, v.ID)
				return got.Revision, got.Reasoning, err
			},
		}
	}},
	{"api key", func(s access.Store, tenantID string) object {
		v := newAPIKey(tenantID, base)
		return object{
			write: func(rev int64, note string) access.Change {
				w := v
				w.Revision, w.Name = rev, note
				return access.Change{APIKeys: []access.APIKey{w}}
			},
			read: func(ctx context.Context) (int64, string, error) {
				got, err := s.GetAPIKey(ctx, v.ID)
				return got.Revision, got.Name, err
			},
		}
	}},
	{"ledger entry", func(s access.Store, tenantID string) object {
		v := newLedgerEntry(tenantID, base)
		return object{
			write: func(rev int64, note string) access.Change {
				w := v
				w.Revision, w.OperationID = rev, note
				return access.Change{Ledger: []access.LedgerEntry{w}}
			},
			read: func(ctx context.Context) (int64, string, error) {
				got, err := ledger(s).GetLedgerEntry(ctx, v.Key)
				return got.Revision, got.OperationID, err
			},
		}
	}},
}

// ledger is a store's ledger: every store keeps the deployment's ledger too.
func ledger(s access.Store) access.LedgerStore { return s.(access.LedgerStore) }

// wantStored fails the test unless o is stored at rev with note.
func wantStored(t *testing.T, o object, rev int64, note string) {
	t.Helper()
	gotRev, gotNote, err := o.read(t.Context())
	if err != nil || gotRev != rev || gotNote != note {
		t.Errorf("read: revision %d, note %q, error %v; want revision %d, note %q", gotRev, gotNote, err, rev, note)
	}
}

// testRevisions checks the revision rule: 1 creates, n replaces n-1.
func testRevisions(t *testing.T, s access.Store) {
	ctx := t.Context()
	tenantID := uuid.NewString()
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			o := k.new(s, tenantID)
			commit(t, s, o.write(1, "first"))
			wantStored(t, o, 1, "first")
			wantErr(t, "create again", s.Commit(ctx, o.write(1, "again")), access.ErrStale)
			wantErr(t, "skip revision 2", s.Commit(ctx, o.write(3, "skip")), access.ErrStale)
			wantStored(t, o, 1, "first")

			commit(t, s, o.write(2, "second"))
			wantStored(t, o, 2, "second")
			wantErr(t, "write revision 2 again", s.Commit(ctx, o.write(2, "again")), access.ErrStale)
			wantErr(t, "go back to revision 1", s.Commit(ctx, o.write(1, "back")), access.ErrStale)
			wantStored(t, o, 2, "second")

			missing := k.new(s, tenantID)
			wantErr(t, "update a missing object", s.Commit(ctx, missing.write(2, "missing")), access.ErrStale)
			_, _, err := missing.read(ctx)
			wantErr(t, "read the missing object", err, access.ErrNotFound)
		})
	}
}

// testWriteOnce checks that policy set versions and audit events are never
// overwritten.
func testWriteOnce(t *testing.T, s access.Store) {
	ctx := t.Context()
	tenantID := uuid.NewString()

	v1 := newPolicySet(tenantID, 1)
	commit(t, s, access.Change{PolicySets: []access.PolicySet{v1}})
	again := newPolicySet(tenantID, 1)
	again.Text = "forbid (principal, action, resource);"
	wantErr(t, "write policy version 1 again", s.Commit(ctx, access.Change{PolicySets: []access.PolicySet{again}}), access.ErrStale)
	got, err := s.GetPolicySet(ctx, tenantID, 1)
	if err != nil {
		t.Fatalf("GetPolicySet: %v", err)
	}
	same(t, "policy version 1", v1, got)
	commit(t, s, access.Change{PolicySets: []access.PolicySet{newPolicySet(tenantID, 2)}})

	e := newAuditEvent(tenantID, base)
	commit(t, s, access.Change{Audit: []access.AuditEvent{e}})
	dup := e
	dup.Action = "request.approved"
	wantErr(t, "append an audit event id again", s.Commit(ctx, access.Change{Audit: []access.AuditEvent{dup}}), access.ErrStale)
	page, err := s.ListAuditEvents(ctx, tenantID, access.PageRequest{Limit: 10})
	if err != nil {
		t.Fatalf("ListAuditEvents: %v", err)
	}
	if len(page.Items) != 1 {
		t.Fatalf("ListAuditEvents: %d events, want 1", len(page.Items))
	}
	same(t, "audit event", e, page.Items[0])
}

// testLedgerDelete checks that a ledger entry with Deleted set removes the
// entry under the revision rule, and that the assignment can be claimed
// again afterwards.
func testLedgerDelete(t *testing.T, s access.Store) {
	ctx := t.Context()
	e := newLedgerEntry(uuid.NewString(), base)
	commit(t, s, access.Change{Ledger: []access.LedgerEntry{e}})
	del := e
	del.Deleted, del.Revision = true, 3
	wantErr(t, "delete with a stale revision", s.Commit(ctx, access.Change{Ledger: []access.LedgerEntry{del}}), access.ErrStale)
	if _, err := ledger(s).GetLedgerEntry(ctx, e.Key); err != nil {
		t.Fatalf("entry after a failed delete: %v", err)
	}
	del.Revision = 2
	commit(t, s, access.Change{Ledger: []access.LedgerEntry{del}})
	_, err := ledger(s).GetLedgerEntry(ctx, e.Key)
	wantErr(t, "entry after delete", err, access.ErrNotFound)
	wantErr(t, "delete again", s.Commit(ctx, access.Change{Ledger: []access.LedgerEntry{del}}), access.ErrStale)

	again := newLedgerEntry(uuid.NewString(), base.Add(time.Hour))
	again.Key = e.Key
	commit(t, s, access.Change{Ledger: []access.LedgerEntry{again}})
	got, err := ledger(s).GetLedgerEntry(ctx, e.Key)
	if err != nil {
		t.Fatalf("GetLedgerEntry: %v", err)
	}
	same(t, "entry created again", again, got)
}

// testRoundTrip writes each kind with every field set, then an update of it,
// and checks that reads return what was written.
func testRoundTrip(t *testing.T, s access.Store) {
	ctx := t.Context()
	tenantID := uuid.NewString()

	t.Run("tenant", func(t *testing.T) {
		v := newTenant()
		filled(t, v)
		commit(t, s, access.Change{Tenants: []access.Tenant{v}})
		got, err := s.GetTenant(ctx, v.ID)
		if err != nil {
			t.Fatalf("GetTenant: %v", err)
		}
		same(t, "created", v, got)

		v.Revision, v.Name, v.PolicyVersion, v.UpdatedAt = 2, "Acme Payments EU", 4, base.Add(time.Hour)
		v.Settings.GroupRoles = map[string]access.Role{"sre": access.RoleApprover}
		v.Settings.AllowedRoots = append(v.Settings.AllowedRoots, paymentsAcct)
		v.Boundary.Assignable = v.Boundary.Assignable[:1]
		v.Settings.ApprovalWindow = 90 * time.Minute
		v.Catalog[access.ResourceAccount] = v.Catalog[access.ResourceAccount][:1]
		commit(t, s, access.Change{Tenants: []access.Tenant{v}})
		got, err = s.GetTenant(ctx, v.ID)
		if err != nil {
			t.Fatalf("GetTenant: %v", err)
		}
		same(t, "updated", v, got)
	})

	t.Run("request", func(t *testing.T) {
		v := newRequest(tenantID, base)
		filled(t, v)
		commit(t, s, access.Change{Requests: []access.Request{v}})
		checkRequest(t, s, "created", v)

		v.Revision, v.Status, v.UpdatedAt = 2, access.RequestApproved, base.Add(time.Hour)
		v.Approvals = append(v.Approvals, access.Approval{ApproverID: "dave@example.com", Reasoning: "second approval", At: base.Add(time.Hour)})
		v.Notices = v.Notices[:1]
		v.Metadata = map[string]any{"ticket": "INC-4822", "pager": map[string]any{"escalated": false, "responders": []any{}}}
		commit(t, s, access.Change{Requests: []access.Request{v}})
		checkRequest(t, s, "updated", v)
	})

	t.Run("grant", func(t *testing.T) {
		v := newGrant(tenantID, base)
		filled(t, v)
		commit(t, s, access.Change{Grants: []access.Grant{v}})
		checkGrant(t, s, "created", v)

		v.Revision, v.Status, v.Generation, v.UpdatedAt = 2, access.GrantRevoking, 3, base.Add(time.Hour)
		v.Assignments = v.Assignments[1:]
		v.Metadata = nil
		commit(t, s, access.Change{Grants: []access.Grant{v}})
		checkGrant(t, s, "updated", v)
	})

	t.Run("api key", func(t *testing.T) {
		v := newAPIKey(tenantID, base)
		filled(t, v)
		commit(t, s, access.Change{APIKeys: []access.APIKey{v}})
		got, err := s.GetAPIKey(ctx, v.ID)
		if err != nil {
			t.Fatalf("GetAPIKey: %v", err)
		}
		same(t, "GetAPIKey", v, got)
		page, err := s.ListAPIKeys(ctx, tenantID, access.PageRequest{Limit: 10})
		if err != nil || len(page.Items) != 1 {
			t.Fatalf("ListAPIKeys: %d keys, error %v; want 1", len(page.Items), err)
		}
		same(t, "ListAPIKeys", v, page.Items[0])
	})

	t.Run("audit event", func(t *testing.T) {
		v := newAuditEvent(tenantID, base)
		filled(t, v)
		commit(t, s, access.Change{Audit: []access.AuditEvent{v}})
		page, err := s.ListAuditEvents(ctx, tenantID, access.PageRequest{Limit: 10})
		if err != nil || len(page.Items) != 1 {
			t.Fatalf("ListAuditEvents: %d events, error %v; want 1", len(page.Items), err)
		}
		same(t, "ListAuditEvents", v, page.Items[0])
	})

	t.Run("policy set", func(t *testing.T) {
		v := newPolicySet(tenantID, 7)
		filled(t, v)
		commit(t, s, access.Change{PolicySets: []access.PolicySet{v}})
		got, err := s.GetPolicySet(ctx, tenantID, 7)
		if err != nil {
			t.Fatalf("GetPolicySet: %v", err)
		}
		same(t, "GetPolicySet", v, got)
	})

	t.Run("ledger entry", func(t *testing.T) {
		v := newLedgerEntry(tenantID, base)
		filled(t, v, "LedgerEntry.Deleted")
		commit(t, s, access.Change{Ledger: []access.LedgerEntry{v}})
		got, err := ledger(s).GetLedgerEntry(ctx, v.Key)
		if err != nil {
			t.Fatalf("GetLedgerEntry: %v", err)
		}
		same(t, "created", v, got)

		v.Revision, v.State, v.Holders, v.UpdatedAt = 2, access.LedgerDeleting, v.Holders[:1], base.Add(time.Hour)
		commit(t, s, access.Change{Ledger: []access.LedgerEntry{v}})
		got, err = ledger(s).GetLedgerEntry(ctx, v.Key)
		if err != nil {
			t.Fatalf("GetLedgerEntry: %v", err)
		}
		same(t, "updated", v, got)
	})
}

// checkRequest fails the test unless the store returns want, by id and in
// its tenant's list.
func checkRequest(t *testing.T, s access.Store, what string, want access.Request) {
	t.Helper()
	got, err := s.GetRequest(t.Context(), want.TenantID, want.ID)
	if err != nil {
		t.Fatalf("%s: GetRequest: %v", what, err)
	}
	same(t, what+": GetRequest", want, got)
	page, err := s.ListRequests(t.Context(), want.TenantID, access.RequestFilter{}, access.PageRequest{Limit: 10})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("%s: ListRequests: %d requests, error %v; want 1", what, len(page.Items), err)
	}
	same(t, what+": ListRequests", want, page.Items[0])
}

// checkGrant fails the test unless the store returns want, by id and in its
// tenant's list.
func checkGrant(t *testing.T, s access.Store, what string, want access.Grant) {
	t.Helper()
	got, err := s.GetGrant(t.Context(), want.TenantID, want.ID)
	if err != nil {
		t.Fatalf("%s: GetGrant: %v", what, err)
	}
	same(t, what+": GetGrant", want, got)
	page, err := s.ListGrants(t.Context(), want.TenantID, access.GrantFilter{}, access.PageRequest{Limit: 10})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("%s: ListGrants: %d grants, error %v; want 1", what, len(page.Items), err)
	}
	same(t, what+": ListGrants", want, page.Items[0])
}

// testCopies checks that the store shares no memory with its callers:
// changing nested values of an object after Commit, or of one a read
// returned, changes nothing stored.
func testCopies(t *testing.T, s access.Store) {
	ctx := t.Context()
	tenantID := uuid.NewString()

	t.Run("tenant", func(t *testing.T) {
		v := newTenant()
		checkCopies(t, s, v, access.Change{Tenants: []access.Tenant{v}},
			func() (access.Tenant, error) { return s.GetTenant(ctx, v.ID) },
			func(v *access.Tenant) {
				v.Settings.GroupRoles["aws-admins"] = access.RoleRequester
				v.Boundary.AllowedRoots[0] = "r-zzzz"
				v.Boundary.Assignable[0] = adminSet
				v.Settings.AllowedRoots[0] = "ou-zzzz-zzzzzzzz"
				v.Catalog[access.ResourceAccount][0].PermissionSetARN = adminSet
			})
	})
	t.Run("request", func(t *testing.T) {
		v := newRequest(tenantID, base)
		checkCopies(t, s, v, access.Change{Requests: []access.Request{v}},
			func() (access.Request, error) { return s.GetRequest(ctx, tenantID, v.ID) },
			mutateRequest)
	})
	t.Run("request list", func(t *testing.T) {
		v := newRequest(uuid.NewString(), base)
		checkCopies(t, s, v, access.Change{Requests: []access.Request{v}},
			func() (access.Request, error) {
				p, err := s.ListRequests(ctx, v.TenantID, access.RequestFilter{}, access.PageRequest{Limit: 1})
				if err != nil || len(p.Items) == 0 {
					return access.Request{}, err
				}
				return p.Items[0], nil
			},
			mutateRequest)
	})
	t.Run("grant", func(t *testing.T) {
		v := newGrant(tenantID, base)
		checkCopies(t, s, v, access.Change{Grants: []access.Grant{v}},
			func() (access.Grant, error) { return s.GetGrant(ctx, tenantID, v.ID) },
			func(v *access.Grant) {
				v.Assignments[0].State = access.AssignmentDeleted
				v.Notices[0] = "changed"
				v.Metadata["window"].(map[string]any)["end"] = "23:59"
			})
	})
	t.Run("api key", func(t *testing.T) {
		v := newAPIKey(tenantID, base)
		checkCopies(t, s, v, access.Change{APIKeys: []access.APIKey{v}},
			func() (access.APIKey, error) { return s.GetAPIKey(ctx, v.ID) },
			func(v *access.APIKey) {
				v.SecretHash[0] ^= 0xff
				v.Groups[0] = "aws-admins"
			})
	})
	t.Run("audit event", func(t *testing.T) {
		v := newAuditEvent(tenantID, base)
		checkCopies(t, s, v, access.Change{Audit: []access.AuditEvent{v}},
			func() (access.AuditEvent, error) {
				p, err := s.ListAuditEvents(ctx, tenantID, access.PageRequest{Limit: 1})
				if err != nil || len(p.Items) == 0 {
					return access.AuditEvent{}, err
				}
				return p.Items[0], nil
			},
			func(v *access.AuditEvent) {
				v.Details["resource"].(map[string]any)["id"] = "999999999999"
				v.Details["notices"].([]any)[0] = "changed"
			})
	})
	t.Run("ledger entry", func(t *testing.T) {
		v := newLedgerEntry(tenantID, base)
		checkCopies(t, s, v, access.Change{Ledger: []access.LedgerEntry{v}},
			func() (access.LedgerEntry, error) { return ledger(s).GetLedgerEntry(ctx, v.Key) },
			func(v *access.LedgerEntry) { v.Holders[0].GrantID = "someone else" })
	})
	t.Run("idempotency record", func(t *testing.T) {
		r := newRequest(tenantID, base)
		v := newIdempotency(tenantID, access.Outcome{Request: &r})
		checkCopies(t, s, v, access.Change{Idempotency: &v},
			func() (access.IdempotencyRecord, error) { return s.GetIdempotency(ctx, v.Scope) },
			func(v *access.IdempotencyRecord) {
				v.Outcome.Request.Status = access.RequestDenied
				mutateRequest(v.Outcome.Request)
			})
	})
}

// mutateRequest changes values nested in a request.
func mutateRequest(v *access.Request) {
	v.Approvals[0].Reasoning = "changed"
	v.Notices[0] = "changed"
	v.Metadata["labels"].([]any)[0] = "changed"
	v.Metadata["pager"].(map[string]any)["escalated"] = false
	v.Metadata["pager"].(map[string]any)["responders"].([]any)[0].(map[string]any)["id"] = "mallory@example.com"
}

// checkCopies commits c, which writes v, then changes v's nested values with
// mutate and checks that get still returns what was written; then it does
// the same to what get returned.
func checkCopies[T any](t *testing.T, s access.Store, v T, c access.Change, get func() (T, error), mutate func(*T)) {
	t.Helper()
	want := clone(t, v)
	commit(t, s, c)
	mutate(&v)
	got, err := get()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	same(t, "after changing the committed object", want, got)
	mutate(&got)
	again, err := get()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	same(t, "after changing a returned object", want, again)
}

// testAtomicity commits changes that carry valid writes of every kind and
// one write that must fail, and checks that none of the valid writes landed.
func testAtomicity(t *testing.T, s access.Store) {
	ctx := t.Context()
	holder := newTenant() // holds a JWT issuer pair
	other := newTenant()
	tenantID := holder.ID
	req := newRequest(tenantID, base)
	kept := newRequest(tenantID, base) // updated by every change below
	grant := newGrant(tenantID, base)
	key := newAPIKey(tenantID, base)
	policy := newPolicySet(tenantID, 1)
	entry := newLedgerEntry(tenantID, base)
	event := newAuditEvent(tenantID, base)
	taken := newIdempotency(tenantID, access.Outcome{Request: &req})
	commit(t, s, access.Change{
		Tenants:  []access.Tenant{holder, other},
		Requests: []access.Request{req, kept}, Grants: []access.Grant{grant}, APIKeys: []access.APIKey{key},
		PolicySets: []access.PolicySet{policy}, Ledger: []access.LedgerEntry{entry},
		Audit: []access.AuditEvent{event}, Idempotency: &taken,
	})

	staleTenant, staleReq, staleGrant, staleEntry := other, req, grant, entry
	staleTenant.Revision, staleReq.Revision, staleGrant.Revision, staleEntry.Revision = 3, 3, 5, 4
	sameIssuer := newTenant()
	sameIssuer.Settings.JWT = holder.Settings.JWT
	retaken := newIdempotency(tenantID, access.Outcome{Request: &kept})
	retaken.Scope = taken.Scope

	poisons := []struct {
		name   string
		poison access.Change
		want   error
	}{
		{"stale tenant", access.Change{Tenants: []access.Tenant{staleTenant}}, access.ErrStale},
		{"stale request", access.Change{Requests: []access.Request{staleReq}}, access.ErrStale},
		{"stale grant", access.Change{Grants: []access.Grant{staleGrant}}, access.ErrStale},
		{"existing api key", access.Change{APIKeys: []access.APIKey{key}}, access.ErrStale},
		{"existing policy version", access.Change{PolicySets: []access.PolicySet{policy}}, access.ErrStale},
		{"stale ledger entry", access.Change{Ledger: []access.LedgerEntry{staleEntry}}, access.ErrStale},
		{"existing audit event", access.Change{Audit: []access.AuditEvent{event}}, access.ErrStale},
		{"taken idempotency key", access.Change{Idempotency: &retaken}, access.ErrIdempotencyTaken},
		{"JWT issuer of another tenant", access.Change{Tenants: []access.Tenant{sameIssuer}}, access.ErrUnique},
	}
	for _, p := range poisons {
		t.Run(p.name, func(t *testing.T) {
			holder2 := holder
			holder2.Revision, holder2.Name = 2, "renamed"
			kept2 := kept
			kept2.Revision, kept2.Status = 2, access.RequestCancelled
			r := newRequest(tenantID, base.Add(time.Hour))
			g := newGrant(tenantID, base.Add(time.Hour))
			k := newAPIKey(tenantID, base.Add(time.Hour))
			e := newLedgerEntry(tenantID, base.Add(time.Hour))
			ev := newAuditEvent(tenantID, base.Add(time.Hour))
			rec := newIdempotency(tenantID, access.Outcome{Request: &r})
			c := access.Change{
				Tenants:     append([]access.Tenant{holder2}, p.poison.Tenants...),
				Requests:    append([]access.Request{r, kept2}, p.poison.Requests...),
				Grants:      append([]access.Grant{g}, p.poison.Grants...),
				APIKeys:     append([]access.APIKey{k}, p.poison.APIKeys...),
				PolicySets:  append([]access.PolicySet{newPolicySet(tenantID, 2)}, p.poison.PolicySets...),
				Ledger:      append([]access.LedgerEntry{e}, p.poison.Ledger...),
				Audit:       append([]access.AuditEvent{ev}, p.poison.Audit...),
				Idempotency: &rec,
			}
			if p.poison.Idempotency != nil {
				c.Idempotency = p.poison.Idempotency
			}
			wantErr(t, "Commit", s.Commit(ctx, c), p.want)

			if got, err := s.GetTenant(ctx, holder.ID); err != nil || got.Revision != 1 {
				t.Errorf("tenant update landed: revision %d, error %v", got.Revision, err)
			}
			if got, err := s.GetRequest(ctx, tenantID, kept.ID); err != nil || got.Revision != 1 {
				t.Errorf("request update landed: revision %d, error %v", got.Revision, err)
			}
			_, err := s.GetRequest(ctx, tenantID, r.ID)
			wantErr(t, "new request", err, access.ErrNotFound)
			_, err = s.GetGrant(ctx, tenantID, g.ID)
			wantErr(t, "new grant", err, access.ErrNotFound)
			_, err = s.GetAPIKey(ctx, k.ID)
			wantErr(t, "new api key", err, access.ErrNotFound)
			_, err = s.GetPolicySet(ctx, tenantID, 2)
			wantErr(t, "new policy version", err, access.ErrNotFound)
			_, err = ledger(s).GetLedgerEntry(ctx, e.Key)
			wantErr(t, "new ledger entry", err, access.ErrNotFound)
			_, err = s.GetIdempotency(ctx, rec.Scope)
			wantErr(t, "new idempotency record", err, access.ErrNotFound)
			if got, err := s.GetIdempotency(ctx, taken.Scope); err != nil || got.BodyHash != taken.BodyHash {
				t.Errorf("the existing idempotency record changed: %+v, error %v", got, err)
			}
			if _, err := s.GetTenant(ctx, sameIssuer.ID); err == nil {
				t.Errorf("the tenant with a taken issuer was created")
			}
			events, err := s.ListAuditEvents(ctx, tenantID, access.PageRequest{Limit: 10})
			if err != nil || len(events.Items) != 1 || events.Items[0].ID != event.ID {
				t.Errorf("audit events after a failed commit: %d, error %v; want only the first", len(events.Items), err)
			}
		})
	}
}

// testIssuerUniqueness checks that a JWT (issuer, audience) pair belongs to
// at most one tenant, and that TenantIDForIssuer finds it.
func testIssuerUniqueness(t *testing.T, s access.Store) {
	ctx := t.Context()
	wantTenant := func(t *testing.T, jwt access.JWTSettings, id string) {
		t.Helper()
		got, err := s.TenantIDForIssuer(ctx, jwt.Issuer, jwt.Audience)
		if err != nil || got != id {
			t.Errorf("TenantIDForIssuer(%q, %q) = %q, %v; want %q", jwt.Issuer, jwt.Audience, got, err, id)
		}
	}
	wantNone := func(t *testing.T, jwt access.JWTSettings) {
		t.Helper()
		_, err := s.TenantIDForIssuer(ctx, jwt.Issuer, jwt.Audience)
		wantErr(t, "TenantIDForIssuer("+jwt.Issuer+", "+jwt.Audience+")", err, access.ErrNotFound)
	}

	a := newTenant()
	commit(t, s, access.Change{Tenants: []access.Tenant{a}})
	wantTenant(t, a.Settings.JWT, a.ID)

	b := newTenant()
	b.Settings.JWT = a.Settings.JWT
	wantErr(t, "second tenant with the same issuer and audience", s.Commit(ctx, access.Change{Tenants: []access.Tenant{b}}), access.ErrUnique)
	_, err := s.GetTenant(ctx, b.ID)
	wantErr(t, "the refused tenant", err, access.ErrNotFound)

	t.Run("pairs differing in one part are distinct", func(t *testing.T) {
		c := newTenant()
		c.Settings.JWT.Issuer, c.Settings.JWT.Audience = a.Settings.JWT.Issuer, "api://elevate-staging"
		d := newTenant() // a's audience, its own issuer
		commit(t, s, access.Change{Tenants: []access.Tenant{c}})
		commit(t, s, access.Change{Tenants: []access.Tenant{d}})
		wantTenant(t, c.Settings.JWT, c.ID)
		wantTenant(t, d.Settings.JWT, d.ID)
		wantTenant(t, a.Settings.JWT, a.ID)
		wantNone(t, access.JWTSettings{Issuer: a.Settings.JWT.Issuer, Audience: "api://unknown"})

		taker := a
		taker.Revision, taker.Settings.JWT = 2, c.Settings.JWT
		wantErr(t, "an update taking another tenant's pair", s.Commit(ctx, access.Change{Tenants: []access.Tenant{taker}}), access.ErrUnique)
		wantTenant(t, c.Settings.JWT, c.ID)
		wantTenant(t, a.Settings.JWT, a.ID)
	})

	t.Run("an update keeps its own pair", func(t *testing.T) {
		a.Revision, a.Name = 2, "Acme Payments Ltd"
		commit(t, s, access.Change{Tenants: []access.Tenant{a}})
		wantTenant(t, a.Settings.JWT, a.ID)
	})

	t.Run("changing the issuer frees the old pair", func(t *testing.T) {
		old := a.Settings.JWT
		a.Revision, a.Settings.JWT.Issuer = 3, "https://acme.okta.com/oauth2/aus9zx1c2v3b4n5m6"
		commit(t, s, access.Change{Tenants: []access.Tenant{a}})
		wantNone(t, old)
		wantTenant(t, a.Settings.JWT, a.ID)
		commit(t, s, access.Change{Tenants: []access.Tenant{b}}) // b asks for a's old pair
		wantTenant(t, old, b.ID)
	})

	t.Run("one change claiming a pair twice", func(t *testing.T) {
		e, f := newTenant(), newTenant()
		f.Settings.JWT = e.Settings.JWT
		wantErr(t, "Commit", s.Commit(ctx, access.Change{Tenants: []access.Tenant{e, f}}), access.ErrUnique)
		wantNone(t, e.Settings.JWT)
	})

	t.Run("tenants without JWT claim nothing", func(t *testing.T) {
		noJWT := access.JWTSettings{GroupsClaim: "groups"}
		g, h := newTenant(), newTenant()
		g.Settings.JWT, h.Settings.JWT = noJWT, noJWT
		commit(t, s, access.Change{Tenants: []access.Tenant{g}})
		commit(t, s, access.Change{Tenants: []access.Tenant{h}})
		wantNone(t, noJWT)
	})
}

// testNotFound checks that every read of a missing object says not found,
// in an empty store and next to stored objects.
func testNotFound(t *testing.T, s access.Store) {
	ctx := t.Context()
	check := func(t *testing.T, tenantID string) {
		t.Helper()
		_, err := s.GetTenant(ctx, uuid.NewString())
		wantErr(t, "GetTenant", err, access.ErrNotFound)
		_, err = s.TenantIDForIssuer(ctx, "https://login.example.com/", "api://elevate")
		wantErr(t, "TenantIDForIssuer", err, access.ErrNotFound)
		_, err = s.GetRequest(ctx, tenantID, uuid.NewString())
		wantErr(t, "GetRequest", err, access.ErrNotFound)
		_, err = s.GetGrant(ctx, tenantID, uuid.NewString())
		wantErr(t, "GetGrant", err, access.ErrNotFound)
		_, err = s.GetAPIKey(ctx, "k7f3a9c1d2b4e6a70000")
		wantErr(t, "GetAPIKey", err, access.ErrNotFound)
		_, err = s.GetIdempotency(ctx, access.IdempotencyScope{TenantID: tenantID, PrincipalID: alice, Route: "POST /v1/requests", Key: uuid.NewString()})
		wantErr(t, "GetIdempotency", err, access.ErrNotFound)
		_, err = s.GetPolicySet(ctx, tenantID, 99)
		wantErr(t, "GetPolicySet", err, access.ErrNotFound)
		_, err = ledger(s).GetLedgerEntry(ctx, newLedgerEntry(tenantID, base).Key)
		wantErr(t, "GetLedgerEntry", err, access.ErrNotFound)
	}
	tenantID := uuid.NewString()
	t.Run("empty store", func(t *testing.T) {
		check(t, tenantID)
		requests, err := s.ListRequests(ctx, tenantID, access.RequestFilter{}, access.PageRequest{Limit: 10})
		if err != nil || len(requests.Items) != 0 || requests.Next != nil {
			t.Errorf("ListRequests of an empty tenant: %d items, Next %v, error %v", len(requests.Items), requests.Next, err)
		}
		events, err := s.ListAuditEvents(ctx, tenantID, access.PageRequest{Limit: 10})
		if err != nil || len(events.Items) != 0 || events.Next != nil {
			t.Errorf("ListAuditEvents of an empty tenant: %d items, Next %v, error %v", len(events.Items), events.Next, err)
		}
	})
	t.Run("next to stored objects", func(t *testing.T) {
		r := newRequest(tenantID, base)
		rec := newIdempotency(tenantID, access.Outcome{Request: &r})
		commit(t, s, access.Change{
			Tenants: []access.Tenant{newTenant()}, Requests: []access.Request{r},
			Grants: []access.Grant{newGrant(tenantID, base)}, APIKeys: []access.APIKey{newAPIKey(tenantID, base)},
			PolicySets: []access.PolicySet{newPolicySet(tenantID, 1)}, Ledger: []access.LedgerEntry{newLedgerEntry(tenantID, base)},
			Idempotency: &rec,
		})
		check(t, tenantID)
	})
}

// testTenantIsolation checks that objects of tenant A cannot be read or
// listed through tenant B, and that the same id in two tenants names two
// objects.
func testTenantIsolation(t *testing.T, s access.Store) {
	ctx := t.Context()
	a, b := newTenant(), newTenant()
	r := newRequest(a.ID, base)
	g := newGrant(a.ID, base)
	k := newAPIKey(a.ID, base)
	commit(t, s, access.Change{
		Tenants: []access.Tenant{a, b}, Requests: []access.Request{r}, Grants: []access.Grant{g},
		APIKeys: []access.APIKey{k}, PolicySets: []access.PolicySet{newPolicySet(a.ID, 1)},
		Audit: []access.AuditEvent{newAuditEvent(a.ID, base)},
	})

	t.Run("reads", func(t *testing.T) {
		_, err := s.GetRequest(ctx, b.ID, r.ID)
		wantErr(t, "GetRequest", err, access.ErrNotFound)
		_, err = s.GetGrant(ctx, b.ID, g.ID)
		wantErr(t, "GetGrant", err, access.ErrNotFound)
		_, err = s.GetPolicySet(ctx, b.ID, 1)
		wantErr(t, "GetPolicySet", err, access.ErrNotFound)
		// Key ids are global: the key is found, and names its tenant for the caller to check.
		if got, err := s.GetAPIKey(ctx, k.ID); err != nil || got.TenantID != a.ID {
			t.Errorf("GetAPIKey: tenant %q, error %v; want %q", got.TenantID, err, a.ID)
		}
	})

	t.Run("lists", func(t *testing.T) {
		page := access.PageRequest{Limit: 250}
		for _, f := range []access.RequestFilter{{}, {Party: alice}, {Party: bob}, {RequesterID: alice}, {GranteeID: bob}, {Statuses: []access.RequestStatus{r.Status}}, {OldestFirst: true}} {
			if p, err := s.ListRequests(ctx, b.ID, f, page); err != nil || len(p.Items) != 0 {
				t.Errorf("ListRequests(B, %+v): %d items, error %v", f, len(p.Items), err)
			}
		}
		for _, f := range []access.GrantFilter{{}, {GranteeID: bob}, {Statuses: []access.GrantStatus{g.Status}}} {
			if p, err := s.ListGrants(ctx, b.ID, f, page); err != nil || len(p.Items) != 0 {
				t.Errorf("ListGrants(B, %+v): %d items, error %v", f, len(p.Items), err)
			}
		}
		if p, err := s.ListAPIKeys(ctx, b.ID, page); err != nil || len(p.Items) != 0 {
			t.Errorf("ListAPIKeys(B): %d items, error %v", len(p.Items), err)
		}
		if p, err := s.ListAuditEvents(ctx, b.ID, page); err != nil || len(p.Items) != 0 {
			t.Errorf("ListAuditEvents(B): %d items, error %v", len(p.Items), err)
		}
	})

	t.Run("same ids in another tenant", func(t *testing.T) {
		r2, g2 := r, g
		r2.TenantID, g2.TenantID = b.ID, b.ID
		r2.Justification, g2.Reasoning = "tenant B", "tenant B"
		commit(t, s, access.Change{
			Requests: []access.Request{r2}, Grants: []access.Grant{g2},
			PolicySets: []access.PolicySet{newPolicySet(b.ID, 1)},
		})
		checkRequest(t, s, "tenant A's request", r)
		checkRequest(t, s, "tenant B's request", r2)
		checkGrant(t, s, "tenant A's grant", g)
		checkGrant(t, s, "tenant B's grant", g2)

		k2 := newAPIKey(b.ID, base)
		k2.ID = k.ID
		wantErr(t, "an api key id of another tenant", s.Commit(ctx, access.Change{APIKeys: []access.APIKey{k2}}), access.ErrStale)
	})
}
