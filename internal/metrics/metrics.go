// Package metrics writes the figures an on-call person watches as
// CloudWatch embedded metric format (EMF) lines: one JSON object per line on
// a Lambda function's standard output, which CloudWatch Logs turns into
// metrics of the deployment's namespace. It makes no API call and needs no
// permission beyond the function's log group. The stack's dashboard reads
// the metrics named here.
package metrics

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"
)

// Name is a metric's name in the deployment's namespace.
type Name string

// The metrics the functions publish.
const (
	// ApprovalToActive is the time from a grant's approval (its creation) to
	// its Identity Center assignments being in place, in milliseconds.
	ApprovalToActive Name = "ApprovalToActive"
	// RevocationLatency is the time from when a grant's access should end
	// (its expiry, or the revoke) to its assignments being gone, in
	// milliseconds.
	RevocationLatency Name = "RevocationLatency"
	// GrantsFailed counts grants whose provisioning failed for good.
	GrantsFailed Name = "GrantsFailed"
	// SweeperRepairs counts what a sweep finished that the workflows did
	// not: overdue grants ended, stuck grants restarted, stale requests
	// expired, orphaned assignments released, vanished assignments made
	// again.
	SweeperRepairs Name = "SweeperRepairs"
	// IdentityCenterThrottles counts calls to Identity Center, the Identity
	// Store or Organizations that were throttled (and retried).
	IdentityCenterThrottles Name = "IdentityCenterThrottles"
	// SessionCutFailures counts session cuts of revoked or expired grants
	// that failed (a failed re-provisioning, retried by the sweeper, or a
	// deny that does not fit in the inline policy): open sessions may
	// outlive the grant (docs/revocation.md).
	SessionCutFailures Name = "SessionCutFailures"
	// ReviewsOverdue counts break-glass reviews the sweeper found past their
	// due time and announced (elevate.review.overdue); written only when a
	// sweep found some.
	ReviewsOverdue Name = "ReviewsOverdue"
)

// Unit is a CloudWatch unit.
type Unit string

// The units of the metrics.
const (
	Milliseconds Unit = "Milliseconds"
	Count        Unit = "Count"
)

// Units is every metric with its unit, in the order the dashboard shows them.
var Units = []struct {
	Name Name
	Unit Unit
}{
	{ApprovalToActive, Milliseconds},
	{RevocationLatency, Milliseconds},
	{GrantsFailed, Count},
	{SweeperRepairs, Count},
	{IdentityCenterThrottles, Count},
	{SessionCutFailures, Count},
	{ReviewsOverdue, Count},
}

// UnitOf returns a metric's unit; false for a name this package does not
// define.
func UnitOf(n Name) (Unit, bool) {
	for _, u := range Units {
		if u.Name == n {
			return u.Unit, true
		}
	}
	return "", false
}

// Writer writes metric lines. It is safe for concurrent use; each line is
// one Write.
type Writer struct {
	mu        sync.Mutex
	w         io.Writer
	namespace string
	now       func() time.Time
}

// New returns a Writer of metrics in namespace to w (a function's standard
// output), stamped with now's time.
func New(w io.Writer, namespace string, now func() time.Time) *Writer {
	return &Writer{w: w, namespace: namespace, now: now}
}

// Put writes one value of a metric. props become members of the line, for
// searching the logs (a tenant or grant id), never dimensions: the metrics
// have none, so their number stays fixed whatever the tenants.
func (m *Writer) Put(name Name, value float64, props map[string]string) error {
	unit, ok := UnitOf(name)
	if !ok {
		return fmt.Errorf("metrics: unknown metric %q", name)
	}
	line := make(map[string]any, len(props)+2)
	for k, v := range props {
		line[k] = v
	}
	line["_aws"] = metadata{
		Timestamp: m.now().UnixMilli(),
		CloudWatchMetrics: []directive{{
			Namespace:  m.namespace,
			Dimensions: [][]string{{}},
			Metrics:    []definition{{Name: name, Unit: unit}},
		}},
	}
	line[string(name)] = value
	b, err := json.Marshal(line)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_, err = m.w.Write(append(b, '\n'))
	return err
}

// metadata, directive and definition are the EMF document's "_aws" member.
type metadata struct {
	Timestamp         int64       `json:"Timestamp"`
	CloudWatchMetrics []directive `json:"CloudWatchMetrics"`
}

type directive struct {
	Namespace  string       `json:"Namespace"`
	Dimensions [][]string   `json:"Dimensions"`
	Metrics    []definition `json:"Metrics"`
}

type definition struct {
	Name Name `json:"Name"`
	Unit Unit `json:"Unit"`
}
