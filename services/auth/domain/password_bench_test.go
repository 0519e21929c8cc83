package domain

import "testing"

// BenchmarkVerify is the CPU one login costs in auth at the default cost
// (make bench-go; docs/benchmarks.md).
func BenchmarkVerify(b *testing.B) {
	h := Hasher{Params: OWASPMinimum}
	hash, err := h.Hash("correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, _, err := h.Verify(hash, "correct horse battery staple"); err != nil || !ok {
			b.Fatal("verify failed", err)
		}
	}
}
