package strictjson_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"
	"unicode/utf8"

	"seatledger/infra/strictjson"
)

// fuzzBody has a field of every kind the decoder knows.
type fuzzBody struct {
	Name    string            `json:"name"`
	On      bool              `json:"on"`
	Seats   int               `json:"seats"`
	Note    string            `json:"note,omitempty"`
	Limit   *int64            `json:"limit"`
	At      *time.Time        `json:"at,omitempty"`
	Items   []fuzzItem        `json:"items,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
	Raw     json.RawMessage   `json:"raw,omitempty"`
	Ratio   float64           `json:"ratio,omitempty"`
	Nested  *fuzzItem         `json:"nested,omitempty"`
	Numbers []uint8           `json:"numbers,omitempty"`
}

type fuzzItem struct {
	User string `json:"user"`
	Host string `json:"host,omitempty"`
}

// FuzzDecode feeds request bodies to the strict decoder every route uses
// (rule X-7, issue 16): it never panics, refuses with an *Error, and what
// it accepts is valid UTF-8 JSON, decodes alike with encoding/json, and
// holds no NUL or other control character in any string.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"name":"n","on":true,"seats":1}`,
		`{"name":"Caf\u00e9 \ud83d\ude80","on":false,"seats":0,"limit":3,"items":[{"user":"u","host":"h"}],"labels":{"k":"v"},"raw":[1,{"a":null}]}`,
		`{"name":"a\ud800","on":true,"seats":1}`, "{\"name\":\"\xff\",\"on\":true,\"seats\":1}", `null`, `{"name":null}`,
		`{"name":"n","on":true,"seats":1e400}`, `{"name":"n","on":true,"seats":1,"seats":2}`, `{} {}`, `[`, `{"numbers":[256]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var got fuzzBody
		err := strictjson.Decode(data, &got)
		if err != nil {
			var refused *strictjson.Error
			if !errors.As(err, &refused) || refused.Reason == "" || (!refused.Malformed && len(refused.Fields) == 0) {
				t.Fatalf("refused %q with %#v", data, err)
			}
			return
		}
		if !utf8.Valid(data) || !json.Valid(data) {
			t.Fatalf("accepted %q", data)
		}
		var plain fuzzBody
		if err := json.Unmarshal(data, &plain); err != nil {
			t.Fatalf("accepted %q, which encoding/json refuses: %v", data, err)
		}
		a, _ := json.Marshal(got)
		b, _ := json.Marshal(plain)
		if !bytes.Equal(a, b) {
			t.Fatalf("accepted %q as %s, encoding/json reads %s", data, a, b)
		}
		// A replacement character is only there if the client sent one.
		sentFFFD := bytes.Contains(data, []byte("\uFFFD")) || bytes.Contains(bytes.ToLower(data), []byte(`\ufffd`))
		for _, s := range append([]string{got.Name, got.Note}, itemTexts(got)...) {
			for _, r := range s {
				if r == 0 || (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || (r == utf8.RuneError && !sentFFFD) {
					t.Fatalf("accepted %q holding %U", data, r)
				}
			}
		}
	})
}

func itemTexts(b fuzzBody) []string {
	var out []string
	for _, it := range b.Items {
		out = append(out, it.User, it.Host)
	}
	for k, v := range b.Labels {
		out = append(out, k, v)
	}
	return out
}
