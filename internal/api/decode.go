package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

// readBody reads a request body of at most limit bytes. A non-empty body must
// be JSON.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	tooLarge := &access.Error{Code: access.CodePayloadTooLarge, Message: fmt.Sprintf("request body is larger than %d bytes", limit)}
	if r.ContentLength > limit {
		return nil, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, tooLarge
	case err != nil:
		return nil, access.Errorf(access.CodeValidationFailed, "could not read the request body")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil
	}
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return nil, &access.Error{Code: access.CodeUnsupportedMediaType, Message: "the request body must be sent as Content-Type: application/json"}
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return nil, &access.Error{Code: access.CodeUnsupportedMediaType, Message: "the request body must be UTF-8"}
	}
	return body, nil
}

// decode parses a JSON body strictly into v: one object, no unknown fields,
// every type error reported against its field.
func decode(body []byte, v any) error {
	if body == nil {
		return access.Invalid("body", "a JSON object is required")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return access.Invalid("body", "must be a single JSON object")
	}
	if _, ok := generic.(map[string]any); !ok {
		return access.Invalid("body", "must be a JSON object")
	}
	// Every unknown field and every value of the wrong type, in one answer.
	problems := access.Violations{}
	unknownFields(generic, reflect.TypeOf(v), "", problems)
	if err := json.Unmarshal(body, v); err != nil {
		first := decodeError(err)
		if !problems.Absorb(first) {
			return first
		}
		// Each decode stops at one mismatch: drop that field and decode again
		// to find the others.
		field := lastMismatch(first)
		for range 64 {
			generic = dropField(generic, field)
			b, _ := json.Marshal(generic)
			err := json.Unmarshal(b, reflect.New(reflect.TypeOf(v).Elem()).Interface())
			if err == nil {
				break
			}
			next := decodeError(err)
			if f := lastMismatch(next); f == field || !problems.Absorb(next) {
				break
			} else {
				field = f
			}
		}
	}
	return problems.Err()
}

// lastMismatch is the field a type error names ("" when none).
func lastMismatch(err error) string {
	var e *access.Error
	if errors.As(err, &e) {
		for f := range e.Details {
			return f
		}
	}
	return ""
}

// dropField removes the value at a dotted path from a decoded JSON object,
// so decoding again finds the next type error.
func dropField(v any, path string) any {
	obj, ok := v.(map[string]any)
	if !ok || path == "" || path == "body" {
		return v
	}
	head, rest, nested := strings.Cut(path, ".")
	if !nested {
		delete(obj, head)
		return obj
	}
	if child, ok := obj[head]; ok {
		obj[head] = dropField(child, rest)
	}
	return obj
}

// unknownFields records every object key in v that the struct type t has no
// JSON field for, with its full path (encoding/json names only the leaf).
func unknownFields(v any, t reflect.Type, prefix string, out access.Violations) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return // a type error, reported by the typed decode
		}
		fields := map[string]reflect.Type{}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name != "" && name != "-" {
				fields[name] = f.Type
			}
		}
		for k, val := range obj {
			ft, ok := fields[k]
			if !ok {
				out.Add(prefix+k, "is not a known field")
				continue
			}
			unknownFields(val, ft, prefix+k+".", out)
		}
	case reflect.Slice:
		if arr, ok := v.([]any); ok {
			for _, el := range arr {
				unknownFields(el, t.Elem(), prefix, out)
			}
		}
	case reflect.Map:
		if obj, ok := v.(map[string]any); ok && t.Elem().Kind() != reflect.Interface {
			for k, el := range obj {
				unknownFields(el, t.Elem(), prefix+k+".", out)
			}
		}
	}
}

// decodeFields decodes a body whose fields the handler checks itself: the
// problems decode finds with named fields (unknown, wrong type) come back
// as violations for the handler to add its own to, so one answer names
// them all; a body that is not a JSON object is an error at once.
func decodeFields(body []byte, v any) (access.Violations, error) {
	problems := access.Violations{}
	err := decode(body, v)
	if err == nil {
		return problems, nil
	}
	var e *access.Error
	if errors.As(err, &e) && e.Details["body"] == nil && problems.Absorb(err) {
		return problems, nil
	}
	return nil, err
}

// decodeOptional decodes a body that may be empty.
func decodeOptional(body []byte, v any) error {
	if body == nil {
		return nil
	}
	return decode(body, v)
}

func decodeError(err error) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syn):
		return access.Invalid("body", "is not valid JSON (error at byte %d)", syn.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return access.Invalid("body", "is not valid JSON (it ends too early)")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return access.Invalid("body", "must be a JSON object")
		}
		return access.Invalid(field, "must be %s", kindName(typ.Type))
	}
	return access.Invalid("body", "could not be decoded: %s", err.Error())
}

func kindName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Slice:
		return "an array"
	}
	return "of type " + t.String()
}

// parseTime parses an RFC 3339 date-time field.
func parseTime(field string, s *string, v access.Violations) time.Time {
	if s == nil {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		v.Add(field, "must be an RFC 3339 date-time such as 2026-01-02T15:04:05Z")
		return time.Time{}
	}
	return t
}

// query reads and checks the query string: unknown parameters and repeated
// ones are rejected so typos do not silently widen a list.
type query struct {
	values url.Values
	v      access.Violations
}

func readQuery(r *http.Request, allowed ...string) *query {
	q := &query{values: r.URL.Query(), v: access.Violations{}}
	for name, vals := range q.values {
		switch {
		case !slices.Contains(allowed, name):
			q.v.Add(name, "is not a known query parameter (known: %s)", strings.Join(allowed, ", "))
		case len(vals) > 1:
			q.v.Add(name, "must be given once")
		}
	}
	return q
}

func (q *query) get(name string) string { return q.values.Get(name) }

// limit parses the page size: default 50, 1 to 250.
func (q *query) limit() int {
	s := q.values.Get("limit")
	if s == "" {
		return access.DefaultPageSize
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > access.MaxPageSize || strings.TrimLeft(s, "0123456789") != "" || s[0] == '0' {
		q.v.Add("limit", "must be an integer from 1 to %d", access.MaxPageSize)
		return access.DefaultPageSize
	}
	return n
}

// statuses parses a comma-separated status filter against the known ones.
func statuses[T ~string](q *query, known []T) []T {
	s := q.values.Get("status")
	if s == "" {
		return nil
	}
	var out []T
	for _, part := range strings.Split(s, ",") {
		st := T(strings.TrimSpace(part))
		if !slices.Contains(known, st) {
			names := make([]string, len(known))
			for i, k := range known {
				names[i] = string(k)
			}
			q.v.Add("status", "must be one or more of %s, separated by commas", strings.Join(names, ", "))
			return nil
		}
		if !slices.Contains(out, st) {
			out = append(out, st)
		}
	}
	slices.Sort(out)
	return out
}

// userParam reads a user id filter.
func (q *query) userParam(name string) string {
	s := q.values.Get(name)
	if len(s) > access.MaxIDLength {
		q.v.Add(name, "must be at most %d characters", access.MaxIDLength)
	}
	return s
}

// timeParam reads an RFC 3339 time filter ("" is the zero time).
func (q *query) timeParam(name string) time.Time {
	s := q.values.Get(name)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		q.v.Add(name, "must be an RFC 3339 time, such as 2026-03-01T09:00:00Z")
		return time.Time{}
	}
	return t
}

func (q *query) err() error { return q.v.Err() }
