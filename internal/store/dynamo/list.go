package dynamo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/elevate-jit/elevate/internal/access"
)

// source is one sorted partition a list reads: a partition of a GSI sorted
// by GSK, or of the table sorted by SK.
type source struct {
	index string // "" for the table
	pk    string // the partition key attribute
	sk    string // the sort key attribute
	value string // the partition key value
	// upTo, when set, reads only sort keys below it (ascending lists only).
	upTo string
}

func onIndex(ix index, value string) source {
	return source{index: ix.name, pk: ix.pk, sk: attrGSK, value: value}
}

// listing describes one list: the partitions it merges (one for most
// lists; one per status for a set of statuses), an optional filter on the
// items read, and the direction. Sort keys are unique within a list, so a
// position is a sort key value.
type listing struct {
	name      string // the list kind, which a position must come from
	sources   []source
	filter    *expression.ConditionBuilder
	keep      func(map[string]types.AttributeValue) bool // an extra filter applied after reading
	ascending bool
}

// filtered reports whether the list drops some of the items it reads, so
// that a Query may return fewer items than it evaluated.
func (l listing) filtered() bool { return l.filter != nil || l.keep != nil }

// signature identifies the list a position belongs to: its kind,
// partitions, filter and direction.
func (l listing) signature(filterText string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%v\x00%s\x00", l.name, l.ascending, filterText)
	for _, s := range l.sources {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00", s.index, s.pk, s.value, s.upTo)
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// position is a page's Next: the sort key value of the last item the page
// covers, and the list it belongs to.
type position struct {
	V     int    `json:"v"`
	List  string `json:"l"`
	After string `json:"a"`
}

const positionVersion = 1

func encodePosition(list, after string) []byte {
	b, _ := json.Marshal(position{V: positionVersion, List: list, After: after})
	return b
}

func decodePosition(b []byte, list string) (string, error) {
	var p position
	if err := json.Unmarshal(b, &p); err != nil || p.V != positionVersion || p.List != list || !validSortKey(p.After) {
		return "", errInvalidCursor
	}
	return p.After, nil
}

// cursorState is the reading state of one source.
type cursorState struct {
	src     source
	after   string // read items strictly after this sort key value ("" from the start)
	items   []listed
	done    bool // the partition has nothing more
	queries int
}

// listed is an item read for a list, with its sort key value.
type listed struct {
	pos  string
	item map[string]types.AttributeValue
}

// list reads one page. It asks every source for one item more than the page
// holds, so it knows exactly whether more follows: the page's Next is nil
// when nothing does. Filtered lists (and sources DynamoDB cuts short at
// 1 MB) may need more Queries; after maxQueries a list returns what it has
// with an honest Next, which may lead to a short or empty page.
func (s *Store) list(ctx context.Context, l listing, page access.PageRequest) ([]map[string]types.AttributeValue, []byte, error) {
	if page.Limit < 1 {
		return nil, nil, fmt.Errorf("dynamo: page limit %d is below 1", page.Limit)
	}
	var filterText string
	var filter expression.ConditionBuilder
	if l.filter != nil {
		filter = *l.filter
		ex, err := expression.NewBuilder().WithCondition(filter).Build()
		if err != nil {
			return nil, nil, fmt.Errorf("dynamo: list filter: %w", err)
		}
		filterText = fmt.Sprint(aws.ToString(ex.Condition()), ex.Names(), valuesText(ex.Values()))
	}
	sig := l.signature(filterText)
	var after string
	if len(page.After) > 0 {
		var err error
		if after, err = decodePosition(page.After, sig); err != nil {
			return nil, nil, err
		}
	}

	need := page.Limit + 1
	states := make([]*cursorState, len(l.sources))
	for i, src := range l.sources {
		states[i] = &cursorState{src: src, after: after}
	}
	for queries := 0; queries < max(maxQueries, len(states)); {
		progressed := false
		for _, st := range states {
			if st.done || len(st.items) >= need || queries >= max(maxQueries, len(states)) {
				continue
			}
			limit := need - len(st.items)
			if l.filtered() {
				limit = min(maxQueryLimit, max(limit, need<<st.queries))
			}
			if err := s.query(ctx, l, st, limit); err != nil {
				return nil, nil, err
			}
			queries++
			progressed = true
		}
		if !progressed {
			break
		}
	}

	// A source that is neither exhausted nor full bounds what can be
	// returned: items past the point it has read to might sort before its
	// unread ones.
	var (
		all      []listed
		frontier string
		cut      bool
	)
	for _, st := range states {
		all = append(all, st.items...)
		if !st.done && len(st.items) < need && (!cut || l.before(st.after, frontier)) {
			frontier, cut = st.after, true
		}
	}
	slices.SortFunc(all, func(a, b listed) int {
		if l.ascending {
			return strings.Compare(a.pos, b.pos)
		}
		return strings.Compare(b.pos, a.pos)
	})
	if cut {
		all = slices.DeleteFunc(all, func(it listed) bool { return l.before(frontier, it.pos) })
	}
	out := make([]map[string]types.AttributeValue, 0, min(len(all), page.Limit))
	for _, it := range all[:min(len(all), page.Limit)] {
		out = append(out, it.item)
	}
	switch {
	case len(all) > page.Limit:
		return out, encodePosition(sig, all[page.Limit-1].pos), nil
	case cut && frontier != "":
		return out, encodePosition(sig, frontier), nil
	case cut:
		return nil, nil, fmt.Errorf("dynamo: list %s read nothing within %d queries", l.name, maxQueries)
	}
	return out, nil, nil
}

// before reports whether sort key a comes before b in the list's order.
func (l listing) before(a, b string) bool {
	if l.ascending {
		return a < b
	}
	return a > b
}

// query reads the next items of one source.
func (s *Store) query(ctx context.Context, l listing, st *cursorState, limit int) error {
	src := st.src
	key := expression.Key(src.pk).Equal(expression.Value(src.value))
	switch {
	case src.upTo != "" && !l.ascending:
		return fmt.Errorf("dynamo: list %s: an upper bound needs an ascending list", l.name)
	case src.upTo != "" && st.after != "":
		// One condition per sort key: BETWEEN is inclusive, so the item at
		// the position itself is dropped below, and read one more for it.
		key = key.And(expression.Key(src.sk).Between(expression.Value(st.after), expression.Value(src.upTo)))
		limit++
	case src.upTo != "":
		key = key.And(expression.Key(src.sk).LessThan(expression.Value(src.upTo)))
	case st.after != "":
		if l.ascending {
			key = key.And(expression.Key(src.sk).GreaterThan(expression.Value(st.after)))
		} else {
			key = key.And(expression.Key(src.sk).LessThan(expression.Value(st.after)))
		}
	}
	b := expression.NewBuilder().WithKeyCondition(key)
	if l.filter != nil {
		b = b.WithFilter(*l.filter)
	}
	ex, err := b.Build()
	if err != nil {
		return fmt.Errorf("dynamo: list query: %w", err)
	}
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    ex.KeyCondition(),
		FilterExpression:          ex.Filter(),
		ExpressionAttributeNames:  ex.Names(),
		ExpressionAttributeValues: ex.Values(),
		ScanIndexForward:          aws.Bool(l.ascending),
		Limit:                     aws.Int32(int32(limit)),
	}
	if src.index != "" {
		in.IndexName = aws.String(src.index)
	} else {
		in.ConsistentRead = aws.Bool(true)
	}
	out, err := s.db.Query(ctx, in)
	st.queries++
	if err != nil {
		return wrap("list", err)
	}
	for _, it := range out.Items {
		pos, ok := stringAttr(it, src.sk)
		if !ok {
			return fmt.Errorf("dynamo: list: an item of %s has no %s", src.value, src.sk)
		}
		if pos == st.after || (src.upTo != "" && pos >= src.upTo) {
			continue
		}
		if l.keep == nil || l.keep(it) {
			st.items = append(st.items, listed{pos: pos, item: it})
		}
	}
	if out.LastEvaluatedKey == nil {
		st.done = true
		return nil
	}
	last, ok := stringAttr(out.LastEvaluatedKey, src.sk)
	if !ok {
		return fmt.Errorf("dynamo: list: the last evaluated key of %s has no %s", src.value, src.sk)
	}
	st.after = last
	return nil
}

// stringAttr returns a string attribute of an item.
func stringAttr(m map[string]types.AttributeValue, name string) (string, bool) {
	v, ok := m[name].(*types.AttributeValueMemberS)
	if !ok {
		return "", false
	}
	return v.Value, true
}

// valuesText describes expression values for a list signature.
func valuesText(vs map[string]types.AttributeValue) string {
	names := make([]string, 0, len(vs))
	for k := range vs {
		names = append(names, k)
	}
	slices.Sort(names)
	var b strings.Builder
	for _, k := range names {
		if v, ok := vs[k].(*types.AttributeValueMemberS); ok {
			fmt.Fprintf(&b, "%s=%q;", k, v.Value)
		} else {
			fmt.Fprintf(&b, "%s=%T;", k, vs[k])
		}
	}
	return b.String()
}
