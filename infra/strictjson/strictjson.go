// Package strictjson decodes untrusted JSON the way rule X-7 wants it:
// exactly one value of the shape the Go type declares, every field
// required unless it says it is optional, no null, no unknown or repeated
// field, numbers that fit, and strings that are valid UTF-8 — raw bytes
// and \u escapes alike, which encoding/json silently turns into U+FFFD —
// without NUL or other control characters but line breaks and tabs. It
// reports every wrong field at once, by its path ("connections[3].user"),
// so that an adapter names them (the HTTP API's invalid_params).
//
// The rules for a Go type, read from its fields the way encoding/json
// reads them (embedded structs included):
//   - a field is required unless its json tag says omitempty or omitzero,
//     or its Go type is a pointer; a required field must be present;
//   - null is never a value: an optional field is left out instead;
//   - names match exactly, not case-insensitively;
//   - a type that decodes itself from text (encoding.TextUnmarshaler, such
//     as a domain enum) is asked at once, and its refusal names the field.
//
// Which fields may hold line breaks or invisible characters, and how long
// a text may be, is the domain's (package domain/text); no string here
// holds NUL or another control character, whatever its field.
package strictjson

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"seatledger/domain/invalid"
	"seatledger/domain/text"
)

// Error is what Decode refuses. Malformed errors are about the bytes (not
// JSON, not one value) and name no field; the others list every wrong
// field, Reason being the first one's.
type Error struct {
	// Malformed: the data is not one JSON value.
	Malformed bool
	// Reason says what is wrong, for a person.
	Reason string
	// Fields are the wrong fields, by path ("" for the whole value).
	Fields []invalid.Field
}

func (e *Error) Error() string { return "strictjson: " + e.Reason }

func malformed(format string, args ...any) *Error {
	return &Error{Malformed: true, Reason: fmt.Sprintf(format, args...)}
}

// Decode checks data against the shape of dst (a pointer) and then
// decodes it into dst. It returns an *Error for data it refuses, and a
// plain error only for a dst that is not a pointer (a programming error).
func Decode(data []byte, dst any) error {
	t := reflect.TypeOf(dst)
	if t == nil || t.Kind() != reflect.Pointer {
		return fmt.Errorf("strictjson: decode into %T: need a pointer", dst)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return malformed("the body is empty; send %s", shapeOf(t.Elem()).kind)
	}
	wk := &walker{data: data, dec: json.NewDecoder(bytes.NewReader(data))}
	wk.dec.UseNumber()
	if err := wk.value(shapeOf(t.Elem()), ""); err != nil {
		return err
	}
	if _, err := wk.dec.Token(); !errors.Is(err, io.EOF) {
		// One value only: a second one is most likely a client bug (two
		// bodies concatenated) that would otherwise be half-applied.
		return malformed("the body continues after its JSON value; send exactly one")
	}
	if len(wk.problems) > 0 {
		reason := wk.problems[0].Reason
		if len(wk.problems) > 1 {
			reason = fmt.Sprintf("%s (and %d more problems)", reason, len(wk.problems)-1)
		}
		return &Error{Reason: reason, Fields: wk.problems}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		// The walk checked what the decoder checks; this is a backstop.
		return &Error{Reason: "the value does not fit: " + strings.TrimPrefix(err.Error(), "json: ")}
	}
	return nil
}

// shapeKind is the JSON type a Go type is decoded from.
type shapeKind int

const (
	shapeAny shapeKind = iota // json.RawMessage, interfaces, json.Unmarshaler: checked by the type itself
	shapeObject
	shapeMap
	shapeArray
	shapeString
	shapeNumber
	shapeBool
)

func (k shapeKind) String() string {
	return [...]string{"any value", "an object", "an object", "an array", "a string", "a number", "true or false"}[k]
}

// shape is what the JSON of one Go type looks like.
type shape struct {
	kind   shapeKind
	goType reflect.Type
	fields map[string]*field // shapeObject, by exact JSON name
	order  []*field          // shapeObject, in declaration order
	elem   *shape            // shapeArray, shapeMap
	// text: the Go type decodes itself from a JSON string
	// (encoding.TextUnmarshaler), which may refuse it.
	text bool
	// self: the Go type decodes itself (json.Unmarshaler).
	self bool
}

type field struct {
	name     string
	required bool
	shape    *shape
}

var (
	shapes         sync.Map // reflect.Type → *shape
	unmarshalerT   = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalT = reflect.TypeFor[encoding.TextUnmarshaler]()
	timeT          = reflect.TypeFor[time.Time]()
	numberT        = reflect.TypeFor[json.Number]()
)

// shapeOf returns the shape of t, built once per type.
func shapeOf(t reflect.Type) *shape {
	if s, ok := shapes.Load(t); ok {
		return s.(*shape)
	}
	s := buildShape(t, map[reflect.Type]*shape{})
	shapes.Store(t, s)
	return s
}

func buildShape(t reflect.Type, building map[reflect.Type]*shape) *shape {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if s, ok := building[t]; ok { // a recursive type
		return s
	}
	s := &shape{goType: t}
	building[t] = s
	pt := reflect.PointerTo(t)
	switch {
	case t == timeT:
		s.kind, s.text = shapeString, true
	case t == numberT:
		s.kind = shapeNumber
	case pt.Implements(unmarshalerT):
		s.kind, s.self = shapeAny, true
	case pt.Implements(textUnmarshalT):
		s.kind, s.text = shapeString, true
	default:
		switch t.Kind() {
		case reflect.Struct:
			s.kind, s.fields = shapeObject, map[string]*field{}
			addFields(s, t, building)
		case reflect.Map:
			s.kind, s.elem = shapeMap, buildShape(t.Elem(), building)
		case reflect.Slice, reflect.Array:
			if t.Elem().Kind() == reflect.Uint8 {
				s.kind = shapeString // base64
			} else {
				s.kind, s.elem = shapeArray, buildShape(t.Elem(), building)
			}
		case reflect.String:
			s.kind = shapeString
		case reflect.Bool:
			s.kind = shapeBool
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
			reflect.Float32, reflect.Float64:
			s.kind = shapeNumber
		default:
			s.kind = shapeAny
		}
	}
	return s
}

// addFields adds t's JSON fields to s the way encoding/json sees them,
// embedded structs' fields included.
func addFields(s *shape, t reflect.Type, building map[reflect.Type]*shape) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				addFields(s, et, building)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		optional := f.Type.Kind() == reflect.Pointer
		for _, o := range strings.Split(opts, ",") {
			optional = optional || o == "omitempty" || o == "omitzero"
		}
		fd := &field{name: name, required: !optional, shape: buildShape(f.Type, building)}
		s.fields[name] = fd
		s.order = append(s.order, fd)
	}
}

// walker reads a body token by token against a shape, collecting every
// problem with a field rather than stopping at the first.
type walker struct {
	data     []byte
	dec      *json.Decoder
	problems []invalid.Field
}

func (w *walker) add(path, format string, args ...any) {
	w.problems = append(w.problems, invalid.Field{Name: path, Reason: fmt.Sprintf(format, args...)})
}

// token reads the next token and the raw bytes it was read from.
func (w *walker) token() (json.Token, []byte, error) {
	start := w.dec.InputOffset()
	tok, err := w.dec.Token()
	if err != nil {
		return nil, nil, w.syntax(err)
	}
	raw := w.data[start:w.dec.InputOffset()]
	// The decoder reads the separator before a value with the value.
	raw = bytes.TrimLeft(raw, " \t\r\n,:")
	return tok, raw, nil
}

// syntax explains a tokenizer error, which ends the walk.
func (w *walker) syntax(err error) error {
	var syn *json.SyntaxError
	isSyntax := errors.As(err, &syn)
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		// Since Go 1.27 the tokenizer reports a body cut short as a
		// syntax error rather than as an EOF (its offset is no guide: it
		// depends on how much the decoder had buffered).
		isSyntax && strings.Contains(syn.Error(), "unexpected end of JSON input"):
		return malformed("the body ends in the middle of a JSON value")
	case isSyntax:
		// The tokenizer's offset is where it stopped, which is at or just
		// before the bad byte depending on the token and the Go release.
		return malformed("malformed JSON near byte %d: %s", syn.Offset, strings.TrimPrefix(syn.Error(), "json: "))
	}
	return malformed("the body cannot be read as JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// label names path for a reason: "the body" at the root.
func label(path string) string {
	if path == "" {
		return "the body"
	}
	return path
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// value walks one JSON value at path against s.
func (w *walker) value(s *shape, path string) error {
	tok, raw, err := w.token()
	if err != nil {
		return err
	}
	if tok == nil {
		if path == "" {
			w.add(path, "the body is null; send %s", s.kind)
		} else {
			w.add(path, "%s must not be null; leave an optional field out instead", path)
		}
		return nil
	}
	got := tokenKind(tok)
	if s.kind != shapeAny && got != s.kind && !(s.kind == shapeMap && got == shapeObject) {
		if path == "" {
			w.add(path, "the body is %s; send %s", got, s.kind)
		} else {
			w.add(path, "%s must be %s, not %s", path, s.kind, got)
		}
		return w.skip(tok, path)
	}
	switch tok := tok.(type) {
	case json.Delim:
		if tok == '[' {
			return w.array(s, path)
		}
		return w.object(s, path)
	case string:
		return w.checkString(s, path, tok, raw)
	case json.Number:
		w.checkNumber(s, path, tok)
	}
	return nil
}

// tokenKind is the JSON type of a value's first token.
func tokenKind(tok json.Token) shapeKind {
	switch tok := tok.(type) {
	case json.Delim:
		if tok == '[' {
			return shapeArray
		}
		return shapeObject
	case string:
		return shapeString
	case json.Number, float64:
		return shapeNumber
	case bool:
		return shapeBool
	}
	return shapeAny
}

// skip reads past the rest of a value at path whose first token was tok.
func (w *walker) skip(tok json.Token, path string) error {
	if d, ok := tok.(json.Delim); !ok || (d != '{' && d != '[') {
		return nil
	}
	reported := false
	for depth := 1; depth > 0; {
		tok, raw, err := w.token()
		if err != nil {
			return err
		}
		switch tok := tok.(type) {
		case json.Delim:
			if tok == '{' || tok == '[' {
				depth++
			} else {
				depth--
			}
		case string:
			// Even a value of the wrong shape is text a client sent: its
			// encoding is checked so the problem is reported.
			if reason := rawStringProblem(raw); reason != "" && !reported {
				w.add(path, "a string inside %s %s", label(path), reason)
				reported = true
			}
		}
	}
	return nil
}

func (w *walker) array(s *shape, path string) error {
	elem := s.elem
	if s.kind == shapeAny {
		elem = &shape{kind: shapeAny}
	}
	for i := 0; w.dec.More(); i++ {
		if err := w.value(elem, fmt.Sprintf("%s[%d]", path, i)); err != nil {
			return err
		}
	}
	_, _, err := w.token() // ']'
	return err
}

func (w *walker) object(s *shape, path string) error {
	seen := map[string]bool{}
	for w.dec.More() {
		tok, raw, err := w.token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		if reason := rawStringProblem(raw); reason != "" {
			w.add(path, "a field name in %s %s", label(path), reason)
			key = strings.ToValidUTF8(key, "?")
		}
		child := join(path, key)
		if s.kind == shapeMap {
			if reason := text.Check("a field name in "+label(path), key, text.Identifier, 200); reason != "" {
				w.add(child, "%s", reason)
			}
		}
		var fs *shape
		switch s.kind {
		case shapeObject:
			f, ok := s.fields[key]
			if !ok {
				w.add(child, "unknown field %q", key)
				fs = &shape{kind: shapeAny}
			} else {
				fs = f.shape
			}
		case shapeMap:
			fs = s.elem
		default:
			fs = &shape{kind: shapeAny}
		}
		if seen[key] {
			w.add(child, "%s is given twice", child)
		}
		seen[key] = true
		if err := w.value(fs, child); err != nil {
			return err
		}
	}
	if _, _, err := w.token(); err != nil { // '}'
		return err
	}
	for _, f := range s.order {
		if f.required && !seen[f.name] {
			w.add(join(path, f.name), "%s is required", join(path, f.name))
		}
	}
	return nil
}

// checkString checks a string's encoding and characters, and lets a type
// that decodes itself from text say whether it takes the value.
func (w *walker) checkString(s *shape, path, value string, raw []byte) error {
	if reason := rawStringProblem(raw); reason != "" {
		w.add(path, "%s %s", label(path), reason)
		return nil
	}
	// Which fields may hold line breaks, invisible characters and how many
	// characters is the domain's (package text); none holds NUL or another
	// control character, whatever it is.
	if reason := text.Check(label(path), value, text.Free, math.MaxInt); reason != "" {
		w.add(path, "%s", reason)
		return nil
	}
	switch {
	case s.goType == timeT:
		if _, err := time.Parse(time.RFC3339, value); err != nil {
			w.add(path, "%s must be a time in RFC 3339 form, such as 2026-03-01T12:00:00Z", label(path))
		}
	case s.text:
		v := reflect.New(s.goType).Interface().(encoding.TextUnmarshaler)
		w.refusal(path, v.UnmarshalText([]byte(value)))
	case s.self:
		v := reflect.New(s.goType).Interface().(json.Unmarshaler)
		w.refusal(path, v.UnmarshalJSON(raw))
	}
	return nil
}

// refusal records why a type refused the value at path, if it did: the
// domain's own reason when it gives one (an *invalid.Error), else its
// message.
func (w *walker) refusal(path string, err error) {
	if err == nil {
		return
	}
	var fields *invalid.Error
	if errors.As(err, &fields) && len(fields.Fields) > 0 {
		w.add(path, "%s", fields.Fields[0].Reason)
		return
	}
	w.add(path, "%s: %s", label(path), withoutPackage(err.Error()))
}

// checkNumber checks that a number fits its Go type.
func (w *walker) checkNumber(s *shape, path string, n json.Number) {
	if s.goType == nil {
		return
	}
	switch s.goType.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits := s.goType.Bits()
		if _, err := strconv.ParseInt(string(n), 10, bits); err != nil {
			w.add(path, "%s must be a whole number from %d to %d, not %s", label(path), int64(-1)<<(bits-1), int64(1)<<(bits-1)-1, n)
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		bits := s.goType.Bits()
		if _, err := strconv.ParseUint(string(n), 10, bits); err != nil {
			w.add(path, "%s must be a whole number from 0 to %d, not %s", label(path), uint64(1)<<bits-1, n)
		}
	case reflect.Float32, reflect.Float64:
		if _, err := strconv.ParseFloat(string(n), s.goType.Bits()); err != nil {
			w.add(path, "%s is out of range: %s", label(path), n)
		}
	}
}

// withoutPackage drops a Go package prefix ("account: …") from a message.
func withoutPackage(msg string) string {
	if i := strings.Index(msg, ": "); i > 0 && !strings.Contains(msg[:i], " ") {
		return msg[i+2:]
	}
	return msg
}

// rawStringProblem checks a JSON string as the client sent it, quotes
// included: encoding/json decodes invalid UTF-8 and unpaired surrogate
// escapes to U+FFFD without a word, so they are looked for here, in the
// raw bytes, before anything is decoded.
func rawStringProblem(raw []byte) string {
	if !utf8.Valid(raw) {
		return "is not valid UTF-8"
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		i++
		if i >= len(raw) || raw[i] != 'u' {
			continue
		}
		r, ok := hex4(raw, i+1)
		if !ok {
			continue // the tokenizer refuses it
		}
		i += 4
		switch {
		case r >= 0xDC00 && r <= 0xDFFF:
			return fmt.Sprintf("holds an unpaired surrogate (\\u%04x)", r)
		case r >= 0xD800 && r <= 0xDBFF:
			if i+2 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
				if lo, ok := hex4(raw, i+3); ok && lo >= 0xDC00 && lo <= 0xDFFF {
					i += 6
					continue
				}
			}
			return fmt.Sprintf("holds an unpaired surrogate (\\u%04x)", r)
		}
	}
	return ""
}

// hex4 reads four hex digits at b[i:].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b[i:i+4]), 16, 32)
	return rune(n), err == nil
}
