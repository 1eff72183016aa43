// Package docs holds the ledger's format specifications (formats.md) and
// their second implementation (examples/verify-vectors.mjs); its tests
// keep both true to the test vectors in testdata/vectors, which the Go
// packages' own tests check against the code.
package docs

import (
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestSecondImplementation_verifies_every_vector runs the JavaScript
// verifier, written from formats.md alone, over every vector file: it
// must agree with every expected byte, hash and verdict. Without Node.js
// the test is skipped, except under CI=true, where that is a failure.
func TestSecondImplementation_verifies_every_vector(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("node is not installed: the second implementation of docs/formats.md cannot run (CI=true)")
		}
		t.Skip("node is not installed; skipping the JavaScript verifier of docs/formats.md")
	}
	out, err := exec.Command(node, "examples/verify-vectors.mjs", "../testdata/vectors").CombinedOutput()
	if err != nil {
		t.Fatalf("verify-vectors.mjs: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`(?m)^(\d+) passed, 0 failed$`).FindSubmatch(out)
	if m == nil || string(m[1]) == "0" {
		t.Fatalf("verify-vectors.mjs printed no passing checks:\n%s", out)
	}
	t.Logf("verify-vectors.mjs: %s", strings.TrimSpace(string(out)))
}

// TestFormats_examples_are_the_vectors keeps the examples quoted in
// formats.md (a checkpoint note, its verifier key, an offline file's
// headers) identical to the checked vectors.
func TestFormats_examples_are_the_vectors(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("formats.md")
	if err != nil {
		t.Fatal(err)
	}
	var audit struct {
		VerifierKey string `json:"verifier_key"`
		Checkpoints []struct {
			Note string `json:"note"`
		} `json:"checkpoints"`
	}
	var offline struct {
		Answers []struct {
			File string `json:"file"`
		} `json:"answers"`
	}
	for name, v := range map[string]any{"audit.json": &audit, "offline.json": &offline} {
		raw, err := os.ReadFile("../testdata/vectors/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatal(err)
		}
	}
	file := offline.Answers[0].File
	quotes := map[string]string{
		"the checkpoint note":           audit.Checkpoints[len(audit.Checkpoints)-1].Note,
		"the verifier key":              audit.VerifierKey,
		"the activation file's headers": file[:strings.Index(file, "\n\n")+2],
	}
	for what, want := range quotes {
		if !strings.Contains(string(doc), want) {
			t.Errorf("formats.md does not quote %s of the vectors:\n%s", what, want)
		}
	}
}
