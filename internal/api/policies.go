package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

type policySetJSON struct {
	Version   int       `json:"version"`
	Policies  string    `json:"policies"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

type putPoliciesBody struct {
	Policies *string `json:"policies"`
}

type evaluatePrincipalJSON struct {
	ID     *string  `json:"id"`
	Groups []string `json:"groups"`
}

type evaluateBody struct {
	Principal       *evaluatePrincipalJSON `json:"principal"`
	GranteeID       *string                `json:"grantee_id"`
	Resource        *resourceJSON          `json:"resource"`
	Action          *string                `json:"action"`
	DurationSeconds *int64                 `json:"duration_seconds"`
	Justification   *string                `json:"justification"`
	BreakGlass      *bool                  `json:"break_glass"`
	Time            *string                `json:"time"`
	Policies        *string                `json:"policies"`
}

type determiningJSON struct {
	ID          string            `json:"id"`
	Effect      string            `json:"effect"`
	Annotations map[string]string `json:"annotations"`
}

type evalErrorJSON struct {
	PolicyID string `json:"policy_id"`
	Message  string `json:"message"`
}

type evaluationJSON struct {
	Decision          string            `json:"decision"`
	ApprovalMode      *string           `json:"approval_mode"`
	ApprovalsRequired int               `json:"approvals_required"`
	Determining       []determiningJSON `json:"determining"`
	Notices           []string          `json:"notices"`
	Errors            []evalErrorJSON   `json:"errors"`
	Conflicts         []conflictJSON    `json:"conflicts"`
	PolicyVersion     *int              `json:"policy_version"`
}

func fromPolicySet(ps access.PolicySet) policySetJSON {
	return policySetJSON{Version: ps.Version, Policies: ps.Text, CreatedBy: ps.CreatedBy, CreatedAt: ps.CreatedAt.UTC()}
}

func writePolicySet(w http.ResponseWriter, ps access.PolicySet) {
	w.Header().Set("ETag", strconv.Quote(strconv.Itoa(ps.Version)))
	writeJSON(w, http.StatusOK, fromPolicySet(ps))
}

func (a *API) getPolicies(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	ps, err := a.svc.GetPolicies(r.Context(), p)
	if err != nil {
		return err
	}
	writePolicySet(w, ps)
	return nil
}

func (a *API) getPolicyVersion(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 {
		return access.NotFound("policy version")
	}
	ps, err := a.svc.GetPolicyVersion(r.Context(), p, n)
	if err != nil {
		return err
	}
	writePolicySet(w, ps)
	return nil
}

// putPolicies stores a new policy set version. If-Match must carry the
// current version (as GET's ETag gives it), so concurrent edits cannot
// silently overwrite each other.
func (a *API) putPolicies(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	body, err := readBody(w, r, maxPolicyBody)
	if err != nil {
		return err
	}
	var in putPoliciesBody
	if err := decode(body, &in); err != nil {
		return err
	}
	v := access.Violations{}
	match := strings.TrimPrefix(strings.TrimSpace(r.Header.Get("If-Match")), "W/")
	version, convErr := strconv.Atoi(strings.Trim(match, `"`))
	switch {
	case match == "":
		v.Add("If-Match", "is required: send the current version from GET /v1/policies (its ETag)")
	case convErr != nil || version < 1:
		v.Add("If-Match", "must be a policy version number such as \"3\"")
	}
	if in.Policies == nil {
		v.Add("policies", "is required")
	}
	if err := v.Err(); err != nil {
		return err
	}
	ps, err := a.svc.PutPolicies(r.Context(), p, *in.Policies, version)
	if err != nil {
		return err
	}
	writePolicySet(w, ps)
	return nil
}

func (a *API) evaluatePolicies(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	body, err := readBody(w, r, maxPolicyBody)
	if err != nil {
		return err
	}
	var in evaluateBody
	if err := decode(body, &in); err != nil {
		return err
	}
	v := access.Violations{}
	ei := access.EvaluateInput{Draft: in.Policies, GranteeID: deref(in.GranteeID)}
	if in.Principal == nil {
		v.Add("principal", "is required")
	} else {
		required(v, "principal.id", in.Principal.ID, &ei.PrincipalID)
		ei.Groups = in.Principal.Groups
	}
	if in.Resource == nil {
		v.Add("resource", "is required")
	} else {
		ei.Resource = toResource(*in.Resource)
	}
	required(v, "action", in.Action, &ei.Action)
	if in.DurationSeconds == nil {
		v.Add("duration_seconds", "is required")
	} else {
		ei.DurationSeconds = *in.DurationSeconds
	}
	if in.Justification != nil {
		ei.Justification = *in.Justification
	}
	if in.BreakGlass != nil {
		ei.BreakGlass = *in.BreakGlass
	}
	ei.At = parseTime("time", in.Time, v)
	if err := v.Err(); err != nil {
		return err
	}
	// A dry run stores nothing, so it needs no idempotency record: running it
	// twice gives the same answer.
	ev, err := a.svc.EvaluatePolicies(r.Context(), p, ei)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, fromEvaluation(ev))
	return nil
}

func fromEvaluation(ev access.Evaluation) evaluationJSON {
	d := ev.Decision
	out := evaluationJSON{Decision: "deny", Determining: []determiningJSON{}, Notices: nonNil(d.Notices), Errors: []evalErrorJSON{}}
	if d.Allowed {
		out.Decision = "allow"
		out.ApprovalMode = optString(string(d.Mode))
		out.ApprovalsRequired = d.Approvals
	}
	for _, p := range d.Determining {
		out.Determining = append(out.Determining, determiningJSON{ID: p.ID, Effect: p.Effect, Annotations: nonNilMap(p.Annotations)})
	}
	for _, e := range d.Errors {
		out.Errors = append(out.Errors, evalErrorJSON{PolicyID: e.PolicyID, Message: e.Message})
	}
	out.Conflicts = fromConflicts(access.ConflictsOf(d))
	if !ev.Draft {
		out.PolicyVersion = &ev.PolicyVersion
	}
	return out
}
