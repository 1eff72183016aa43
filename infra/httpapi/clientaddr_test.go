package httpapi

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

// X-Forwarded-For names the client only when trusted proxies wrote it:
// from the right, past trusted hops, the first untrusted address.
func TestClientAddr_trusts_X_Forwarded_For_only_from_trusted_proxies(t *testing.T) {
	t.Parallel()
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}
	for _, tc := range []struct {
		name, peer string
		xff        []string
		trusted    []netip.Prefix
		want       string
	}{
		{"no proxies configured: the header is ignored", "192.0.2.1:4000", []string{"203.0.113.9"}, nil, "192.0.2.1"},
		{"an untrusted peer cannot name another client", "192.0.2.1:4000", []string{"203.0.113.9"}, trusted, "192.0.2.1"},
		{"one trusted proxy", "10.0.0.5:4000", []string{"203.0.113.9"}, trusted, "203.0.113.9"},
		{"a spoofed hop left of the real client is ignored", "10.0.0.5:4000", []string{"1.2.3.4, 203.0.113.9"}, trusted, "203.0.113.9"},
		{"two proxies, two headers", "10.0.0.5:4000", []string{"198.51.100.7, 10.9.9.9", "10.1.1.1"}, trusted, "198.51.100.7"},
		{"a client port", "10.0.0.5:4000", []string{"198.51.100.7:5555"}, trusted, "198.51.100.7"},
		{"IPv6", "[2001:db8::1]:4000", []string{"2001:db9::7"}, trusted, "2001:db9::7"},
		{"IPv4-mapped peer", "[::ffff:10.0.0.5]:4000", []string{"198.51.100.8"}, trusted, "198.51.100.8"},
		{"only proxies: the farthest one", "10.0.0.5:4000", []string{"10.2.2.2"}, trusted, "10.2.2.2"},
		{"no header: the proxy", "10.0.0.5:4000", nil, trusted, "10.0.0.5"},
		{"a malformed hop: the last proxy", "10.0.0.5:4000", []string{"203.0.113.9, evil"}, trusted, "10.0.0.5"},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = tc.peer
		for _, h := range tc.xff {
			r.Header.Add("X-Forwarded-For", h)
		}
		var got string
		resolveClient(tc.trusted)(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = clientAddr(r) })).ServeHTTP(httptest.NewRecorder(), r)
		if got != tc.want {
			t.Errorf("%s: client %q, want %q", tc.name, got, tc.want)
		}
	}
}
