// Package docs holds the ledger's format specifications (formats.md) and
// two implementations of them besides the Go code
// (examples/verify-vectors.mjs and examples/verify_vectors.py); its tests
// keep all of them true to the test vectors in testdata/vectors, which the
// Go packages' own tests check against the code.
package docs

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestSecondImplementation_verifies_every_vector runs the JavaScript
// verifier, written from formats.md, over every vector file: it must agree
// with every expected byte, hash and verdict. Without Node.js the test is
// skipped, except under CI=true, where that is a failure.
func TestSecondImplementation_verifies_every_vector(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		missing(t, "node is not installed: the JavaScript verifier of docs/formats.md cannot run")
	}
	runVerifier(t, "verify-vectors.mjs", exec.Command(node, "examples/verify-vectors.mjs", "../testdata/vectors"))
}

// pythonPath is Debian's interpreter, whose python3-cryptography package
// the Python verifier uses for Ed25519 (`make python3-cryptography`
// installs it).
const pythonPath = "/usr/bin/python3"

// TestOutsideImplementation_verifies_every_vector runs the Python
// verifier, which an outside engineer wrote from formats.md alone, over
// every vector file: it must agree with every expected byte, hash and
// verdict. Without /usr/bin/python3 or its cryptography module the test is
// skipped, except under CI=true, where that is a failure.
func TestOutsideImplementation_verifies_every_vector(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(pythonPath); err != nil {
		missing(t, pythonPath+" is not installed: the Python verifier of docs/formats.md cannot run")
	}
	probe := exec.Command(pythonPath, "-c", "from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey")
	if out, err := probe.CombinedOutput(); err != nil {
		missing(t, fmt.Sprintf("%s has no cryptography module (make python3-cryptography): %v\n%s", pythonPath, err, out))
	}
	runVerifier(t, "verify_vectors.py", exec.Command(pythonPath, "examples/verify_vectors.py", "../testdata/vectors"))
}

// missing skips the test for a missing tool, or fails it under CI=true.
func missing(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(why + " (CI=true)")
	}
	t.Skip(why + "; skipping")
}

// runVerifier runs a verifier and demands that it passed checks and failed
// none.
func runVerifier(t *testing.T, name string, cmd *exec.Cmd) {
	t.Helper()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", name, err, out)
	}
	m := regexp.MustCompile(`(?m)^(\d+) passed, 0 failed$`).FindSubmatch(out)
	if m == nil || string(m[1]) == "0" {
		t.Fatalf("%s printed no passing checks:\n%s", name, out)
	}
	t.Logf("%s: %s", name, strings.TrimSpace(string(out)))
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
