package access

// The actions of audit events (and of the EventBridge events published from
// them, docs/events.md). Consumers route on these strings: never rename one.
const (
	AuditRequestCreated          = "request.created"
	AuditRequestApprovalRecorded = "request.approval_recorded"
	AuditRequestApproved         = "request.approved"
	AuditRequestDenied           = "request.denied"
	AuditRequestCancelled        = "request.cancelled"
	AuditRequestExpired          = "request.expired"
	AuditRequestReminder         = "request.reminder"
	AuditRequestEscalated        = "request.escalated"
	AuditRequestFailed           = "request.failed"
	AuditRequestForwarded        = "request.forwarded"
	AuditGrantCreated            = "grant.created"
	AuditGrantCreatedDirect      = "grant.created_direct"
	AuditGrantStarted            = "grant.started"
	AuditGrantActivated          = "grant.activated"
	AuditGrantExtended           = "grant.extended"
	AuditGrantRevoking           = "grant.revoking"
	AuditGrantExpiring           = "grant.expiring"
	AuditGrantRevoked            = "grant.revoked"
	AuditGrantExpired            = "grant.expired"
	AuditGrantFailed             = "grant.failed"
	AuditGrantDeletionFailed     = "grant.deletion_failed"
	AuditGrantSessionsCut        = "grant.sessions_cut"
	AuditGrantSessionCutFailed   = "grant.session_cut_failed"
	AuditAPIKeyCreated           = "api_key.created"
	AuditAPIKeyRevoked           = "api_key.revoked"
	AuditCatalogUpdated          = "catalog.updated"
	AuditPolicyUpdated           = "policy.updated"
	AuditTenantCreated           = "tenant.created"
	AuditTenantUpdated           = "tenant.updated"
	AuditBoundaryUpdated         = "tenant.boundary_updated"
	AuditLedgerOrphanReleased    = "ledger.orphan_released"
	AuditAssignmentMissing       = "ledger.assignment_missing"
	AuditAssignmentUntracked     = "ledger.assignment_untracked"
)

// The principals Elevate itself acts as. Their ids are reserved: no API key
// or token may claim them.
const (
	SystemPrincipalID   = "elevate"
	OperatorPrincipalID = "operator"
)

// ReservedPrincipal reports whether id names one of Elevate's own principals.
func ReservedPrincipal(id string) bool { return id == SystemPrincipalID || id == OperatorPrincipalID }

// systemActor is the principal Elevate itself acts as for automatic steps.
func systemActor(tenantID string) Principal {
	return Principal{TenantID: tenantID, ID: SystemPrincipalID, Kind: PrincipalService}
}

// operatorActor is who changes a tenant through the operator's tools.
func operatorActor(tenantID string) Principal {
	return Principal{TenantID: tenantID, ID: OperatorPrincipalID, Kind: PrincipalService}
}
