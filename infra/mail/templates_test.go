package mail

import (
	"strings"
	"testing"
	"testing/fstest"
)

// Every template the notifier uses exists in every language, parses, and
// renders with all fields and with none.
func TestTemplates_exist_and_render_in_every_language(t *testing.T) {
	t.Parallel()
	if templatesErr != nil {
		t.Fatal(templatesErr)
	}
	langs := templates.languages()
	if strings.Join(langs, ",") != "de,en" {
		t.Errorf("languages %v; want de and en", langs)
	}
	full := templateData{
		Data: map[string]string{"first_name": "Ada", "company": "ACME", "inviter": "Grace", "note": "see you"},
		Link: "https://portal.example.com/x?token=t",
	}
	greeting := map[string]string{"en": "Hello", "de": "Hallo"}
	// An admin's note accompanies an invitation or a change of membership.
	takesNote := map[string]bool{"invitation": true, "member_blocked": true, "member_unblocked": true, "member_removed": true}
	for _, lang := range langs {
		for _, name := range knownTemplates {
			tmpl := templates[lang][name]
			if tmpl == nil {
				t.Errorf("%s/%s is missing", lang, name)
				continue
			}
			for _, data := range []templateData{full, {}} {
				subject, body, err := render(tmpl, data)
				if err != nil {
					t.Errorf("%s/%s: %v", lang, name, err)
					continue
				}
				if subject == "" || strings.Contains(subject+body, "<no value>") {
					t.Errorf("%s/%s with %v: subject %q body %q", lang, name, data.Data, subject, body)
				}
				wantGreeting := greeting[lang] + ","
				if data.Data["first_name"] != "" {
					wantGreeting = greeting[lang] + " Ada,"
				}
				if !strings.HasPrefix(body, wantGreeting+"\n") {
					t.Errorf("%s/%s with %v: body starts %q; want %q", lang, name, data.Data, firstLine(body), wantGreeting)
				}
				if data.Link != "" && !strings.Contains(body, "\n"+data.Link+"\n") {
					t.Errorf("%s/%s: body has no link line:\n%s", lang, name, body)
				}
				if takesNote[name] && data.Data["note"] != "" && !strings.Contains(body, data.Data["note"]) {
					t.Errorf("%s/%s: body has no note:\n%s", lang, name, body)
				}
			}
		}
	}
}

func TestTemplates_lookup_falls_back_to_English(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		lang, name, wantLang string
		ok                   bool
	}{
		{"de", "invitation", "de", true},
		{"DE-at", "invitation", "de", true},
		{"de_CH", "invitation", "de", true},
		{"fr", "invitation", "en", true},
		{"", "invitation", "en", true},
		{"de", "no_such_template", "", false},
	} {
		got, ok := templates.lookup(tc.lang, tc.name)
		if ok != tc.ok || (ok && got != templates[tc.wantLang][tc.name]) {
			t.Errorf("lookup(%q, %q) = %v, %v; want the %q version, %v", tc.lang, tc.name, got, ok, tc.wantLang, tc.ok)
		}
	}
}

func TestLoadTemplates_reports_every_broken_template(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"templates/en/invitation.tmpl":   {Data: []byte(`{{define "subject"}}x{{end}}{{define "body"}}{{.Link}{{end}}`)},
		"templates/en/verify_email.tmpl": {Data: []byte(`{{define "subject"}}x{{end}}`)},
	}
	_, err := loadTemplates(fsys)
	if err == nil {
		t.Fatal("broken templates loaded")
	}
	for _, want := range []string{
		"parse template templates/en/invitation.tmpl",
		`templates/en/verify_email.tmpl defines no "body"`,
		`"password_reset" has no en version`,
		`"member_removed" has no en version`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
