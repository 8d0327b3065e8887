package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

// commit commits c and fails the test if it does not land.
func commit(t *testing.T, s access.Store, c access.Change) {
	t.Helper()
	if err := s.Commit(t.Context(), c); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

// sentinels are the store errors of the contract.
var sentinels = []error{access.ErrNotFound, access.ErrStale, access.ErrIdempotencyTaken, access.ErrUnique}

// sentinelProblem says how err fails to be the store error target: it must
// wrap target, no other sentinel, and carry no API code (a store reports
// what happened; the domain decides what a client sees).
func sentinelProblem(err, target error) string {
	if !errors.Is(err, target) {
		return fmt.Sprintf("got error %v, want one wrapping %q", err, target)
	}
	for _, other := range sentinels {
		if other != target && errors.Is(err, other) {
			return fmt.Sprintf("error %v wraps %q besides %q", err, other, target)
		}
	}
	if code := access.CodeOf(err); code != access.CodeInternal {
		return fmt.Sprintf("error %v carries the API code %q; a store error carries none", err, code)
	}
	return ""
}

// wantErr fails the test unless err is the store error target.
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if p := sentinelProblem(err, target); p != "" {
		t.Errorf("%s: %s", what, p)
	}
}

// same fails the test when got differs from want (see diff).
func same(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := diff(want, got); d != "" {
		t.Errorf("%s: %s", what, d)
	}
}

// clone deep-copies a domain value, so a test can keep what it wrote while it
// changes the original.
func clone[T any](t *testing.T, v T) T {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("clone %T: %v", v, err)
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("clone %T: %v", v, err)
	}
	return out
}

var (
	timeType    = reflect.TypeFor[time.Time]()
	jsonMapType = reflect.TypeFor[map[string]any]()
)

// diff describes the first difference between want and got, or returns "".
// Times compare with time.Equal, nil and empty slices and maps are equal, and
// JSON maps (metadata, audit details) compare as JSON text.
func diff(want, got any) string {
	w, g := reflect.ValueOf(want), reflect.ValueOf(got)
	return diffValue(w.Type().Name(), w, g)
}

func diffValue(path string, w, g reflect.Value) string {
	switch {
	case w.Type() == timeType:
		if wt, gt := w.Interface().(time.Time), g.Interface().(time.Time); !wt.Equal(gt) {
			return fmt.Sprintf("%s: want %v, got %v", path, wt, gt)
		}
		return ""
	case w.Type() == jsonMapType:
		if wj, gj := jsonText(w), jsonText(g); wj != gj {
			return fmt.Sprintf("%s: want %s, got %s", path, wj, gj)
		}
		return ""
	}
	switch w.Kind() {
	case reflect.Struct:
		for i := range w.NumField() {
			if d := diffValue(path+"."+w.Type().Field(i).Name, w.Field(i), g.Field(i)); d != "" {
				return d
			}
		}
	case reflect.Pointer:
		if w.IsNil() || g.IsNil() {
			if w.IsNil() != g.IsNil() {
				return fmt.Sprintf("%s: want nil %v, got nil %v", path, w.IsNil(), g.IsNil())
			}
			return ""
		}
		return diffValue(path, w.Elem(), g.Elem())
	case reflect.Slice:
		if w.Len() != g.Len() {
			return fmt.Sprintf("%s: want %d items %v, got %d items %v", path, w.Len(), w, g.Len(), g)
		}
		for i := range w.Len() {
			if d := diffValue(fmt.Sprintf("%s[%d]", path, i), w.Index(i), g.Index(i)); d != "" {
				return d
			}
		}
	case reflect.Map:
		if w.Len() != g.Len() {
			return fmt.Sprintf("%s: want %v, got %v", path, w, g)
		}
		for _, k := range w.MapKeys() {
			gv := g.MapIndex(k)
			if !gv.IsValid() {
				return fmt.Sprintf("%s: key %v missing", path, k)
			}
			if d := diffValue(fmt.Sprintf("%s[%v]", path, k), w.MapIndex(k), gv); d != "" {
				return d
			}
		}
	default:
		if !w.Equal(g) {
			return fmt.Sprintf("%s: want %v, got %v", path, w, g)
		}
	}
	return ""
}

func jsonText(v reflect.Value) string {
	if v.Len() == 0 {
		return "{}"
	}
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return "not JSON: " + err.Error()
	}
	return string(b)
}

// unfilled lists the fields of a fixture that hold their zero value, except
// those under the given paths. A round trip of a fixture covers only the
// fields it sets, so when the domain gains a field the fixture must set it.
// A field of a slice's elements counts as set when one element sets it.
func unfilled(v any, except ...string) []string {
	var out []string
	for _, p := range zeroPaths(reflect.TypeOf(v).Name(), reflect.ValueOf(v)) {
		if !slices.ContainsFunc(except, func(e string) bool { return strings.HasPrefix(p, e) }) {
			out = append(out, p)
		}
	}
	return out
}

func zeroPaths(path string, v reflect.Value) []string {
	switch {
	case v.Type() == timeType:
		if v.IsZero() {
			return []string{path}
		}
	case v.Kind() == reflect.Struct:
		var out []string
		for i := range v.NumField() {
			out = append(out, zeroPaths(path+"."+v.Type().Field(i).Name, v.Field(i))...)
		}
		return out
	case v.Kind() == reflect.Slice || v.Kind() == reflect.Map:
		if v.Len() == 0 {
			return []string{path}
		}
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Struct {
			count := map[string]int{}
			for i := range v.Len() {
				for _, p := range zeroPaths(path+"[]", v.Index(i)) {
					count[p]++
				}
			}
			var out []string
			for p, n := range count {
				if n == v.Len() {
					out = append(out, p)
				}
			}
			slices.Sort(out)
			return out
		}
	case v.IsZero():
		return []string{path}
	}
	return nil
}

// filled fails the test when a fixture leaves a field zero (see unfilled).
func filled(t *testing.T, v any, except ...string) {
	t.Helper()
	if u := unfilled(v, except...); len(u) > 0 {
		t.Fatalf("the fixture leaves %v zero; set every field so the round trip covers it", u)
	}
}

// walk reads a whole list, page by page with the given limit, and returns the
// ids in the order the store returned them. It enforces the page rules of
// the package doc: no page over the limit, and for exact lists no short page
// but the last and no Next that leads to an empty page.
func walk[T any](t *testing.T, limit int, exact bool, list func(access.PageRequest) (access.Page[T], error), id func(T) string) []string {
	t.Helper()
	var (
		ids   []string
		seen  = map[string]bool{}
		after []byte
	)
	for n := 1; ; n++ {
		p, err := list(access.PageRequest{Limit: limit, After: after})
		if err != nil {
			t.Fatalf("page %d: %v", n, err)
		}
		if len(p.Items) > limit {
			t.Fatalf("page %d has %d items; the limit is %d", n, len(p.Items), limit)
		}
		if exact && n > 1 && len(p.Items) == 0 {
			t.Fatalf("page %d is empty, but page %d had a Next; the last page must have Next == nil", n, n-1)
		}
		for _, it := range p.Items {
			if seen[id(it)] {
				t.Fatalf("page %d returns %s again", n, id(it))
			}
			seen[id(it)] = true
			ids = append(ids, id(it))
		}
		if p.Next == nil {
			return ids
		}
		if exact && len(p.Items) < limit {
			t.Fatalf("page %d has %d of %d items and a Next; only the last page may be short", n, len(p.Items), limit)
		}
		if n > 10000 {
			t.Fatalf("the list does not end after %d pages", n)
		}
		after = p.Next
	}
}

// sorted returns the ids of items in list order: newest first by at, ties by
// id descending, or exactly the reverse when oldestFirst.
func sorted[T any](items []T, at func(T) time.Time, id func(T) string, oldestFirst bool) []string {
	items = slices.Clone(items)
	slices.SortFunc(items, func(a, b T) int {
		c := at(a).Compare(at(b))
		if c == 0 {
			c = strings.Compare(id(a), id(b))
		}
		if !oldestFirst {
			c = -c
		}
		return c
	})
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = id(it)
	}
	return ids
}

// sameIDs fails the test when a list returned other ids than want, or in
// another order.
func sameIDs(t *testing.T, what string, want, got []string) {
	t.Helper()
	if !slices.Equal(want, got) {
		t.Errorf("%s: got %d ids, want %d\n got: %v\nwant: %v", what, len(got), len(want), got, want)
	}
}

// race runs f in n goroutines released at the same moment and returns their
// errors.
func race(n int, f func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = f(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// oneWinner checks that exactly one error is nil and every other one matches
// lost, and returns the winner's index.
func oneWinner(t *testing.T, errs []error, lost error) int {
	t.Helper()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("writers %d and %d both succeeded", winner, i)
		case err == nil:
			winner = i
		default:
			if p := sentinelProblem(err, lost); p != "" {
				t.Errorf("writer %d: %s", i, p)
			}
		}
	}
	if winner < 0 {
		t.Fatalf("no writer succeeded")
	}
	return winner
}

// Ids of the listed kinds, for walk and sorted.
func requestID(r access.Request) string     { return r.ID }
func grantID(g access.Grant) string         { return g.ID }
func keyID(k access.APIKey) string          { return k.ID }
func eventID(e access.AuditEvent) string    { return e.ID }
func requestAt(r access.Request) time.Time  { return r.CreatedAt }
func grantAt(g access.Grant) time.Time      { return g.CreatedAt }
func keyAt(k access.APIKey) time.Time       { return k.CreatedAt }
func eventAt(e access.AuditEvent) time.Time { return e.At }
