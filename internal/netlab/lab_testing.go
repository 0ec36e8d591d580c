package netlab

import "testing"

// NewT builds a lab for a test and registers its Close with t.Cleanup (which
// also runs when the test fails or panics).
func NewT(t testing.TB, cfg *Config) *Lab {
	t.Helper()
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("netlab: close lab %s: %v", l.ID, err)
		}
	})
	return l
}
