package queries

import "testing"

// Rule MEM-2: after sign-in the portal opens the account used last while
// the person may still use it, else the only business account, else the
// personal account.
func TestLandingAccount_last_used_else_only_business_else_personal_MEM2(t *testing.T) {
	t.Parallel()
	personal := AccountSummary{AccountID: "p", Kind: "personal", Role: "admin", Status: "active"}
	acme := AccountSummary{AccountID: "acme", Kind: "business", CompanyName: "Acme", Role: "admin", Status: "active"}
	beta := AccountSummary{AccountID: "beta", Kind: "business", CompanyName: "Beta", Role: "member", Status: "active"}
	blocked := AccountSummary{AccountID: "gamma", Kind: "business", CompanyName: "Gamma", Role: "member", Status: "blocked"}
	for name, tc := range map[string]struct {
		accounts []AccountSummary
		lastUsed string
		want     string
	}{
		"a new person":                               {[]AccountSummary{personal}, "", "p"},
		"one business account, none remembered":      {[]AccountSummary{personal, acme}, "", "acme"},
		"one business account, the personal last":    {[]AccountSummary{personal, acme}, "p", "p"},
		"two business accounts, the second last":     {[]AccountSummary{personal, acme, beta}, "beta", "beta"},
		"two business accounts, none remembered":     {[]AccountSummary{personal, acme, beta}, "", "p"},
		"the account used last was left":             {[]AccountSummary{personal, acme}, "gone", "acme"},
		"blocked in the account used last":           {[]AccountSummary{personal, acme, blocked}, "gamma", "acme"},
		"blocked in the only other business account": {[]AccountSummary{personal, blocked}, "", "p"},
	} {
		if got := LandingAccount(tc.accounts, tc.lastUsed); got != tc.want {
			t.Errorf("%s: lands on %q, want %q", name, got, tc.want)
		}
	}
}
