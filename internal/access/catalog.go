package access

import (
	"regexp"
	"slices"
	"sync"
)

// CatalogAction is one access level a tenant offers for a resource type, and
// the permission set it maps to. Actions on S3, RDS and EC2 resources use
// Elevate-managed permission sets and map to none.
type CatalogAction struct {
	Name             string
	Description      string
	PermissionSetARN string
}

// Catalog lists, per resource type, the actions a tenant offers.
type Catalog map[ResourceType][]CatalogAction

var actionNamePattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,63}$`) })

// Lookup returns the action of that name for a resource type.
func (c Catalog) Lookup(t ResourceType, name string) (CatalogAction, bool) {
	for _, a := range c[t] {
		if a.Name == name {
			return a, true
		}
	}
	return CatalogAction{}, false
}

// PermissionSets returns the permission sets the catalog's actions map to,
// each once, in order.
func (c Catalog) PermissionSets() []string {
	var out []string
	for _, t := range ResourceTypes {
		for _, a := range c[t] {
			if a.PermissionSetARN != "" && !slices.Contains(out, a.PermissionSetARN) {
				out = append(out, a.PermissionSetARN)
			}
		}
	}
	return out
}

// Names returns the action names offered for a resource type.
func (c Catalog) Names(t ResourceType) []string {
	names := make([]string, 0, len(c[t]))
	for _, a := range c[t] {
		names = append(names, a.Name)
	}
	return names
}

// Validate checks the catalog: known resource types, well-formed and unique
// action names, a permission set for each unmanaged action and none for
// managed ones.
func (c Catalog) Validate(v Violations) {
	for t, actions := range c {
		field := "actions." + string(t)
		if !t.Valid() {
			v.Add(field, "is not a resource type")
			continue
		}
		if len(actions) > 50 {
			v.Add(field, "must list at most 50 actions")
		}
		seen := map[string]bool{}
		for _, a := range actions {
			switch {
			case !actionNamePattern().MatchString(a.Name):
				v.Add(field, "action names must start with a letter and use letters, digits, _ or - (up to 64); %q does not", a.Name)
			case seen[a.Name]:
				v.Add(field, "action %q is listed twice", a.Name)
			case len(a.Description) > 512:
				v.Add(field, "description of %q must be at most 512 characters", a.Name)
			case t.Managed() && a.PermissionSetARN != "":
				v.Add(field, "action %q uses an Elevate-managed permission set; remove permission_set_arn", a.Name)
			case t.Managed() && !slices.Contains(t.ManagedActions(), a.Name):
				v.Add(field, "action %q is not one Elevate can build for %s (choose from %v)", a.Name, t, t.ManagedActions())
			case !t.Managed() && !ValidPermissionSetARN(a.PermissionSetARN):
				v.Add(field, "action %q needs a permission_set_arn", a.Name)
			}
			seen[a.Name] = true
		}
	}
}
