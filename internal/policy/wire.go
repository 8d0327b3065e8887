package policy

// The case file format: the JSON that `elevate policy test` reads (see
// ParseCases). These are the package's only wire types; decisions themselves
// are plain Go values that the API renders in its own shapes.

// Cases is a table of would-be requests and the decisions a policy set must
// give them: the file `elevate policy test` reads, so tenants can test a
// policy change in their CI before they upload it.
type Cases struct {
	// TimeZone is the tenant's time zone for every case (default UTC).
	TimeZone string `json:"time_zone"`
	Cases    []Case `json:"cases"`
}

// Case is one row of the table: either a request or an approval, and what
// is expected of it.
type Case struct {
	Name    string       `json:"name"`
	Request *CaseRequest `json:"request,omitempty"`
	Approve *CaseApprove `json:"approve,omitempty"`
	Expect  Expect       `json:"expect"`
}

// CaseUser is a principal of a case.
type CaseUser struct {
	ID     string   `json:"id"`
	Groups []string `json:"groups"`
}

// CaseResource is the resource of a case, with its OU ancestors.
type CaseResource struct {
	Type      string   `json:"type"`
	ID        string   `json:"id"`
	AccountID string   `json:"account_id"`
	Region    string   `json:"region"`
	Ancestors []string `json:"ancestors"`
}

// CaseRequest is a would-be request.
type CaseRequest struct {
	Principal       CaseUser     `json:"principal"`
	Resource        CaseResource `json:"resource"`
	Action          string       `json:"action"`
	DurationSeconds int64        `json:"duration_seconds"`
	Justification   string       `json:"justification"`
	GranteeID       string       `json:"grantee_id"`
	BreakGlass      bool         `json:"break_glass"`
	// BreakGlassSuspended is context.break_glass_suspended: the grantee's
	// break-glass is suspended after a review.
	BreakGlassSuspended bool `json:"break_glass_suspended"`
	// Time is an RFC 3339 time; empty means 2026-01-05T12:00:00Z (a Monday noon).
	Time string `json:"time"`
}

// CaseApprove asks whether an approver may decide a request.
type CaseApprove struct {
	Approver CaseUser    `json:"approver"`
	Request  CaseRequest `json:"request"`
}

// Expect is what a case must get. Empty fields are not checked.
type Expect struct {
	// Decision is "allow" or "deny".
	Decision string `json:"decision"`
	// ApprovalMode is "auto", "require" or "break_glass".
	ApprovalMode      string `json:"approval_mode"`
	ApprovalsRequired int    `json:"approvals_required"`
	// Determining lists policy ids that must be among the determining ones.
	Determining []string `json:"determining"`
	// NoticesContain lists texts that must each appear in some notice.
	NoticesContain []string `json:"notices_contain"`
}
