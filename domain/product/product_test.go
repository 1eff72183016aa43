package product_test

import (
	"errors"
	"testing"

	"seatledger/domain/product"
)

var ras = product.Defined{ProductID: "ras", Name: "Remote Application Server", Model: product.ConcurrentUsers,
	Trial: product.Trial{Days: 30, Seats: 5}, MajorVersion: 19}

// Rules PROD-1, SUB-8: a product has exactly one licensing model, which
// never changes, and trial terms within limits.
func TestDefine_PROD1_SUB8(t *testing.T) {
	t.Parallel()
	evs, err := product.Product{}.Define(ras)
	if err != nil || len(evs) != 1 {
		t.Fatalf("%v %v", evs, err)
	}
	p := product.Product{}.Evolve(evs[0])
	if !p.Exists() || p.Model() != product.ConcurrentUsers || p.Trial().Seats != 5 || p.MajorVersion() != 19 {
		t.Fatalf("product %+v", p)
	}
	if _, err := p.Define(ras); !errors.Is(err, product.ErrNoChange) {
		t.Errorf("the same terms again: %v", err)
	}
	other := ras
	other.Model = product.ManagedComputers
	if _, err := p.Define(other); !errors.Is(err, product.ErrModel) {
		t.Errorf("changing the model: %v", err)
	}
	newer := ras
	newer.MajorVersion = 20
	if evs, err := p.Define(newer); err != nil || len(evs) != 1 {
		t.Errorf("a new major version: %v", err)
	}
	for name, bad := range map[string]product.Defined{
		"id":          {ProductID: "Bad ID", Name: "x", Model: product.ConcurrentUsers},
		"name":        {ProductID: "x", Name: " ", Model: product.ConcurrentUsers},
		"model":       {ProductID: "x", Name: "x", Model: "seats"},
		"trial days":  {ProductID: "x", Name: "x", Model: product.ConcurrentUsers, Trial: product.Trial{Days: 91, Seats: 1}},
		"trial seats": {ProductID: "x", Name: "x", Model: product.ConcurrentUsers, Trial: product.Trial{Days: 30}},
		"seats alone": {ProductID: "x", Name: "x", Model: product.ConcurrentUsers, Trial: product.Trial{Seats: 3}},
		"major":       {ProductID: "x", Name: "x", Model: product.ConcurrentUsers, MajorVersion: -1},
	} {
		if _, err := (product.Product{}).Define(bad); !errors.Is(err, product.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
