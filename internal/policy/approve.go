package policy

import (
	"time"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
)

// ApproveRequest asks whether Approver may approve or deny a pending request.
type ApproveRequest struct {
	Approver User
	Request  RequestInfo
	Time     time.Time      // when the approver acts
	Location *time.Location // tenant time zone; nil means UTC
	// Escalated is true once the request's @escalate_after has passed
	// (context.escalated).
	Escalated bool
}

// RequestInfo is the pending request as policies see it (Elevate::Request).
// The IdentityStoreID fields are the Identity Store users the requester and
// grantee resolved to ("" for none): the self-approval rule compares them
// too, so an alias of yourself is still you.
type RequestInfo struct {
	ID, Requester, Grantee                           string
	RequesterIdentityStoreID, GranteeIdentityStoreID string
	Resource                                         Resource
	Action                                           string
	DurationSeconds                                  int64
	BreakGlass, Delegated                            bool
	Justification                                    string
}

// MayApprove evaluates the approve action for this approver on this request;
// only Allowed, Determining, Notices and Errors of the Decision are used.
//
// Whatever the policies say, nobody may approve a request they made or will
// receive: such a decision is always denied.
func (s *Set) MayApprove(r ApproveRequest) Decision {
	ents, req, grantee := s.approveEnv(r)
	dec, diag := cedar.Authorize(ents, ents, req)
	d, _ := s.outcome(dec, diag, noticeNoApprovePermit)
	if d.Allowed && selfApproval(r.Approver, r.Request, grantee) {
		return Decision{Notices: []string{noticeSelfApproval}}
	}
	return d
}

// approveEnv builds the entities, candidate policies and Cedar request of an
// approval, and says who receives the access.
func (s *Set) approveEnv(r ApproveRequest) (*env, cedar.Request, string) {
	req := r.Request
	grantee := req.Grantee
	if grantee == "" {
		grantee = req.Requester
	}
	accountID := req.Resource.AccountID
	switch k, ok := resourceKinds[req.Resource.Type]; {
	case ok && k.account == accountSelf && accountID == "":
		accountID = req.Resource.ID
	case ok && k.account == accountNone:
		accountID = ""
	}

	ents := &env{policies: s.approve}
	ents.setPrincipal(r.Approver)
	ents.resource = types.Entity{
		UID: types.NewEntityUID(typeRequest, types.String(req.ID)),
		Attributes: types.NewRecord(types.RecordMap{
			"requester":        types.NewEntityUID(typeUser, types.String(req.Requester)),
			"grantee":          types.NewEntityUID(typeUser, types.String(grantee)),
			"action":           types.String(req.Action),
			"duration_seconds": types.Long(req.DurationSeconds),
			"break_glass":      types.Boolean(req.BreakGlass),
			"delegated":        types.Boolean(req.Delegated || grantee != req.Requester),
			"justification":    types.String(req.Justification),
			"resource_type":    types.String(req.Resource.Type),
			"resource_id":      types.String(req.Resource.ID),
			"account_id":       types.String(accountID),
		}),
	}
	hour, weekday := localClock(r.Time, r.Location)
	return ents, cedar.Request{
		Principal: ents.principal.UID,
		Action:    actionApprove,
		Resource:  ents.resource.UID,
		Context: types.NewRecord(types.RecordMap{
			"hour":      hour,
			"weekday":   weekday,
			"escalated": types.Boolean(r.Escalated),
		}),
	}, grantee
}

// selfApproval reports whether the approver made or will receive the
// request: the same user id, or the same Identity Store user.
func selfApproval(approver User, req RequestInfo, grantee string) bool {
	if approver.ID == req.Requester || approver.ID == grantee {
		return true
	}
	uid := approver.IdentityStoreID
	return uid != "" && (uid == req.RequesterIdentityStoreID || uid == req.GranteeIdentityStoreID)
}
