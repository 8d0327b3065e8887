package policy

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// This file turns cedar-go's parser errors ("parse error at <input>:3:27 ";":
// invalid primary") into sentences an author can act on. cedar-go reports
// only the token after the one it could not use and a terse reason, so the
// text is scanned again here, the way cedar-go scans it, to find the token
// at fault, the bracket it should close and the policy it belongs to.

// syntaxProblem describes a cedar-go parse error of text as a Problem.
func syntaxProblem(text []byte, err error) Problem {
	toks, lexical := scan(text)
	s := syntax{toks: toks}
	if lexical != nil {
		lexical.PolicyID = s.policyID(len(toks))
		return *lexical
	}
	msg := strings.TrimPrefix(err.Error(), "parser error: ")
	if m := parserError().FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		col, _ := strconv.Atoi(m[2])
		tokText, _ := strconv.Unquote(m[3])
		if r := s.find(line, col, tokText); r >= 0 {
			return s.describe(r, m[4])
		}
		return Problem{Line: line, Column: col, Message: fmt.Sprintf("syntax error at line %d, column %d", line, col)}
	}
	if m := scannerError().FindStringSubmatch(msg); m != nil && m[1] != "0" {
		line, _ := strconv.Atoi(m[1])
		col, _ := strconv.Atoi(m[2])
		return Problem{Line: line, Column: col, Message: fmt.Sprintf("the policy text cannot be read at line %d, column %d", line, col)}
	}
	// Errors without a position come from converting a literal's value.
	if p, ok := s.badLiteral(); ok {
		return p
	}
	return Problem{Message: "the policy text cannot be parsed"}
}

// cedar-go's parse errors, compiled by their first use (no package init
// code: see schemaOf).
var (
	errorsOnce                    sync.Once
	parserErrorRE, scannerErrorRE *regexp.Regexp
)

func parserError() *regexp.Regexp  { errorsOnce.Do(compileErrors); return parserErrorRE }
func scannerError() *regexp.Regexp { errorsOnce.Do(compileErrors); return scannerErrorRE }

func compileErrors() {
	parserErrorRE = regexp.MustCompile(`^parse error at <input>:(\d+):(\d+) ("(?:[^"\\]|\\.)*"): (.*)$`)
	scannerErrorRE = regexp.MustCompile(`^<input>:(\d+):(\d+): `)
}

// Limits on nesting, checked before cedar-go parses: its parser and
// validator recurse once per level, and the validator takes time quadratic in
// the depth of nested sets and records (10,000 levels took seconds).
const (
	maxNesting = 64
	maxUnary   = 4 // as in the Rust Cedar parser
)

// tooDeep reports brackets nested deeper than maxNesting or more than
// maxUnary `!` or `-` in a row; nil when the text is within both limits or
// cannot be scanned (cedar-go then reports why).
func tooDeep(text []byte) *Problem {
	toks, lexical := scan(text)
	if lexical != nil {
		return nil
	}
	s := syntax{toks: toks}
	depth, unary := 0, 0
	for j, t := range toks {
		if t.kind == tokString {
			unary = 0
			continue
		}
		switch t.text {
		case "(", "[", "{":
			if depth++; depth > maxNesting {
				return &Problem{PolicyID: s.policyID(j), Line: t.line, Column: t.col,
					Message: fmt.Sprintf("brackets nest more than %d deep at line %d, column %d; write the condition with less nesting", maxNesting, t.line, t.col)}
			}
		case ")", "]", "}":
			depth = max(depth-1, 0)
		}
		switch {
		case t.text == "!" || t.text == "-" && (j == 0 || !endsValue(toks[j-1])):
			if unary++; unary > maxUnary {
				return &Problem{PolicyID: s.policyID(j), Line: t.line, Column: t.col,
					Message: fmt.Sprintf("more than %d `!` or `-` in a row at line %d, column %d; Cedar allows at most %d", maxUnary, t.line, t.col, maxUnary)}
			}
		default:
			unary = 0
		}
	}
	return nil
}

type tokenKind int

const (
	tokEOF tokenKind = iota
	tokIdent
	tokKeyword
	tokInt
	tokString
	tokOperator
	tokUnknown
)

// token is one token of a policy text, at its 1-based line and column (in
// characters, as cedar-go counts them).
type token struct {
	kind      tokenKind
	text      string
	line, col int
}

var keywords = map[string]bool{"true": true, "false": true, "if": true, "then": true, "else": true, "in": true, "like": true, "has": true, "is": true, "__cedar": true}

// scan splits text into tokens as cedar-go's scanner does, ending with an EOF
// token. A text cedar-go cannot scan gives the Problem that says why.
func scan(text []byte) ([]token, *Problem) {
	var toks []token
	line, col := 1, 1
	i := 0
	// next consumes one character; it returns -1 at the end.
	next := func() rune {
		if i >= len(text) {
			return -1
		}
		r, n := utf8.DecodeRune(text[i:])
		i += n
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		return r
	}
	peek := func(k int) rune { // the k-th byte ahead, as a rune (ASCII is all that is compared)
		if i+k >= len(text) {
			return -1
		}
		return rune(text[i+k])
	}
	bad := func(l, c int, format string, args ...any) *Problem {
		return &Problem{Line: l, Column: c, Message: fmt.Sprintf(format, args...)}
	}
	for {
		// Characters no token may hold are refused wherever they are.
		if i < len(text) {
			if r, n := utf8.DecodeRune(text[i:]); r == utf8.RuneError && n == 1 {
				return toks, bad(line, col, "the text is not valid UTF-8 at line %d, column %d", line, col)
			} else if r == 0 {
				return toks, bad(line, col, "the text contains a NUL character at line %d, column %d", line, col)
			}
		}
		c := peek(0)
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			next()
			continue
		case c == '/' && peek(1) == '/':
			for i < len(text) && text[i] != '\n' {
				if p := checkChar(text[i:], line, col); p != nil {
					return toks, p
				}
				next()
			}
			continue
		case c == '/' && peek(1) == '*':
			l, cl := line, col
			next()
			next()
			for {
				if i >= len(text) {
					return toks, bad(l, cl, "the comment that opens at line %d, column %d is never closed with `*/`", l, cl)
				}
				if p := checkChar(text[i:], line, col); p != nil {
					return toks, p
				}
				if text[i] == '*' && peek(1) == '/' {
					next()
					next()
					break
				}
				next()
			}
			continue
		}
		t := token{line: line, col: col}
		start := i
		switch {
		case c < 0:
			t.kind = tokEOF
			return append(toks, t), nil
		case c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
			for c := peek(0); c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'; c = peek(0) {
				next()
			}
			t.kind = tokIdent
			if keywords[string(text[start:i])] {
				t.kind = tokKeyword
			}
		case '0' <= c && c <= '9':
			for c := peek(0); '0' <= c && c <= '9'; c = peek(0) {
				next()
			}
			t.kind = tokInt
		case c == '"':
			next()
			for {
				c := peek(0)
				if c < 0 || c == '\n' {
					end := "the end of the line"
					if c < 0 {
						end = "the end of the text"
					}
					return toks, bad(t.line, t.col, "the string that starts at line %d, column %d is not closed: add a `\"` before %s", t.line, t.col, end)
				}
				if p := checkChar(text[i:], line, col); p != nil {
					return toks, p
				}
				if c == '"' {
					next()
					break
				}
				if c != '\\' {
					next()
					continue
				}
				l, cl := line, col
				from := i
				if !scanEscape(text, &i, next) {
					esc := string(text[from:min(i+1, len(text))])
					if !utf8.ValidString(esc) || strings.ContainsAny(esc, "\n\x00") {
						esc = string(text[from : from+1])
					}
					return toks, bad(l, cl, "invalid escape `%s` in the string at line %d, column %d: use \\n, \\r, \\t, \\\\, \\0, \\', \\\", \\xHH or \\u{HHHH}", esc, l, cl)
				}
			}
			t.kind = tokString
		default:
			next()
			t.kind = tokOperator
			switch n := peek(0); c {
			case '@', '.', ',', ';', '(', ')', '{', '}', '[', ']', '+', '-', '*', '/':
			case ':':
				if n == ':' {
					next()
				}
			case '!', '<', '>':
				if n == '=' {
					next()
				}
			case '=', '|', '&':
				if n == c {
					next()
				} else {
					t.kind = tokUnknown
				}
			default:
				t.kind = tokUnknown
			}
		}
		t.text = string(text[start:i])
		toks = append(toks, t)
	}
}

// checkChar refuses a NUL or a byte that is not UTF-8 at the start of b.
func checkChar(b []byte, line, col int) *Problem {
	switch r, n := utf8.DecodeRune(b); {
	case r == utf8.RuneError && n == 1:
		return &Problem{Line: line, Column: col, Message: fmt.Sprintf("the text is not valid UTF-8 at line %d, column %d", line, col)}
	case r == 0:
		return &Problem{Line: line, Column: col, Message: fmt.Sprintf("the text contains a NUL character at line %d, column %d", line, col)}
	}
	return nil
}

// scanEscape consumes one escape sequence at text[*i] (a backslash) as
// cedar-go's scanner does, reporting whether the scanner accepts it.
func scanEscape(text []byte, i *int, next func() rune) bool {
	peek := func() byte {
		if *i >= len(text) {
			return 0
		}
		return text[*i]
	}
	hex := func(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c|0x20 && c|0x20 <= 'f' }
	next() // the backslash
	switch c := peek(); c {
	case 'n', 'r', 't', '\\', '0', '\'', '"', '*':
		next()
		return true
	case 'x':
		next()
		for range 2 {
			if !hex(peek()) {
				return false
			}
			next()
		}
		return true
	case 'u':
		next()
		if peek() != '{' {
			return false
		}
		next()
		if !hex(peek()) {
			return false
		}
		digits := 0
		for c := peek(); hex(c) || c == '_'; c = peek() {
			if c != '_' {
				digits++
			}
			next()
		}
		if digits > 6 || peek() != '}' {
			return false
		}
		next()
		return true
	}
	return false
}

// syntax is a scanned text being explained.
type syntax struct {
	toks []token
}

// find returns the index of the token cedar-go reported, or -1.
func (s syntax) find(line, col int, text string) int {
	for i, t := range s.toks {
		if t.kind == tokEOF && text == "" {
			return i
		}
		if t.line == line && t.col == col && t.text == text {
			return i
		}
	}
	return -1
}

// describe explains cedar-go's reason for refusing the text, given the index
// r of the token it reported.
func (s syntax) describe(r int, reason string) Problem {
	// cedar-go reports the token after the one it refused, except at the end
	// of the text and where it only looked ahead (`got X want ,`).
	off := max(r-1, 0)
	atEnd := s.toks[r].kind == tokEOF
	prevIs := func(texts ...string) bool {
		if r == 0 {
			return false
		}
		for _, t := range texts {
			if s.toks[r-1].text == t && s.toks[r-1].kind != tokString {
				return true
			}
		}
		return false
	}
	// At the end, the parser may have failed on the last token or on the end
	// itself: after a token that needs something to follow, it is the end.
	endIfAfter := func(texts ...string) {
		if atEnd && (r == 0 || prevIs(texts...)) {
			off = r
		}
	}
	var msg string
	switch {
	case strings.HasPrefix(reason, "exact got "):
		got, want, _ := strings.Cut(strings.TrimPrefix(reason, "exact got "), " want ")
		if got == "" && atEnd {
			off = r
		}
		msg = s.expected(off, want)
	case strings.HasPrefix(reason, "got ") && strings.HasSuffix(reason, " want ,"):
		off = r
		msg = s.expectedSeparator(off)
	case reason == "invalid primary":
		endIfAfter(operandBefore...)
		if t := s.toks[off]; t.kind == tokIdent {
			msg = fmt.Sprintf("`%s` at line %d, column %d is not a value: write `principal`, `action`, `resource`, `context`, a literal, or an entity such as Elevate::User::\"alice\"", short(t.text), t.line, t.col)
		} else {
			msg = fmt.Sprintf("expected a value%s, %s", s.after(off), s.found(off))
		}
	case strings.HasPrefix(reason, "unexpected effect: "):
		if strings.TrimPrefix(reason, "unexpected effect: ") == "" && atEnd {
			off = r
		}
		msg = fmt.Sprintf("expected `permit` or `forbid` to start a policy, %s", s.found(off))
	case reason == "expected ident or reserved keyword":
		endIfAfter("@")
		msg = fmt.Sprintf("expected an annotation name after `@`, %s", s.found(off))
	case strings.HasPrefix(reason, "duplicate annotation: "):
		t := s.toks[off]
		msg = fmt.Sprintf("the annotation `%s` appears twice on one policy (again at line %d, column %d)", short(strings.TrimPrefix(reason, "duplicate annotation: ")), t.line, t.col)
	case reason == "expected string":
		endIfAfter("(")
		name := "the annotation"
		if off >= 2 && s.toks[off-1].text == "(" {
			name = "`@" + short(s.toks[off-2].text) + "`"
		}
		msg = fmt.Sprintf("the value of %s must be a string in double quotes, such as @id(\"my-policy\"), %s", name, s.found(off))
	case reason == "expected ident" || reason == "expected ident after dot":
		endIfAfter(".", "==", "in", "is", "::")
		switch prev := s.prev(off); prev {
		case ".":
			msg = fmt.Sprintf("expected an attribute name after `.`, %s", s.found(off))
		case "is":
			msg = fmt.Sprintf("expected an entity type after `is`, %s", s.found(off))
		case "==", "in":
			msg = fmt.Sprintf("expected an entity such as Elevate::User::\"alice\" after `%s`, %s", prev, s.found(off))
		default:
			msg = fmt.Sprintf("expected a name, %s", s.found(off))
		}
	case reason == "unexpected token":
		endIfAfter("::", "[")
		switch s.prev(off) {
		case "::":
			msg = fmt.Sprintf("expected a name or an id in double quotes after `::`, %s", s.found(off))
		case "[":
			msg = fmt.Sprintf("expected an attribute name in double quotes after `[`, %s", s.found(off))
		default:
			t := s.toks[off]
			msg = fmt.Sprintf("unexpected token `%s` at line %d, column %d", short(t.text), t.line, t.col)
		}
	case reason == "expected string literal":
		endIfAfter("like")
		msg = fmt.Sprintf("expected a pattern in double quotes after `like`, %s", s.found(off))
	case reason == "expected ident or string":
		if endIfAfter("has", "{", ","); s.prev(off) == "has" {
			msg = fmt.Sprintf("expected an attribute name after `has`, %s", s.found(off))
		} else {
			msg = fmt.Sprintf("expected a record key (a name or a string in double quotes), %s", s.found(off))
		}
	case strings.HasPrefix(reason, "duplicate key: "):
		key := strings.TrimPrefix(reason, "duplicate key: ")
		off = s.recordKey(r, key)
		t := s.toks[off]
		msg = fmt.Sprintf("the record has the key `%s` twice (again at line %d, column %d)", short(key), t.line, t.col)
	case strings.HasSuffix(reason, "` is not a function"), strings.HasSuffix(reason, "` is a method, not a function"):
		name := backticked(reason)
		off = s.callee(r - 1)
		t := s.toks[off]
		if strings.HasSuffix(reason, "is not a function") {
			msg = fmt.Sprintf("unknown function `%s` at line %d, column %d", name, t.line, t.col)
		} else {
			msg = fmt.Sprintf("`%s` at line %d, column %d is a method, not a function: call it on a value, as in value.%s(…)", name, t.line, t.col, name)
		}
	case strings.HasSuffix(reason, "` is not a method"), strings.HasSuffix(reason, "` is a function, not a method"),
		strings.HasSuffix(reason, " expects one argument"), strings.HasSuffix(reason, " expects no arguments"):
		off = s.methodName(r - 1)
		t := s.toks[off]
		switch name := short(t.text); {
		case strings.HasSuffix(reason, "is not a method"):
			msg = fmt.Sprintf("unknown method `%s` at line %d, column %d", name, t.line, t.col)
		case strings.HasSuffix(reason, "is a function, not a method"):
			msg = fmt.Sprintf("`%s` at line %d, column %d is a function, not a method: call it as %s(…)", name, t.line, t.col, name)
		case strings.HasSuffix(reason, "one argument"):
			msg = fmt.Sprintf("the method `%s` at line %d, column %d takes exactly one argument", name, t.line, t.col)
		default:
			msg = fmt.Sprintf("the method `%s` at line %d, column %d takes no arguments", name, t.line, t.col)
		}
	default:
		t := s.toks[off]
		msg = fmt.Sprintf("syntax error near `%s` at line %d, column %d", short(t.text), t.line, t.col)
	}
	t := s.toks[off]
	return Problem{PolicyID: s.policyID(off), Line: t.line, Column: t.col, Message: msg}
}

// operandBefore are the tokens after which a value must follow.
var operandBefore = []string{"==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "!", "&&", "||", "(", "[", "{", ",", ":", "if", "then", "else", "in", "like", "has", "is"}

// expected explains a missing token want where the token at off is.
func (s syntax) expected(off int, want string) string {
	found := s.found(off)
	switch want {
	case ")", "}", "]":
		o := s.opener(off)
		if o < 0 || s.toks[o].text != map[string]string{")": "(", "}": "{", "]": "["}[want] {
			return fmt.Sprintf("expected `%s`, %s", want, found)
		}
		open := s.toks[o]
		switch before := s.prev(o); {
		case want == ")" && (before == "permit" || before == "forbid"):
			return fmt.Sprintf("expected `)` to close the scope that opens at line %d, %s", open.line, found)
		case want == "}" && (before == "when" || before == "unless"):
			return fmt.Sprintf("expected `}` to close the `%s` condition that opens at line %d, column %d, %s", before, open.line, open.col, found)
		case want == "}":
			return fmt.Sprintf("expected `}` to close the record that opens at line %d, column %d, %s", open.line, open.col, found)
		case want == "]":
			return fmt.Sprintf("expected `]` to close the `[` at line %d, column %d, %s", open.line, open.col, found)
		}
		return fmt.Sprintf("expected `)` to close the parenthesis that opens at line %d, column %d, %s", open.line, open.col, found)
	case ";":
		return fmt.Sprintf("expected `;` to end the policy that starts at line %d, %s", s.toks[s.policyStart(off)].line, found)
	case "(":
		if p := s.prev(off); p == "permit" || p == "forbid" {
			return fmt.Sprintf("expected `(` after `%s` to open the scope, %s", p, found)
		}
	case ",":
		return fmt.Sprintf("expected `,` between the scope's principal, action and resource, %s", found)
	case "principal", "action", "resource":
		return fmt.Sprintf("expected `%s`, %s: the scope names principal, action and resource in that order", want, found)
	case "::":
		return fmt.Sprintf("expected `::` after `%s`, %s: an entity is written Type::\"id\", such as Elevate::User::\"alice\"", short(s.prev(off)), found)
	case "then", "else":
		return fmt.Sprintf("expected `%s`, %s: an `if` needs both `then` and `else`", want, found)
	case ":":
		return fmt.Sprintf("expected `:` after the record key `%s`, %s", short(s.prev(off)), found)
	}
	return fmt.Sprintf("expected `%s`, %s", short(want), found)
}

// expectedSeparator explains a list, argument list or record whose elements
// are not separated by commas.
func (s syntax) expectedSeparator(off int) string {
	found := s.found(off)
	o := s.opener(off)
	if o < 0 {
		return fmt.Sprintf("expected `,`, %s", found)
	}
	open := s.toks[o]
	switch open.text {
	case "[":
		return fmt.Sprintf("expected `,` or `]` in the list that opens at line %d, column %d, %s", open.line, open.col, found)
	case "{":
		return fmt.Sprintf("expected `,` or `}` in the record that opens at line %d, column %d, %s", open.line, open.col, found)
	}
	return fmt.Sprintf("expected `,` or `)` between the arguments of the call at line %d, column %d, %s", open.line, open.col, found)
}

// found names the token at i for a message: "but found `x` at line 2,
// column 5" or "but the text ends at line 3, column 1".
func (s syntax) found(i int) string {
	t := s.toks[i]
	if t.kind == tokEOF {
		return fmt.Sprintf("but the text ends at line %d, column %d", t.line, t.col)
	}
	hint := ""
	if t.kind == tokUnknown {
		switch t.text {
		case "=":
			hint = " (compare with `==`)"
		case "&":
			hint = " (write `&&` for and)"
		case "|":
			hint = " (write `||` for or)"
		}
	}
	return fmt.Sprintf("but found `%s` at line %d, column %d%s", short(t.text), t.line, t.col, hint)
}

// after is " after `x`" naming the token before i, or "".
func (s syntax) after(i int) string {
	if p := s.prev(i); p != "" {
		return " after `" + short(p) + "`"
	}
	return ""
}

// prev is the text of the token before i, or "".
func (s syntax) prev(i int) string {
	if i <= 0 {
		return ""
	}
	return s.toks[i-1].text
}

// opener returns the index of the innermost bracket still open before the
// token at i, or -1.
func (s syntax) opener(i int) int {
	var open []int
	for j := range i {
		switch s.toks[j].text {
		case "(", "[", "{":
			open = append(open, j)
		case ")", "]", "}":
			if len(open) > 0 {
				open = open[:len(open)-1]
			}
		}
	}
	if len(open) == 0 {
		return -1
	}
	return open[len(open)-1]
}

// policyStart returns the index of the first token of the policy that holds
// the token at i: the one after the last `;` outside brackets.
func (s syntax) policyStart(i int) int {
	start, depth := 0, 0
	for j := range i {
		switch s.toks[j].text {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			depth = max(depth-1, 0)
		case ";":
			if depth == 0 {
				start = j + 1
			}
		}
	}
	return min(start, i)
}

// policyID returns the @id of the policy that holds the token at i, when its
// annotations can be read, or "".
func (s syntax) policyID(i int) string {
	for j := s.policyStart(i); j+4 < i; j++ {
		t := s.toks[j:]
		if t[0].text == "@" && t[1].text == "id" && t[2].text == "(" && t[3].kind == tokString && t[4].text == ")" {
			v, bad := unquote(t[3].text, false)
			if bad != "" {
				return ""
			}
			return v
		}
		if t[0].text == "permit" || t[0].text == "forbid" {
			return ""
		}
	}
	return ""
}

// recordKey returns the index of the last `key:` entry before r, or r.
func (s syntax) recordKey(r int, key string) int {
	for j := r - 1; j >= 0; j-- {
		t := s.toks[j]
		if j+1 < len(s.toks) && s.toks[j+1].text == ":" && (t.kind == tokIdent || t.kind == tokKeyword) && t.text == key {
			return j
		}
		if v, bad := unquote(t.text, false); t.kind == tokString && bad == "" && v == key && j+1 < len(s.toks) && s.toks[j+1].text == ":" {
			return j
		}
	}
	return r
}

// callee returns the index of the first token of the function name before
// the `(` at i.
func (s syntax) callee(i int) int {
	j := i - 1
	for j >= 2 && s.toks[j-1].text == "::" {
		j -= 2
	}
	return max(j, 0)
}

// methodName returns the index of the method name of the call whose `)` is
// at i.
func (s syntax) methodName(i int) int {
	depth := 0
	for j := i; j >= 0; j-- {
		switch s.toks[j].text {
		case ")", "]", "}":
			depth++
		case "(", "[", "{":
			depth--
			if depth == 0 {
				return max(j-1, 0)
			}
		}
	}
	return max(i, 0)
}

// badLiteral finds the literal whose value cedar-go could not convert: a
// number out of range, or a string with an escape that names no character.
func (s syntax) badLiteral() (Problem, bool) {
	for j, t := range s.toks {
		switch t.kind {
		case tokInt:
			// The parser reads -9223372036854775808 as one literal.
			unary := s.prev(j) == "-" && (j < 2 || !endsValue(s.toks[j-2]))
			if _, err := strconv.ParseInt(t.text, 10, 64); err == nil || unary && t.text == "9223372036854775808" {
				continue
			}
			return Problem{PolicyID: s.policyID(j), Line: t.line, Column: t.col,
				Message: fmt.Sprintf("the number `%s` at line %d, column %d is out of range: a Long is from -9223372036854775808 to 9223372036854775807", short(t.text), t.line, t.col)}, true
		case tokString:
			if _, bad := unquote(t.text, s.prev(j) == "like"); bad != "" {
				return Problem{PolicyID: s.policyID(j), Line: t.line, Column: t.col,
					Message: fmt.Sprintf("the escape `%s` in the string at line %d, column %d is not a character: \\x takes 00 to 7f, \\u{…} a Unicode scalar value, and only a `like` pattern may escape `*`", short(strings.ToValidUTF8(bad, "")), t.line, t.col)}, true
			}
		}
	}
	return Problem{}, false
}

// endsValue reports whether t can end a value, so a `-` after it subtracts.
func endsValue(t token) bool {
	switch t.kind {
	case tokIdent, tokInt, tokString:
		return true
	case tokKeyword:
		return t.text == "true" || t.text == "false"
	}
	return t.text == ")" || t.text == "]" || t.text == "}"
}

// unquote decodes a Cedar string literal (with its quotes) as cedar-go does;
// pattern allows the \* escape. bad is the escape (or literal) that does not
// decode, "" when all is well.
func unquote(lit string, pattern bool) (value, bad string) {
	if len(lit) < 2 || lit[0] != '"' || lit[len(lit)-1] != '"' || !utf8.ValidString(lit) {
		return "", lit
	}
	b := lit[1 : len(lit)-1]
	var out strings.Builder
	for i := 0; i < len(b); {
		at := strings.IndexByte(b[i:], '\\')
		if at < 0 {
			out.WriteString(b[i:])
			break
		}
		out.WriteString(b[i : i+at])
		i += at
		esc := b[i:min(i+2, len(b))]
		switch {
		case len(esc) < 2:
			return "", esc
		case strings.Contains(`nrt\'"0`, esc[1:]):
			out.WriteString(map[byte]string{'n': "\n", 'r': "\r", 't': "\t", '\\': "\\", '\'': "'", '"': `"`, '0': "\x00"}[esc[1]])
			i += 2
		case esc[1] == '*' && pattern:
			out.WriteByte('*')
			i += 2
		case esc[1] == 'x':
			esc = b[i:min(i+4, len(b))]
			v, err := strconv.ParseUint(esc[2:], 16, 8)
			if len(esc) < 4 || err != nil || v > 127 {
				return "", esc
			}
			out.WriteByte(byte(v))
			i += 4
		case esc[1] == 'u':
			end := strings.IndexByte(b[i:], '}')
			if end < 0 {
				return "", esc
			}
			esc = b[i : i+end+1]
			digits := strings.TrimPrefix(esc, `\u{`)
			digits = strings.ReplaceAll(strings.TrimSuffix(digits, "}"), "_", "")
			v, err := strconv.ParseUint(digits, 16, 32)
			if !strings.HasPrefix(esc, `\u{`) || strings.HasPrefix(esc, `\u{_`) || len(digits) == 0 || len(digits) > 6 || err != nil || !utf8.ValidRune(rune(v)) {
				return "", esc
			}
			out.WriteRune(rune(v))
			i += end + 1
		default:
			_, n := utf8.DecodeRuneInString(b[i+1:])
			return "", b[i : i+1+n]
		}
	}
	return out.String(), ""
}

// backticked returns the text between the first pair of backticks of s.
func backticked(s string) string {
	_, rest, _ := strings.Cut(s, "`")
	name, _, _ := strings.Cut(rest, "`")
	return short(name)
}

// short cuts a token to a length that reads well in a message.
func short(s string) string {
	if utf8.RuneCountInString(s) <= 40 {
		return s
	}
	return string([]rune(s)[:37]) + "…"
}
