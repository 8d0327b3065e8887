package netguard_test

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/elevate-jit/elevate/internal/netguard"
)

func TestPublic(t *testing.T) {
	for addr, want := range map[string]bool{
		"8.8.8.8": true, "1.1.1.1": true, "52.94.236.248": true, "2606:4700:4700::1111": true,
		"127.0.0.1": false, "127.8.9.10": false, "::1": false, "10.1.2.3": false, "172.16.0.1": false, "172.31.255.255": false,
		"192.168.1.1": false, "169.254.169.254": false, "fd00:ec2::254": false, "fe80::1": false, "fc00::1": false,
		"100.64.0.1": false, "100.127.255.255": false, "0.0.0.0": false, "::": false, "224.0.0.1": false, "255.255.255.255": false,
		"::ffff:127.0.0.1": false, "::ffff:10.0.0.1": false, "64:ff9b::a00:1": false, "192.0.2.1": false, "198.18.0.1": false,
	} {
		if got := netguard.Public(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Public(%s) = %v, want %v", addr, got, want)
		}
	}
}

func TestCheckHost(t *testing.T) {
	for host, ok := range map[string]bool{
		"idp.example.com": true, "idp.example.com:443": true, "8.8.8.8": true, "[2606:4700:4700::1111]:443": true,
		"127.0.0.1": false, "127.0.0.1:8443": false, "[::1]:443": false, "localhost": false, "LOCALHOST.": false,
		"api.localhost": false, "169.254.169.254": false, "10.0.0.5:443": false, "[fd00:ec2::254]": false,
	} {
		err := netguard.CheckHost(host)
		if (err == nil) != ok {
			t.Errorf("CheckHost(%q) = %v, want ok %v", host, err, ok)
		}
		if err != nil && !errors.Is(err, netguard.ErrNotPublic) {
			t.Errorf("CheckHost(%q) = %v, want ErrNotPublic", host, err)
		}
	}
}

func TestControlRefusesPrivateAddresses(t *testing.T) {
	for address, ok := range map[string]bool{"93.184.216.34:443": true, "127.0.0.1:443": false, "[::1]:443": false, "169.254.169.254:80": false} {
		if err := netguard.Control("tcp", address, nil); (err == nil) != ok {
			t.Errorf("Control(%s) = %v, want ok %v", address, err, ok)
		}
	}
}
