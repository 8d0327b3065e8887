// Package netguard says which network addresses Elevate may fetch from on a
// tenant's behalf (a tenant admin's JWKS URL): public internet hosts only,
// never loopback, private, link-local (and so cloud metadata), carrier-grade
// NAT, unique-local or otherwise reserved ranges. It checks names where they
// are given and, at dial time, the addresses names resolve to, so a name
// that resolves (or rebinds) to a private address is refused too.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
)

// ErrNotPublic is the error of an address Elevate may not fetch from.
var ErrNotPublic = errors.New("not a public internet address")

// reserved are ranges netip's predicates do not cover.
var reserved = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and broadcast
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64, which could reach anything
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
}

// Public reports whether a is an address on the public internet.
func Public(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() {
		return false
	}
	for _, p := range reserved {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// CheckHost refuses a URL host (a name or an address, with or without a
// port) that is certainly not public: an address literal outside the public
// internet, or a name that means this machine. Other names are checked when
// they are dialled.
func CheckHost(host string) error {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if a, err := netip.ParseAddr(host); err == nil {
		if !Public(a) {
			return fmt.Errorf("%s: %w", host, ErrNotPublic)
		}
		return nil
	}
	lower := strings.ToLower(host)
	if lower == "localhost" || strings.HasSuffix(lower, ".localhost") || lower == "" {
		return fmt.Errorf("%s: %w", host, ErrNotPublic)
	}
	return nil
}

// Control is a net.Dialer Control function that refuses to connect to an
// address that is not public: it sees the address a name resolved to, so
// it holds against names that resolve, or rebind, to private addresses.
func Control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%s: %w", address, ErrNotPublic)
	}
	if !Public(ap.Addr()) {
		return fmt.Errorf("%s: %w", ap.Addr(), ErrNotPublic)
	}
	return nil
}

// DialContext dials like d but only public addresses.
func DialContext(d *net.Dialer) func(ctx context.Context, network, address string) (net.Conn, error) {
	guarded := *d
	guarded.Control = Control
	return guarded.DialContext
}
