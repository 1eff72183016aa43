package queries_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/queries"
)

// Rules MEM-5, MEM-8: the members list pages through every member once,
// by name, and filters by search, role and status — alike on both engines.
func TestMembers_pages_filters_and_searches_MEM5_MEM8(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		db := directory(t, target, 230)
		ctx := context.Background()
		all := collect(t, db, queries.MembersFilter{AccountID: "acc-1", Limit: 50})
		if len(all) != 231 {
			t.Fatalf("%d members over all pages, want 231", len(all))
		}
		seen := map[string]bool{}
		for i, m := range all {
			if seen[m.PersonID] {
				t.Fatalf("%s listed twice", m.PersonID)
			}
			seen[m.PersonID] = true
			if i > 0 && strings.ToLower(all[i-1].LastName) > strings.ToLower(m.LastName) {
				t.Fatalf("not sorted by last name at %d: %s after %s", i, m.LastName, all[i-1].LastName)
			}
		}
		admins := collect(t, db, queries.MembersFilter{AccountID: "acc-1", Role: "admin"})
		blocked := collect(t, db, queries.MembersFilter{AccountID: "acc-1", Status: "blocked"})
		if len(admins) != 24 || len(blocked) != 33 { // 23 promoted + the creator; every 7th of 230
			t.Fatalf("%d admins, %d blocked", len(admins), len(blocked))
		}
		found := collect(t, db, queries.MembersFilter{AccountID: "acc-1", Search: "FIRST12"})
		var ids []string
		for _, m := range found {
			ids = append(ids, m.PersonID)
		}
		sort.Strings(ids)
		if strings.Join(ids, ",") != "user-00012,user-00120,user-00121,user-00122,user-00123,user-00124,user-00125,user-00126,user-00127,user-00128,user-00129" {
			t.Fatalf("search first12 = %v", ids)
		}
		if got := collect(t, db, queries.MembersFilter{AccountID: "acc-1", Search: "%"}); len(got) != 0 {
			t.Fatalf("a LIKE wildcard in the search matched %d", len(got))
		}
		if got := collect(t, db, queries.MembersFilter{AccountID: "acc-2"}); len(got) != 0 {
			t.Fatalf("another account's list has %d members (X-5)", len(got))
		}
		// By ID, for naming the people a page shows: only members of the
		// account, however far down the list.
		byID := collect(t, db, queries.MembersFilter{AccountID: "acc-1", PersonIDs: []string{"user-00229", "user-00003", "nobody"}})
		if len(byID) != 2 || byID[0].PersonID == byID[1].PersonID || byID[0].FirstName == "" {
			t.Fatalf("by ID = %+v", byID)
		}
		if got := collect(t, db, queries.MembersFilter{AccountID: "acc-2", PersonIDs: []string{"user-00003"}}); len(got) != 0 {
			t.Fatalf("another account's member by ID: %+v (X-5)", got)
		}
		tooMany := make([]string, queries.MaxMembersPage+1)
		for i := range tooMany {
			tooMany[i] = fmt.Sprintf("user-%05d", i)
		}
		if _, err := queries.Members(ctx, db, queries.MembersFilter{AccountID: "acc-1", PersonIDs: tooMany}); !errors.Is(err, queries.ErrInvalidFilter) {
			t.Fatalf("201 IDs: %v", err)
		}
		accs, err := queries.AccountsOfPerson(ctx, db, "user-00007")
		if err != nil || len(accs) != 2 || accs[1].Status != "blocked" {
			t.Fatalf("accounts of a blocked member = %+v, %v", accs, err)
		}
	})
}

func collect(t *testing.T, db queries.DB, f queries.MembersFilter) []queries.Member {
	t.Helper()
	var out []queries.Member
	for {
		page, err := queries.Members(context.Background(), db, f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Members...)
		if page.Next == "" {
			return out
		}
		f.After = page.Next
	}
}
