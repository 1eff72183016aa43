package account

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// Company holds a business account's details (rule MEM-3).
type Company struct {
	Name    string `json:"name"`
	Street  string `json:"street,omitempty"`
	City    string `json:"city,omitempty"`
	Country string `json:"country"` // ISO 3166-1 alpha-2, upper case
	State   string `json:"state,omitempty"`
	ZIP     string `json:"zip"`
	Phone   string `json:"phone"`
}

// maxFieldLength bounds every company field, in characters.
const maxFieldLength = 200

// Normalize trims c's fields and upper-cases the country code.
func (c Company) Normalize() Company {
	trim := strings.TrimSpace
	return Company{
		Name: trim(c.Name), Street: trim(c.Street), City: trim(c.City), Country: strings.ToUpper(trim(c.Country)),
		State: trim(c.State), ZIP: trim(c.ZIP), Phone: trim(c.Phone),
	}
}

// Validate checks a normalized company: a name, a two-letter country
// code, a ZIP or postal code and a phone number are required (the fields
// the key-registration dialog asks for, rule KEY-2); every field is
// bounded. It names every problem at once.
func (c Company) Validate() error {
	var problems []string
	required := map[string]string{"name": c.Name, "zip": c.ZIP, "phone": c.Phone}
	for _, f := range []string{"name", "zip", "phone"} {
		if required[f] == "" {
			problems = append(problems, f+" is required")
		}
	}
	if len(c.Country) != 2 || strings.Trim(c.Country, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		problems = append(problems, "country must be a two-letter ISO 3166 code such as DE or US")
	}
	for name, v := range map[string]string{"name": c.Name, "street": c.Street, "city": c.City, "state": c.State, "zip": c.ZIP, "phone": c.Phone} {
		if utf8.RuneCountInString(v) > maxFieldLength {
			problems = append(problems, name+" is longer than 200 characters")
		}
	}
	if phone := strings.Map(func(r rune) rune {
		if strings.ContainsRune("0123456789+ ()-./", r) {
			return -1
		}
		return r
	}, c.Phone); phone != "" {
		problems = append(problems, "phone may hold only digits, spaces and + ( ) - . /")
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return &InvalidCompanyError{Problems: problems}
	}
	return nil
}
