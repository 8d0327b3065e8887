package dynamo

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

// Attribute names of the table's keys (docs/storage.md).
const (
	attrPK = "PK"
	attrSK = "SK"
	// attrGSK is the sort key of GSI1 to GSI5: "<time>#<id>", so that the
	// lexical order of the index is time order with ties broken by id.
	attrGSK = "GSK"
	attrRev = "rev"
	attrTTL = "ttl"
)

// index is a global secondary index: its name and partition key attribute.
// GSI1 to GSI5 sort by GSK; GSI6 has no sort key.
type index struct{ name, pk string }

var (
	idxAll        = index{"GSI1", "GSI1PK"} // every request, grant or API key of a tenant
	idxStatus     = index{"GSI2", "GSI2PK"} // requests or grants of one status
	idxRequester  = index{"GSI3", "GSI3PK"} // requests of one requester
	idxGrantee    = index{"GSI4", "GSI4PK"} // requests or grants of one grantee
	idxParty      = index{"GSI5", "GSI5PK"} // requests one user made or will receive
	idxKeyID      = index{"GSI6", "GSI6PK"} // an API key by its id alone
	idxExpiry     = index{"GSI7", "GSI7PK"} // a tenant's active grants by their end (sorted by GSI7SK)
	idxUpdated    = index{"GSI8", "GSI8PK"} // requests of one status by their last update (sorted by GSI8SK)
	sortedIndexes = []index{idxAll, idxStatus, idxRequester, idxGrantee, idxParty}
)

// Sort keys of the items that are alone in their partition.
const (
	skTenant  = "TENANT"
	skRequest = "R"
	skGrant   = "G"
	skKey     = "K"
	skIdem    = "I"
	skLedger  = "L"
	skCutSet  = "C"
	skTouched = "P"
	skIssuer  = "ISS"
	skKeyID   = "KEYID"
	// skSuspension is the sort key of a user's break-glass standing.
	skSuspension = "BG"
	// skPartyCopy prefixes the sort key of a delegated request's copy for its grantee.
	skPartyCopy = "P#"
)

// tenantKey is the prefix of every partition key of a tenant's items.
func tenantKey(tenantID string) string { return "T#" + tenantID }

func requestPK(tenantID, id string) string { return tenantKey(tenantID) + "#REQ#" + id }
func grantPK(tenantID, id string) string   { return tenantKey(tenantID) + "#GRANT#" + id }
func keyPK(tenantID, id string) string     { return tenantKey(tenantID) + "#KEY#" + id }
func auditPK(tenantID string) string       { return tenantKey(tenantID) + "#AUDIT" }
func policyPK(tenantID string) string      { return tenantKey(tenantID) + "#POLICY" }
func policySK(version int) string          { return fmt.Sprintf("V#%010d", version) }

// Partition keys of the request, grant and API key indexes.
func requestsAll(tenantID string) string { return tenantKey(tenantID) + "#REQ" }
func requestsByStatus(tenantID string, s access.RequestStatus) string {
	return requestsAll(tenantID) + "#S#" + string(s)
}
func requestsByRequester(tenantID, id string) string { return requestsAll(tenantID) + "#R#" + id }
func requestsByGrantee(tenantID, id string) string   { return requestsAll(tenantID) + "#G#" + id }
func requestsByParty(tenantID, id string) string     { return requestsAll(tenantID) + "#P#" + id }
func grantsAll(tenantID string) string               { return tenantKey(tenantID) + "#GRANT" }
func grantsByStatus(tenantID string, s access.GrantStatus) string {
	return grantsAll(tenantID) + "#S#" + string(s)
}
func grantsByGrantee(tenantID, id string) string { return grantsAll(tenantID) + "#G#" + id }
func keysAll(tenantID string) string             { return tenantKey(tenantID) + "#KEY" }
func keyIDKey(id string) string                  { return "KEY#" + id }

// keyClaimPK is the deployment-level item that keeps API key ids unique
// across tenants.
func keyClaimPK(id string) string { return "KEYID#" + id }

// issuerPK is the deployment-level item that keeps a JWT (issuer, audience)
// pair unique across tenants.
func issuerPK(issuer, audience string) string {
	return "ISS#" + digest(issuer, audience)
}

func idempotencyPK(s access.IdempotencyScope) string {
	return tenantKey(s.TenantID) + "#IDEM#" + digest(s.PrincipalID, s.Route, s.Key)
}

// ledgerPK is the deployment-wide item of an assignment's ledger entry:
// the documented exception to "every tenant item's key begins with its
// tenant", since all tenants of an instance share the entry.
func ledgerPK(k access.AssignmentKey) string { return "LEDGER#" + ledgerDigest(k) }

func ledgerDigest(k access.AssignmentKey) string {
	return digest(k.InstanceARN, k.PrincipalID, k.AccountID, k.PermissionSetARN)
}

// Partition keys of the sweeper's lists (docs/storage.md): every tenant
// (the one deployment-level index partition), a tenant's assignment ledger,
// and a tenant's active grants by their end.
const (
	tenantsAll   = "TENANTS"
	attrExpirySK = "GSI7SK"
	// attrUpdatedSK sorts GSI8: "<updated_at>#<id>".
	attrUpdatedSK = "GSI8SK"
)

// touchedPK is the deployment-wide item of a user Elevate assigned
// something to, and touchedAll the index partition that lists them.
func touchedPK(instanceARN, userID string) string { return "TOUCHED#" + digest(instanceARN, userID) }

const touchedAll = "TOUCHED"

// ledgerAll is the index partition that lists the whole ledger.
const ledgerAll = "LEDGER"

func grantsExpiring(tenantID string) string { return tenantKey(tenantID) + "#GRANT#EXP" }

// reviewsPending is the GSI8 partition of a tenant's break-glass grants
// whose review is pending: one before it is announced overdue, one after.
func reviewsPending(tenantID string, announced bool) string {
	if announced {
		return tenantKey(tenantID) + "#GRANT#REVIEW#OVERDUE"
	}
	return tenantKey(tenantID) + "#GRANT#REVIEW#DUE"
}

// suspensionPK is the item of a person's break-glass standing, by their
// Identity Store user id, and suspensionsAll the GSI1 partition that lists a
// tenant's standings.
func suspensionPK(tenantID, identityStoreUserID string) string {
	return tenantKey(tenantID) + "#BG#" + digest(identityStoreUserID)
}
func suspensionsAll(tenantID string) string { return tenantKey(tenantID) + "#BG" }

// digest hashes parts joined by NUL bytes, which none of them contains.
func digest(parts ...string) string {
	h := sha256.New()
	for i, p := range parts {
		if i > 0 {
			h.Write([]byte{0})
		}
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// validTenantID reports whether a tenant id can be part of a key: it must not
// be empty or contain the key separator, so that one tenant's keys can never
// spell another's.
func validTenantID(id string) bool { return id != "" && !strings.Contains(id, "#") }

// timeLayout writes times in UTC with exactly nine fractional digits, so
// that their lexical order is their time order.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// formatTime returns t for storage; the zero time is "" (an absent attribute).
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeLayout)
}

// parseTime reads a stored time; "" is the zero time.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time %q: %w", s, err)
	}
	return t, nil
}

// sortKey is an item's place in its lists: its time, then its id.
func sortKey(at time.Time, id string) string {
	return at.UTC().Format(timeLayout) + "#" + id
}

// validSortKey reports whether s is a sortKey value.
func validSortKey(s string) bool {
	n := len(timeLayout) - len("Z07:00") + 1 // the layout writes "Z" for UTC
	if len(s) < n+2 || s[n] != '#' {
		return false
	}
	_, err := time.Parse(time.RFC3339Nano, s[:n])
	return err == nil
}

// cutSetPK is the deployment-wide item of a permission set's session cuts
// (like the ledger, shared by every tenant of the instance), and cutSetsAll
// the index partition that lists them.
func cutSetPK(k access.CutSetKey) string { return "CUTS#" + cutSetDigest(k) }

func cutSetDigest(k access.CutSetKey) string { return digest(k.InstanceARN, k.PermissionSetARN) }

const cutSetsAll = "CUTS"
