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

// benchReport is a usage report as installations send it.
type benchReport struct {
	ObservedAt  *time.Time `json:"observed_at"`
	Seats       *int       `json:"seats"`
	Connections []struct {
		User  string `json:"user"`
		Type  string `json:"type"`
		Admin bool   `json:"admin,omitempty"`
		Host  string `json:"host"`
	} `json:"connections,omitempty"`
}

// BenchmarkDecode prices the strict decoder on the hot path's bodies (a
// usage report of a seat count, and of 100 connections) against plain
// encoding/json, which it runs after its checks:
//
//	go test -run '^$' -bench BenchmarkDecode ./infra/strictjson
func BenchmarkDecode(b *testing.B) {
	conns := `{"observed_at":"2026-03-01T10:00:00Z","connections":[`
	for i := range 100 {
		if i > 0 {
			conns += ","
		}
		conns += `{"user":"CORP\\user-` + string(rune('a'+i%26)) + `","type":"published_app","host":"rdsh-01"}`
	}
	conns += "]}"
	for _, c := range []struct{ name, body string }{
		{"seats", `{"observed_at":"2026-03-01T10:00:00Z","seats":12}`},
		{"100-connections", conns},
	} {
		data := []byte(c.body)
		b.Run(c.name+"/strict", func(b *testing.B) {
			for b.Loop() {
				var r benchReport
				if err := strictjson.Decode(data, &r); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/encoding-json", func(b *testing.B) {
			for b.Loop() {
				var r benchReport
				if err := json.Unmarshal(data, &r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
