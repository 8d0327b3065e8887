package directory

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/elevate-jit/elevate/internal/access"
)

// accountsEntry is a cached AccountsUnder answer.
type accountsEntry struct {
	accounts  []string
	truncated bool
}

// Ancestors returns the root and OUs above the resource's account (or above
// the OU itself), outermost first, walking up with ListParents. Chains are
// cached per account and OU for CacheTTL, so siblings share the walk. An
// account or OU that is not in the organization has no ancestors.
func (a *Directory) Ancestors(ctx context.Context, _ access.Tenant, r access.Resource) ([]string, error) {
	child := r.TargetAccount()
	if r.Type == access.ResourceOrganizationalUnit {
		child = r.ID
	}
	if child == "" {
		return nil, fmt.Errorf("ancestors of %s %s: the resource names no account", r.Type, r.ID)
	}
	chain, err := a.ancestors(ctx, child)
	if err != nil {
		return nil, fmt.Errorf("ancestors of %s: %w", child, err)
	}
	return slices.Clone(chain), nil
}

func (a *Directory) ancestors(ctx context.Context, child string) ([]string, error) {
	if chain, ok := a.parents.Get(child); ok {
		return chain, nil
	}
	var walked []string // child, then each OU above it, innermost first
	var above []string  // the ancestors of the last walked node
	node := child
	for {
		if len(walked) > a.maxDepth {
			return nil, fmt.Errorf("more than %d OU levels above %s", a.maxDepth, child)
		}
		out, err := Call(ctx, a.caller, RetryThrottled, func(ctx context.Context) (*organizations.ListParentsOutput, error) {
			return a.org.ListParents(ctx, &organizations.ListParentsInput{ChildId: aws.String(node)})
		})
		if notInOrganization(err) && node == child {
			a.parents.Put(child, nil, negativeTTL)
			return nil, nil
		} else if err != nil {
			return nil, fmt.Errorf("parents of %s: %w", node, err)
		}
		walked = append(walked, node)
		if len(out.Parents) == 0 {
			break
		}
		p := out.Parents[0]
		id := aws.ToString(p.Id)
		if p.Type == types.ParentTypeRoot {
			above = []string{id}
			break
		}
		if chain, ok := a.parents.Get(id); ok {
			above = append(slices.Clone(chain), id)
			break
		}
		node = id
	}
	// Each walked node's ancestors are the chain above it plus the walked
	// nodes between; record them all.
	chain := above
	for i := len(walked) - 1; i >= 0; i-- {
		a.parents.Put(walked[i], chain, a.ttl)
		if i > 0 {
			chain = append(slices.Clone(chain), walked[i])
		}
	}
	return chain, nil
}

// AccountsUnder lists the active accounts under an OU, breadth first
// (accounts nearer the OU first), at most max of them; truncated reports
// that there were more. It learns every listed account's ancestors on the
// way, so the Ancestors calls that usually follow cost nothing.
func (a *Directory) AccountsUnder(ctx context.Context, _ access.Tenant, ouID string, max int) ([]string, bool, error) {
	if max <= 0 {
		return nil, false, fmt.Errorf("accounts under %s: max must be positive, not %d", ouID, max)
	}
	key := ouID + "\x00" + strconv.Itoa(max)
	if e, ok := a.under.Get(key); ok {
		return slices.Clone(e.accounts), e.truncated, nil
	}
	base, err := a.ancestors(ctx, ouID)
	if err != nil {
		return nil, false, fmt.Errorf("accounts under %s: %w", ouID, err)
	}
	if len(base) == 0 {
		return nil, false, nil // not in the organization
	}
	type level struct {
		id    string
		chain []string // the ancestors of what is directly under id
		depth int
	}
	queue := []level{{id: ouID, chain: append(slices.Clone(base), ouID)}}
	var out []string
	truncated := false
walk:
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		var token *string
		for page := 0; page < maxPages; page++ {
			res, err := Call(ctx, a.caller, RetryThrottled, func(ctx context.Context) (*organizations.ListAccountsForParentOutput, error) {
				return a.org.ListAccountsForParent(ctx, &organizations.ListAccountsForParentInput{ParentId: aws.String(n.id), NextToken: token})
			})
			if err != nil {
				return nil, false, fmt.Errorf("accounts under %s: list accounts of %s: %w", ouID, n.id, err)
			}
			for _, acct := range res.Accounts {
				if !active(acct) {
					continue
				}
				if len(out) == max {
					truncated = true
					break walk
				}
				id := aws.ToString(acct.Id)
				out = append(out, id)
				a.parents.Put(id, n.chain, a.ttl)
			}
			if token = res.NextToken; token == nil {
				break
			}
		}
		if n.depth+1 >= a.maxDepth {
			continue
		}
		token = nil
		for page := 0; page < maxPages; page++ {
			res, err := Call(ctx, a.caller, RetryThrottled, func(ctx context.Context) (*organizations.ListOrganizationalUnitsForParentOutput, error) {
				return a.org.ListOrganizationalUnitsForParent(ctx, &organizations.ListOrganizationalUnitsForParentInput{ParentId: aws.String(n.id), NextToken: token})
			})
			if err != nil {
				return nil, false, fmt.Errorf("accounts under %s: list OUs of %s: %w", ouID, n.id, err)
			}
			for _, ou := range res.OrganizationalUnits {
				id := aws.ToString(ou.Id)
				a.parents.Put(id, n.chain, a.ttl)
				queue = append(queue, level{id: id, chain: append(slices.Clone(n.chain), id), depth: n.depth + 1})
			}
			if token = res.NextToken; token == nil {
				break
			}
		}
	}
	a.under.Put(key, accountsEntry{accounts: out, truncated: truncated}, a.ttl)
	return slices.Clone(out), truncated, nil
}

// active reads the account's State, or its Status (retired in September 2026)
// where State is absent.
func active(acct types.Account) bool {
	if acct.State != "" {
		return acct.State == types.AccountStateActive
	}
	return acct.Status == types.AccountStatusActive
}

// notInOrganization reports a ListParents answer for an id the organization
// does not hold.
func notInOrganization(err error) bool {
	return HasCode(err, "ChildNotFoundException", "AccountNotFoundException", "OrganizationalUnitNotFoundException")
}
