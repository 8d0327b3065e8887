package access

import (
	"encoding/binary"
	"testing"
)

// pagesOf serves n items in pages, each at most short items long (a
// filtered store page may be short), counting the calls.
func pagesOf(n, short int, calls *int) func(PageRequest) (Page[int], error) {
	return func(p PageRequest) (Page[int], error) {
		*calls++
		from := 0
		if p.After != nil {
			from = int(binary.BigEndian.Uint32(p.After))
		}
		to := min(n, from+min(p.Limit, short))
		out := Page[int]{}
		for i := from; i < to; i++ {
			out.Items = append(out.Items, i)
		}
		if to < n {
			out.Next = binary.BigEndian.AppendUint32(nil, uint32(to))
		}
		return out, nil
	}
}

func TestCountPages(t *testing.T) {
	even := func(i int) (bool, error) { return i%2 == 0, nil }
	for _, c := range []struct {
		name           string
		items, short   int
		want, maxCalls int
		capped         bool
	}{
		{"empty", 0, MaxPageSize, 0, 1, false},
		{"one page", 100, MaxPageSize, 50, 1, false},
		{"exactly the cap", MaxInboxCount, MaxPageSize, MaxInboxCount / 2, 4, false},
		{"past the cap", MaxInboxCount + 1, MaxPageSize, MaxInboxCount / 2, 4, true},
		{"short pages stop at the page cap", 10000, 10, maxCountPages * 10 / 2, maxCountPages, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			calls := 0
			n, capped, err := countPages(pagesOf(c.items, c.short, &calls), even)
			if err != nil || n != c.want || capped != c.capped || calls > c.maxCalls {
				t.Fatalf("count = %d, capped %v, %d calls, %v; want %d, capped %v, at most %d calls", n, capped, calls, err, c.want, c.capped, c.maxCalls)
			}
		})
	}
}
