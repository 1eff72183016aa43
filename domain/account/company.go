package account

import (
	"strings"

	"seatledger/domain/invalid"
	"seatledger/domain/text"
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

// Normalize upper-cases the country code, the one field compared in a
// normal form (like an email address); nothing is trimmed (rule X-7).
func (c Company) Normalize() Company {
	c.Country = strings.ToUpper(c.Country)
	return c
}

// Validate checks a normalized company: a name, a two-letter country
// code, a ZIP or postal code and a phone number are required (the fields
// the key-registration dialog asks for, rule KEY-2); every field is one
// line of clean, bounded text (rule X-7). It names every problem at once.
func (c Company) Validate() error {
	var problems invalid.List
	fields := []struct{ name, value string }{
		{"name", c.Name}, {"street", c.Street}, {"city", c.City}, {"state", c.State}, {"zip", c.ZIP}, {"phone", c.Phone},
	}
	for _, f := range fields {
		check := text.Check
		if f.name == "name" || f.name == "zip" || f.name == "phone" {
			check = text.Required
		}
		problems.AddReason("company."+f.name, check(f.name, f.value, text.Name, maxFieldLength))
	}
	if len(c.Country) != 2 || strings.Trim(c.Country, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		problems.Add("company.country", "country must be a two-letter ISO 3166 code such as DE or US")
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
