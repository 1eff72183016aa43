package mail

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"text/template"

	"seatledger/projections"
)

// The templates live in templates/<language>/<template>.tmpl; each file
// defines "subject" and "body".
//
//go:embed templates
var templateFS embed.FS

// fallbackLanguage has every template (checked when the package loads).
const fallbackLanguage = "en"

// knownTemplates are the templates the notifier uses.
var knownTemplates = []string{
	projections.TemplateWebhookDisabled,
	projections.TemplateVerifyEmail,
	projections.TemplatePasswordReset,
	projections.TemplateInvitation,
	projections.TemplateMemberBlocked,
	projections.TemplateMemberUnblocked,
	projections.TemplateMemberRemoved,
	projections.TemplateSubscriptionEnding,
	projections.TemplateSubscriptionGrace,
	projections.TemplateTicketUpdate,
	projections.TemplateTicketWatcher,
	projections.TemplateInstallationGrace,
	projections.TemplateInstallationSuspended,
	projections.TemplateInstallationOverLimit,
}

// catalogue maps language, then template name, to its parsed template.
type catalogue map[string]map[string]*template.Template

// templates is loaded once; New reports templatesErr, so that a broken
// template stops the server at start-up rather than at the first mail.
var templates, templatesErr = loadTemplates(templateFS)

// loadTemplates parses every templates/<language>/<name>.tmpl of fsys and
// checks that each defines a subject and a body and that the fallback
// language has every known template.
func loadTemplates(fsys fs.FS) (catalogue, error) {
	files, err := fs.Glob(fsys, "templates/*/*.tmpl")
	if err != nil {
		return nil, fmt.Errorf("mail: list templates: %w", err)
	}
	cat := catalogue{}
	var errs []error
	for _, file := range files {
		lang := path.Base(path.Dir(file))
		name := strings.TrimSuffix(path.Base(file), ".tmpl")
		src, err := fs.ReadFile(fsys, file)
		if err != nil {
			errs = append(errs, fmt.Errorf("mail: read template %s: %w", file, err))
			continue
		}
		// missingkey=zero: a field the notifier left out renders empty, so
		// templates can test it with {{with}}.
		t, err := template.New(name).Option("missingkey=zero").Parse(string(src))
		if err != nil {
			errs = append(errs, fmt.Errorf("mail: parse template %s: %w", file, err))
			continue
		}
		for _, part := range []string{"subject", "body"} {
			if t.Lookup(part) == nil {
				errs = append(errs, fmt.Errorf("mail: template %s defines no %q", file, part))
			}
		}
		if cat[lang] == nil {
			cat[lang] = map[string]*template.Template{}
		}
		cat[lang][name] = t
	}
	for _, name := range knownTemplates {
		if cat[fallbackLanguage][name] == nil {
			errs = append(errs, fmt.Errorf("mail: template %q has no %s version", name, fallbackLanguage))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return cat, nil
}

// languages returns the catalogue's languages, sorted.
func (c catalogue) languages() []string {
	out := make([]string, 0, len(c))
	for lang := range c {
		out = append(out, lang)
	}
	sort.Strings(out)
	return out
}

// lookup returns the template name in lang, else in the fallback
// language; ok is false when the template is unknown.
func (c catalogue) lookup(lang, name string) (t *template.Template, ok bool) {
	if t := c[baseLanguage(lang)][name]; t != nil {
		return t, true
	}
	t = c[fallbackLanguage][name]
	return t, t != nil
}

// baseLanguage reduces a language tag to its primary subtag ("de-AT" →
// "de").
func baseLanguage(tag string) string {
	tag = strings.ToLower(strings.TrimSpace(tag))
	if i := strings.IndexAny(tag, "-_"); i >= 0 {
		tag = tag[:i]
	}
	return tag
}

// templateData is what a template sees: .Data (the notifier's fields,
// "" when absent) and .Link (the action link, "" when none).
type templateData struct {
	Data map[string]string
	Link string
}

// render executes t's subject and body. The subject is folded onto one
// line, so that a field with a line break cannot break the header.
func render(t *template.Template, data templateData) (subject, body string, err error) {
	var sb, bb strings.Builder
	if err := t.ExecuteTemplate(&sb, "subject", data); err != nil {
		return "", "", fmt.Errorf("render subject: %w", err)
	}
	if err := t.ExecuteTemplate(&bb, "body", data); err != nil {
		return "", "", fmt.Errorf("render body: %w", err)
	}
	subject = strings.Join(strings.Fields(sb.String()), " ")
	body = strings.TrimSpace(bb.String()) + "\n"
	return subject, body, nil
}
