package fairshare_test

import (
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/fairshare"
)

var now = time.Date(2030, 1, 7, 9, 0, 0, 0, time.UTC)

func TestAdmit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		held    map[string]int
		refused map[string]time.Time
		owner   string
		want    bool
	}{
		{"empty pool", nil, nil, "a", true},
		{"alone, an owner takes the whole pool", map[string]int{"a": 9}, nil, "a", true},
		{"the pool is full", map[string]int{"a": 10}, nil, "b", false},
		{"full, even for the owner", map[string]int{"a": 10}, nil, "a", false},
		{"once b waited, a stops at its share", map[string]int{"a": 9}, map[string]time.Time{"b": now.Add(-time.Second)}, "a", false},
		{"and b takes the freed slot", map[string]int{"a": 9}, map[string]time.Time{"b": now.Add(-time.Second)}, "b", true},
		{"a below its share again", map[string]int{"a": 4, "b": 1}, nil, "a", true},
		{"a at its share", map[string]int{"a": 5, "b": 1}, nil, "a", false},
		{"an old refusal no longer counts", map[string]int{"a": 9}, map[string]time.Time{"b": now.Add(-fairshare.Waiting)}, "a", true},
		{"three contenders share three each", map[string]int{"a": 3, "b": 3}, map[string]time.Time{"c": now}, "a", false},
		{"the third gets its slots", map[string]int{"a": 3, "b": 3}, map[string]time.Time{"c": now}, "c", true},
		{"more contenders than slots: one each", map[string]int{"a": 1, "b": 1}, map[string]time.Time{"c": now, "d": now}, "c", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := fairshare.Pool{Size: 10, Held: tc.held, Refused: tc.refused}
			if got := p.Admit(tc.owner, now); got != tc.want {
				t.Errorf("Admit(%s) = %v, want %v", tc.owner, got, tc.want)
			}
		})
	}
}
