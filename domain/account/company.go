package account

import (
	"strings"
	"unicode/utf8"

	"seatledger/domain/invalid"
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
	var problems invalid.List
	fields := []struct{ name, value string }{
		{"name", c.Name}, {"street", c.Street}, {"city", c.City}, {"state", c.State}, {"zip", c.ZIP}, {"phone", c.Phone},
	}
	for _, f := range fields {
		if f.value == "" && (f.name == "name" || f.name == "zip" || f.name == "phone") {
			problems.Add("company."+f.name, "%s is required", f.name)
		}
	}
	if len(c.Country) != 2 || strings.Trim(c.Country, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		problems.Add("company.country", "country must be a two-letter ISO 3166 code such as DE or US")
	}
	for _, f := range fields {
		if utf8.RuneCountInString(f.value) > maxFieldLength {
			problems.Add("company."+f.name, "%s is longer than %d characters", f.name, maxFieldLength)
		}
	}
	if phone := strings.Map(func(r rune) rune {
		if strings.ContainsRune("0123456789+ ()-./", r) {
			return -1
		}
		return r
	}, c.Phone); phone != "" {
		problems.Add("company.phone", "phone may hold only digits, spaces and + ( ) - . /")
	}
	return problems.Err(ErrInvalidCompany)
}
