package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/elevate-jit/elevate/internal/access"
)

// tracer keeps an episode's events: what each step did, the faults, the
// commits and Identity Center's answers. An event is formatted only when
// it is read (a trace, a digest, a failure), which keeps long runs cheap.
type tracer struct {
	events []event
	step   int
}

type event struct {
	at     time.Duration
	step   int
	depth  int
	format string
	args   []any
}

func (t *tracer) event(w *world, format string, args ...any) {
	t.events = append(t.events, event{at: w.now().Sub(epoch), step: t.step, depth: w.depth, format: format, args: args})
}

func (e event) text() string { return fmt.Sprintf(e.format, e.args...) }

// line formats an event: simulated time, step number, nesting, text.
func (e event) line() string {
	return fmt.Sprintf("%s #%d %s%s", fmtDuration(e.at), e.step, strings.Repeat("  ", max(e.depth-1, 0)), e.text())
}

// sum is a digest of every event: the same seed must give the same one.
func (t *tracer) sum() string {
	h := sha256.New()
	for _, e := range t.events {
		fmt.Fprintln(h, e.line())
	}
	return hex.EncodeToString(h.Sum(nil))
}

func fmtDuration(d time.Duration) string {
	ms := d.Milliseconds()
	return fmt.Sprintf("+%02d:%02d:%02d.%03d", ms/3600000, ms/60000%60, ms/1000%60, ms%1000)
}

// name gives an id its short label (g12, r7) when first seen.
func (w *world) name(id string, kind byte) {
	if _, ok := w.labels[id]; ok || id == "" {
		return
	}
	w.counter[kind]++
	w.labels[id] = fmt.Sprintf("%c%d", kind, w.counter[kind])
}

// label is an id's short label, or the id.
func (w *world) label(id string) string {
	if l, ok := w.labels[id]; ok {
		return l
	}
	if id == "" {
		return "-"
	}
	return id
}

func (w *world) labelsOf(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = w.label(id)
	}
	return out
}

// keyLabel names an assignment: user/account/permission set@instance.
func (w *world) keyLabel(k access.AssignmentKey) string {
	ps := w.label(k.PermissionSetARN)
	if ps == k.PermissionSetARN {
		ps = "managed-" + ps[len(ps)-6:]
	}
	return fmt.Sprintf("%s/%s/%s@%s", w.label(k.PrincipalID), k.AccountID, ps, w.label(k.InstanceARN))
}

func (w *world) holdersLabel(hs []access.Holder) string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = w.label(h.GrantID)
	}
	return "[" + strings.Join(out, " ") + "]"
}

// execLabel names an execution by its object and suffix.
func (w *world) execLabel(name string) string {
	if len(name) >= 36 {
		return w.label(name[:36]) + name[36:]
	}
	return name
}

// changeLabel names what a commit writes.
func (w *world) changeLabel(c access.Change) string {
	var parts []string
	for _, r := range c.Requests {
		parts = append(parts, w.label(r.ID))
	}
	for _, g := range c.Grants {
		parts = append(parts, w.label(g.ID))
	}
	for _, e := range c.Ledger {
		parts = append(parts, "ledger "+w.keyLabel(e.Key))
	}
	for _, t := range c.Tenants {
		parts = append(parts, "tenant "+w.label(t.ID))
	}
	return strings.Join(parts, ", ")
}

// hasLabel reports whether text names label as a whole word.
func hasLabel(text, label string) bool {
	for i := 0; ; {
		j := strings.Index(text[i:], label)
		if j < 0 {
			return false
		}
		end := i + j + len(label)
		before := i+j == 0 || !isWordRune(rune(text[i+j-1]))
		after := end == len(text) || !isWordRune(rune(text[end]))
		if before && after {
			return true
		}
		i = end
	}
}

func isWordRune(r rune) bool { return r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)) }

// minimal returns the events that led to a violation: the steps that touch
// its objects, or the grants and requests related to them (a grant's
// request, the grants that planned the same assignments), with the faults
// injected in those steps.
func (w *world) minimal(v violation) []string {
	labels := map[string]bool{}
	add := func(l string) { labels[l] = true }
	for _, l := range v.labels {
		add(l)
	}
	byLabel := map[string]string{}
	for id, l := range w.labels {
		byLabel[l] = id
	}
	for _, l := range slices.Sorted(func(yield func(string) bool) {
		for l := range labels {
			if !yield(l) {
				return
			}
		}
	}) {
		if gv := w.check.grants[byLabel[l]]; gv != nil {
			add(w.label(gv.g.RequestID))
			for _, a := range gv.g.Assignments {
				add(w.keyLabel(a.Key()))
				for _, other := range w.check.keyGrants[a.Key()] {
					add(w.label(other))
				}
			}
		}
		for k, ids := range w.check.keyGrants {
			if w.keyLabel(k) == l {
				for _, id := range ids {
					add(w.label(id))
					add(w.label(w.check.grants[id].g.RequestID))
				}
			}
		}
	}
	delete(labels, "-")
	list := make([]string, 0, len(labels))
	for l := range labels {
		list = append(list, l)
	}
	slices.Sort(list)
	steps := map[int]bool{}
	texts := make([]string, len(w.trace.events))
	for i, e := range w.trace.events {
		texts[i] = e.text()
		for _, l := range list {
			if hasLabel(texts[i], l) {
				steps[e.step] = true
				break
			}
		}
	}
	// A step of a polling loop that found nothing new is elided.
	events := map[int]int{}
	quiet := map[int]bool{}
	for i, e := range w.trace.events {
		events[e.step]++
		if strings.HasPrefix(texts[i], "= ") {
			quiet[e.step] = strings.HasSuffix(texts[i], "done=false err=<nil>")
		}
	}
	var out []string
	out = append(out, "objects: "+strings.Join(list, " "))
	elided := 0
	for i, e := range w.trace.events {
		if !steps[e.step] {
			continue
		}
		if quiet[e.step] && events[e.step] == 2 {
			if strings.HasPrefix(texts[i], "▶") {
				elided++
			}
			continue
		}
		if elided > 0 {
			out = append(out, fmt.Sprintf("  … %d polling steps that found nothing new", elided))
			elided = 0
		}
		text := texts[i]
		keep := e.depth <= 1 && strings.HasPrefix(text, "▶") || strings.HasPrefix(text, "⚡") || strings.HasPrefix(text, "⤷") || strings.HasPrefix(text, "✗")
		for _, l := range list {
			keep = keep || hasLabel(text, l)
		}
		if keep {
			out = append(out, e.line())
		}
	}
	return out
}
