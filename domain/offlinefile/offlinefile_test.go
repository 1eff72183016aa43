package offlinefile_test

import (
	"errors"
	"testing"
	"time"

	"seatledger/domain/offlinefile"
)

var now = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// decoded is a Format that reads every file as f, if of the kind asked
// for: the text format is infra/offline's, the rules here are not.
type decoded struct{ f offlinefile.File }

func (d decoded) Decode(_ []byte, want offlinefile.Kind) (offlinefile.File, error) {
	if d.f.Kind != want {
		return offlinefile.File{}, offlinefile.ErrKind
	}
	return d.f, nil
}

func (decoded) DecodeContent(offlinefile.File, any) error { return nil }

// Rule ACT-2: a request is read when it is no older than MaxRequestAge
// and dated no more than DefaultDrift in the future; an answer is no
// request.
func TestReadRequest_age_and_kind_ACT2(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		kind   offlinefile.Kind
		issued time.Time
		want   error
	}{
		{"an activation request of now", offlinefile.ActivationRequest, now, nil},
		{"a refresh request of 30 days ago", offlinefile.RefreshRequest, now.Add(-offlinefile.MaxRequestAge), nil},
		{"a deactivation request within the drift", offlinefile.DeactivationRequest, now.Add(offlinefile.DefaultDrift), nil},
		{"a request older than 30 days", offlinefile.ActivationRequest, now.Add(-offlinefile.MaxRequestAge - time.Second), offlinefile.ErrExpired},
		{"a request dated beyond the drift", offlinefile.ActivationRequest, now.Add(offlinefile.DefaultDrift + time.Second), offlinefile.ErrFuture},
		{"an answer", offlinefile.Activation, now, offlinefile.ErrKind},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, err := offlinefile.ReadRequest(decoded{offlinefile.File{Kind: tc.kind, Issued: tc.issued, Nonce: "n", Server: "farm/s"}}, nil, now)
			if !errors.Is(err, tc.want) || (err == nil && f.Kind != tc.kind) {
				t.Fatalf("ReadRequest = %+v, %v; want %v", f, err, tc.want)
			}
		})
	}
}

// Rules ACT-2, ACT-5, ACT-6: an answer is bound to its request's nonce
// and server, issued in whole seconds and valid for AnswerValidity; only
// the three answer kinds are answers.
func TestAnswer_binds_the_request_ACT2_ACT5_ACT6(t *testing.T) {
	t.Parallel()
	req := offlinefile.File{Kind: offlinefile.RefreshRequest, Issued: now.Add(-time.Hour), Nonce: "n-1", Server: "farm/srv-1"}
	a, err := offlinefile.Answer(offlinefile.SubscriptionInfo, req, []byte(`{}`), now.Add(1500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	issued := now.Add(time.Second)
	if a.Kind != offlinefile.SubscriptionInfo || a.Nonce != "n-1" || a.Server != "farm/srv-1" || !a.Issued.Equal(issued) ||
		!a.Expires.Equal(issued.Add(offlinefile.AnswerValidity)) {
		t.Fatalf("answer %+v", a)
	}
	if err := offlinefile.CheckAnswer(a, issued.Add(offlinefile.AnswerValidity-time.Second), offlinefile.DefaultDrift); err != nil {
		t.Errorf("an answer within its validity: %v", err)
	}
	if err := offlinefile.CheckAnswer(a, issued.Add(offlinefile.AnswerValidity), offlinefile.DefaultDrift); !errors.Is(err, offlinefile.ErrExpired) {
		t.Errorf("an answer at its expiry: %v", err)
	}
	if err := offlinefile.CheckAnswer(a, issued.Add(-offlinefile.DefaultDrift-time.Second), offlinefile.DefaultDrift); !errors.Is(err, offlinefile.ErrFuture) {
		t.Errorf("an answer from beyond the drift: %v", err)
	}
	if _, err := offlinefile.Answer(offlinefile.ActivationRequest, req, nil, now); !errors.Is(err, offlinefile.ErrKind) {
		t.Errorf("a request as an answer: %v", err)
	}
}

// Rules ACT-5, ACT-6: a proof fits the one request it was made for.
func TestProof_fits_one_request_ACT5_ACT6(t *testing.T) {
	t.Parallel()
	p := offlinefile.Proof("sli_cred", offlinefile.RefreshRequest, "n-1", "farm/srv-1", "inst-1")
	if !offlinefile.CheckProof(p, "sli_cred", offlinefile.RefreshRequest, "n-1", "farm/srv-1", "inst-1") {
		t.Fatal("a proof is refused for its own request")
	}
	for name, ok := range map[string]bool{
		"another credential":   offlinefile.CheckProof(p, "sli_other", offlinefile.RefreshRequest, "n-1", "farm/srv-1", "inst-1"),
		"another kind":         offlinefile.CheckProof(p, "sli_cred", offlinefile.DeactivationRequest, "n-1", "farm/srv-1", "inst-1"),
		"another nonce":        offlinefile.CheckProof(p, "sli_cred", offlinefile.RefreshRequest, "n-2", "farm/srv-1", "inst-1"),
		"another server":       offlinefile.CheckProof(p, "sli_cred", offlinefile.RefreshRequest, "n-1", "farm/srv-2", "inst-1"),
		"another installation": offlinefile.CheckProof(p, "sli_cred", offlinefile.RefreshRequest, "n-1", "farm/srv-1", "inst-2"),
	} {
		if ok {
			t.Errorf("the proof passes for %s", name)
		}
	}
}
