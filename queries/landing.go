package queries

import "context"

// Landing is the use case of the account a person's portal opens on
// after they sign in (rule MEM-2): the one they used last (lastUsed, which
// the portal remembers; "" when none), while they are still an active
// member of it; else their only business account; else their personal
// account, whose dashboard points to their business accounts.
func (q *Reads) Landing(ctx context.Context, v Viewer, lastUsed string) (string, error) {
	accounts, err := q.MyAccounts(ctx, v)
	if err != nil {
		return "", err
	}
	return LandingAccount(accounts, lastUsed), nil
}

// LandingAccount is Landing's decision over the person's accounts as
// AccountsOfPerson lists them (the personal account first).
func LandingAccount(accounts []AccountSummary, lastUsed string) string {
	var personal string
	var business []string
	for _, a := range accounts {
		switch {
		case a.Status != "active":
			// a blocked membership opens nothing
		case lastUsed != "" && a.AccountID == lastUsed:
			return lastUsed
		case a.Kind == "personal":
			personal = a.AccountID
		default:
			business = append(business, a.AccountID)
		}
	}
	if len(business) == 1 {
		return business[0]
	}
	return personal
}
