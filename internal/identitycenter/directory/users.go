package directory

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	"github.com/aws/aws-sdk-go-v2/service/identitystore/document"
	"github.com/aws/aws-sdk-go-v2/service/identitystore/types"

	"github.com/elevate-jit/elevate/internal/access"
)

// userEntry is a cached resolution; found is false for a missing or
// disabled user.
type userEntry struct {
	id    string
	found bool
}

// ResolveUser maps a grantee id to an enabled Identity Store user id through
// the tenant's identity mapping: user_id is the id itself, user_name and
// email are unique attributes, and external_id takes grantee ids of the form
// "issuer|id" (the Identity Store needs both; the id may itself contain "|").
// A missing, disabled or malformed user is an error wrapping
// access.ErrUserNotFound. Answers are cached: found users for CacheTTL,
// missing ones for 30 seconds.
func (a *Directory) ResolveUser(ctx context.Context, t access.Tenant, granteeID string) (string, error) {
	store := t.Boundary.IdentityStoreID
	if store == "" {
		return "", fmt.Errorf("resolve user %q: tenant %s has no identity store configured", granteeID, t.ID)
	}
	mapping := t.Boundary.IdentityMapping
	key := store + "\x00" + string(mapping) + "\x00" + granteeID
	if e, ok := a.users.Get(key); ok {
		if !e.found {
			return "", fmt.Errorf("user %q (%s) in identity store %s: %w", granteeID, mapping, store, access.ErrUserNotFound)
		}
		return e.id, nil
	}
	id, found, err := a.lookupUser(ctx, store, mapping, granteeID)
	if err != nil {
		return "", fmt.Errorf("resolve user %q (%s) in identity store %s: %w", granteeID, mapping, store, err)
	}
	if !found {
		a.users.Put(key, userEntry{}, negativeTTL)
		return "", fmt.Errorf("user %q (%s) in identity store %s: %w", granteeID, mapping, store, access.ErrUserNotFound)
	}
	a.users.Put(key, userEntry{id: id, found: true}, a.ttl)
	return id, nil
}

// lookupUser asks the Identity Store; found is false for a user that is
// missing, disabled, or cannot be named by granteeID.
func (a *Directory) lookupUser(ctx context.Context, store string, mapping access.IdentityMapping, granteeID string) (id string, found bool, err error) {
	if granteeID == "" {
		return "", false, nil
	}
	id = granteeID
	if mapping != access.MapUserID {
		alt, ok, err := alternateIdentifier(mapping, granteeID)
		if err != nil || !ok {
			return "", false, err
		}
		out, err := Call(ctx, a.caller, RetryThrottled, func(ctx context.Context) (*identitystore.GetUserIdOutput, error) {
			return a.ids.GetUserId(ctx, &identitystore.GetUserIdInput{IdentityStoreId: aws.String(store), AlternateIdentifier: alt})
		})
		if missingUser(err) {
			return "", false, nil
		} else if err != nil {
			return "", false, err
		}
		id = aws.ToString(out.UserId)
	}
	// DescribeUser also for ids found by attribute: it carries the status.
	out, err := Call(ctx, a.caller, RetryThrottled, func(ctx context.Context) (*identitystore.DescribeUserOutput, error) {
		return a.ids.DescribeUser(ctx, &identitystore.DescribeUserInput{IdentityStoreId: aws.String(store), UserId: aws.String(id)})
	})
	if missingUser(err) {
		return "", false, nil
	} else if err != nil {
		return "", false, err
	}
	if out.UserStatus == types.UserStatusDisabled {
		return "", false, nil
	}
	if got := aws.ToString(out.UserId); got != "" {
		id = got
	}
	return id, id != "", nil
}

// alternateIdentifier builds the GetUserId lookup for a mapping; ok is false
// for a grantee id that cannot name a user (an external id without issuer).
func alternateIdentifier(mapping access.IdentityMapping, granteeID string) (types.AlternateIdentifier, bool, error) {
	unique := func(path string) types.AlternateIdentifier {
		return &types.AlternateIdentifierMemberUniqueAttribute{Value: types.UniqueAttribute{
			AttributePath: aws.String(path), AttributeValue: document.NewLazyDocument(granteeID),
		}}
	}
	switch mapping {
	case access.MapUserName:
		return unique("userName"), true, nil
	case access.MapEmail:
		return unique("emails.value"), true, nil
	case access.MapExternalID:
		issuer, id, ok := strings.Cut(granteeID, "|")
		if !ok || issuer == "" || id == "" {
			return nil, false, nil
		}
		return &types.AlternateIdentifierMemberExternalId{Value: types.ExternalId{Issuer: aws.String(issuer), Id: aws.String(id)}}, true, nil
	}
	return nil, false, fmt.Errorf("unknown identity mapping %q", mapping)
}

// missingUser reports an Identity Store answer that means "no such user": not
// found, or a value the store rejects as unable to name one.
func missingUser(err error) bool {
	return HasCode(err, "ResourceNotFoundException", "ValidationException")
}

// UserName returns an Identity Store user's user name: the role session
// name of the user's Identity Center sessions.
func (a *Directory) UserName(ctx context.Context, t access.Tenant, userID string) (string, error) {
	store := t.Boundary.IdentityStoreID
	out, err := Call(ctx, a.caller, RetryThrottled, func(ctx context.Context) (*identitystore.DescribeUserOutput, error) {
		return a.ids.DescribeUser(ctx, &identitystore.DescribeUserInput{IdentityStoreId: aws.String(store), UserId: aws.String(userID)})
	})
	if err != nil {
		return "", fmt.Errorf("describe user %s: %w", userID, err)
	}
	name := aws.ToString(out.UserName)
	if name == "" {
		return "", fmt.Errorf("user %s has no user name", userID)
	}
	return name, nil
}
