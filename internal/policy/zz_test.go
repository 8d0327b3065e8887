package policy
import ("testing";"time")
func BenchmarkZZEmpty(b *testing.B) {
	s := mustParse(b, "")
	req := Request{
		Principal:       User{ID: "alice", Groups: []string{"engineering-0", "sre-1", "oncall"}},
		Resource:        Resource{Type: ResourceAccount, ID: "100000000013", Ancestors: []string{"r-abcd", "ou-abcd-00000003", "ou-abcd-00000013"}},
		Action:          "Admin", DurationSeconds: 3600, Justification: "INC-4711: payment errors",
		Time:            time.Date(2025, 3, 11, 9, 30, 0, 0, time.UTC),
	}
	b.ReportAllocs()
	for b.Loop() { s.Decide(req) }
}
