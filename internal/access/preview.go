package access

import "context"

// Preview is what the policies would do with a request: the status it
// would get, how it would be approved and the notices, and nothing stored.
type Preview struct {
	// Status is what the request would become: approved, pending or denied.
	Status            RequestStatus
	ApprovalMode      ApprovalMode
	ApprovalsRequired int
	Notices           []string
	PolicyVersion     int
}

// PreviewRequest answers what CreateRequest would decide for the same
// input, with the same checks, for the caller themselves (requesters may
// call it): no request, grant, audit event or workflow comes of it. Unlike
// the admins' EvaluatePolicies it names no determining policy and takes no
// draft.
func (s *Service) PreviewRequest(ctx context.Context, p Principal, in CreateRequestInput) (Preview, error) {
	t, r, dec, err := s.prepareRequest(ctx, p, in)
	if err != nil {
		return Preview{}, err
	}
	applyDecision(&r, dec, t, r.CreatedAt)
	return Preview{Status: r.Status, ApprovalMode: r.ApprovalMode, ApprovalsRequired: r.ApprovalsRequired,
		Notices: r.Notices, PolicyVersion: r.PolicyVersion}, nil
}
