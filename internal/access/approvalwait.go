package access

import "context"

// Outcome names of an approval wait, as the workflow resumes it.
const (
	OutcomeApproved  = "approved"
	OutcomeDenied    = "denied"
	OutcomeCancelled = "cancelled"
	OutcomeExpired   = "expired"
	OutcomeFailed    = "failed"
)

// ApprovalOutcome says how a request's approval wait ended, and which grant
// to provision when it was approved. A pending request has no outcome yet.
func ApprovalOutcome(r Request) (outcome, grantID string, ended bool) {
	switch r.Status {
	case RequestPending:
		return "", "", false
	case RequestApproved:
		return OutcomeApproved, r.GrantID, true
	case RequestDenied:
		return OutcomeDenied, "", true
	case RequestCancelled:
		return OutcomeCancelled, "", true
	case RequestExpired:
		return OutcomeExpired, "", true
	}
	return OutcomeFailed, "", true
}

// AttachTaskToken records the workflow's handle on a pending request's
// approval wait, so approve, deny and cancel can resume it. When the request
// was decided before the wait began (the decision raced the workflow), the
// token is not stored and the request is returned as it is: the caller then
// resumes the wait itself with ApprovalOutcome, so no decision is lost.
func (s *Steps) AttachTaskToken(ctx context.Context, tenantID, requestID, token string) (Request, error) {
	return retry(func() (Request, error) {
		r, err := s.getRequest(ctx, tenantID, requestID)
		if err != nil || r.Status != RequestPending || r.TaskToken == token {
			return r, err
		}
		r.TaskToken = token
		r.Revision++
		return r, s.commit(ctx, Change{Requests: []Request{r}})
	})
}
