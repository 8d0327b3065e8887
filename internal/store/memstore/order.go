package memstore

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

// position is where an object sits in a list: lists are ordered by time
// (CreatedAt, or At for audit events), then by id.
type position struct {
	at time.Time
	id string
}

func (p position) compare(q position) int {
	if c := p.at.Compare(q.at); c != 0 {
		return c
	}
	return strings.Compare(p.id, q.id)
}

// cursorVersion leads every encoded position, so the encoding can change.
const cursorVersion = 1

// cursor encodes the position as a page's Next: a version byte, Unix seconds,
// nanoseconds and the id.
func (p position) cursor() []byte {
	b := make([]byte, 13, 13+len(p.id))
	b[0] = cursorVersion
	binary.BigEndian.PutUint64(b[1:9], uint64(p.at.Unix()))
	binary.BigEndian.PutUint32(b[9:13], uint32(p.at.Nanosecond()))
	return append(b, p.id...)
}

// errInvalidCursor is returned for a position this store did not make.
var errInvalidCursor = &access.Error{Code: access.CodeInvalidCursor, Message: "the cursor is not valid for this list"}

// parseCursor decodes a position made by cursor.
func parseCursor(b []byte) (position, error) {
	if len(b) < 13 || b[0] != cursorVersion {
		return position{}, errInvalidCursor
	}
	sec := int64(binary.BigEndian.Uint64(b[1:9]))
	nsec := binary.BigEndian.Uint32(b[9:13])
	if nsec >= uint32(time.Second) {
		return position{}, errInvalidCursor
	}
	return position{time.Unix(sec, int64(nsec)).UTC(), string(b[13:])}, nil
}

// entry is one object in an index.
type entry[T any] struct {
	position
	v *T
}

// ordered is an index of one tenant's objects of one kind, in ascending
// position order. Objects mostly arrive newest last, so inserting is usually
// an append.
type ordered[T any] []entry[T]

func (o ordered[T]) find(p position) (int, bool) {
	return slices.BinarySearchFunc(o, p, func(e entry[T], p position) int { return e.compare(p) })
}

// put inserts the object at p, or replaces the one already there.
func (o *ordered[T]) put(p position, v *T) {
	i, found := o.find(p)
	if found {
		(*o)[i].v = v
		return
	}
	*o = slices.Insert(*o, i, entry[T]{p, v})
}

// remove drops the object at p, if any.
func (o *ordered[T]) remove(p position) {
	if i, found := o.find(p); found {
		*o = slices.Delete(*o, i, i+1)
	}
}

// page returns the objects keep accepts, newest first (oldest first when
// ascending), starting after the position in req.After. Next is set only when
// another accepted object follows the page, so the last page always has a nil
// Next. clone copies each returned object out of the store.
func page[T any](o ordered[T], req access.PageRequest, ascending bool, keep func(*T) bool, clone func(*T) T) (access.Page[T], error) {
	if req.Limit < 1 {
		return access.Page[T]{}, fmt.Errorf("memstore: page limit %d is below 1", req.Limit)
	}
	i, step := len(o)-1, -1
	if ascending {
		i, step = 0, 1
	}
	if len(req.After) > 0 {
		after, err := parseCursor(req.After)
		if err != nil {
			return access.Page[T]{}, err
		}
		j, found := o.find(after)
		switch {
		case !ascending:
			i = j - 1
		case found:
			i = j + 1
		default:
			i = j
		}
	}
	out := access.Page[T]{Items: make([]T, 0, min(req.Limit, len(o)))}
	var last position
	for ; i >= 0 && i < len(o); i += step {
		e := o[i]
		if !keep(e.v) {
			continue
		}
		if len(out.Items) == req.Limit {
			out.Next = last.cursor()
			break
		}
		out.Items = append(out.Items, clone(e.v))
		last = e.position
	}
	return out, nil
}

// byUpdate reorders a request index by last update, ties broken by id.
func byUpdate(o ordered[access.Request]) ordered[access.Request] {
	out := make(ordered[access.Request], len(o))
	for i, e := range o {
		out[i] = entry[access.Request]{position{e.v.UpdatedAt, e.v.ID}, e.v}
	}
	slices.SortFunc(out, func(a, b entry[access.Request]) int { return a.compare(b.position) })
	return out
}
