package webhook

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrRefusedAddress is matched by a delivery's error when the endpoint's
// host resolved to an address the ledger does not deliver to (loopback,
// private, link-local, …) and the setting LEDGER_WEBHOOK_ALLOW_PRIVATE is
// off.
var ErrRefusedAddress = errors.New("webhook: refused to connect to a private, loopback or link-local address")

// refusedPrefixes are the networks a webhook never reaches without the
// setting, beside what netip.Addr's predicates tell (loopback, private,
// link-local, multicast, unspecified).
var refusedPrefixes = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8",       // "this network"
		"100.64.0.0/10",   // carrier-grade NAT (RFC 6598)
		"192.0.0.0/24",    // IETF protocol assignments
		"192.0.2.0/24",    // documentation
		"198.18.0.0/15",   // benchmarking
		"198.51.100.0/24", // documentation
		"203.0.113.0/24",  // documentation
		"240.0.0.0/4",     // reserved, and the broadcast address
		"64:ff9b::/96",    // NAT64: would reach any IPv4 address, private ones too
		"64:ff9b:1::/48",  // local-use NAT64
		"2001:db8::/32",   // documentation
		"100::/64",        // discard-only
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// Refused reports whether a webhook may not connect to ip without the
// setting that allows private addresses.
func Refused(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return true
	}
	for _, p := range refusedPrefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// control is the dialer's check of the address it is about to connect
// to: after name resolution, for every address tried, so a name that
// resolves to a private address — or a DNS answer that changes between a
// check and the connection (rebinding) — cannot get past it.
func control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s is not an IP address and port", ErrRefusedAddress, address)
	}
	if Refused(ap.Addr()) {
		return fmt.Errorf("%w (%s)", ErrRefusedAddress, ap.Addr())
	}
	return nil
}

// newClient returns the HTTP client of deliveries: bounded by timeout,
// never through a proxy (which would connect on our behalf, past the
// guard), never following a redirect (a 3xx is a failure), and, unless
// allowPrivate, refusing every address Refused names.
func newClient(timeout time.Duration, allowPrivate bool) *http.Client {
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		dialer.Control = control
	}
	transport := &http.Transport{
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    timeout,
		ResponseHeaderTimeout:  timeout,
		ExpectContinueTimeout:  time.Second,
		MaxIdleConns:           100,
		MaxIdleConnsPerHost:    2,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
	return &http.Client{
		Transport:     transport,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
