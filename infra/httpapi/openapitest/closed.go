package openapitest

import (
	"slices"

	"github.com/getkin/kin-openapi/openapi3"
)

// closeObjects closes every object schema of doc that lists properties
// and leaves others unsaid (unevaluatedProperties: false), so that an
// undescribed field fails validation. Subschemas that describe part of an object (allOf members,
// if/then/else, not) stay open; the schema composing them is closed with
// unevaluatedProperties instead, which sees what its members evaluated.
// A component used both alone and as an allOf member is closed alone and
// copied open into the allOf.
func closeObjects(doc *openapi3.T) {
	c := closer{partial: map[*openapi3.Schema]bool{}, seen: map[*openapi3.Schema]bool{}}
	if doc.Components != nil {
		for _, s := range doc.Components.Schemas {
			c.walk(s)
		}
		for _, p := range doc.Components.Parameters {
			if p.Value != nil {
				c.walk(p.Value.Schema)
			}
		}
		for _, h := range doc.Components.Headers {
			if h.Value != nil {
				c.walk(h.Value.Schema)
			}
		}
		for _, b := range doc.Components.RequestBodies {
			if b.Value != nil {
				c.content(b.Value.Content)
			}
		}
		for _, r := range doc.Components.Responses {
			c.response(r)
		}
	}
	for _, item := range doc.Paths.Map() {
		for _, p := range item.Parameters {
			if p.Value != nil {
				c.walk(p.Value.Schema)
			}
		}
		for _, op := range item.Operations() {
			for _, p := range op.Parameters {
				if p.Value != nil {
					c.walk(p.Value.Schema)
				}
			}
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				c.content(op.RequestBody.Value.Content)
			}
			if op.Responses != nil {
				for _, r := range op.Responses.Map() {
					c.response(r)
				}
			}
		}
	}
	for s := range c.seen {
		if c.partial[s] || len(s.Properties) == 0 && len(s.AllOf) == 0 {
			continue
		}
		if s.AdditionalProperties.Has != nil || s.AdditionalProperties.Schema != nil ||
			s.UnevaluatedProperties.Has != nil || s.UnevaluatedProperties.Schema != nil ||
			len(s.PatternProperties) > 0 {
			continue
		}
		// unevaluatedProperties rather than additionalProperties even
		// where nothing is composed: it is a JSON Schema 2020-12 keyword,
		// so kin-openapi validates with its 2020-12 validator, whose
		// semantics are OpenAPI 3.1's (an empty schema admits null),
		// instead of falling back to its OpenAPI 3.0 one.
		no := false
		s.UnevaluatedProperties = openapi3.BoolSchema{Has: &no}
	}
}

type closer struct {
	partial map[*openapi3.Schema]bool // describes part of an object
	seen    map[*openapi3.Schema]bool
}

func (c *closer) response(r *openapi3.ResponseRef) {
	if r == nil || r.Value == nil {
		return
	}
	c.content(r.Value.Content)
	for _, h := range r.Value.Headers {
		if h.Value != nil {
			c.walk(h.Value.Schema)
		}
	}
}

func (c *closer) content(content openapi3.Content) {
	for _, mt := range content {
		if mt != nil {
			c.walk(mt.Schema)
		}
	}
}

func (c *closer) walk(ref *openapi3.SchemaRef) {
	if ref == nil || ref.Value == nil || c.seen[ref.Value] {
		return
	}
	s := ref.Value
	c.seen[s] = true
	for i, m := range s.AllOf {
		if m == nil || m.Value == nil {
			continue
		}
		if m.Ref != "" {
			// The component stays closable where it stands alone.
			c.walk(m)
			open := *m.Value
			m = &openapi3.SchemaRef{Value: &open}
			s.AllOf[i] = m
		}
		c.partial[m.Value] = true
		c.walk(m)
	}
	for _, sub := range []*openapi3.SchemaRef{s.If, s.Then, s.Else, s.Not} {
		if sub != nil && sub.Value != nil {
			if sub.Ref == "" {
				c.partial[sub.Value] = true
			}
			c.walk(sub)
		}
	}
	subs := slices.Concat(s.AnyOf, s.OneOf, s.PrefixItems)
	subs = append(subs, s.Items, s.AdditionalProperties.Schema, s.Contains, s.PropertyNames)
	for _, p := range s.Properties {
		subs = append(subs, p)
	}
	for _, p := range s.PatternProperties {
		subs = append(subs, p)
	}
	for _, sub := range subs {
		c.walk(sub)
	}
}
