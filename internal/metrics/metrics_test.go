package metrics_test

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/metrics"
)

var at = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)

func ExampleWriter_Put() {
	m := metrics.New(os.Stdout, "Elevate/Elevate", func() time.Time { return at })
	_ = m.Put(metrics.ApprovalToActive, 4250, map[string]string{"tenant_id": "4f1c2a9e-0b7d-4c3e-9a51-6d2f8e7b1a01"})
	// Output:
	// {"ApprovalToActive":4250,"_aws":{"Timestamp":1772357400000,"CloudWatchMetrics":[{"Namespace":"Elevate/Elevate","Dimensions":[[]],"Metrics":[{"Name":"ApprovalToActive","Unit":"Milliseconds"}]}]},"tenant_id":"4f1c2a9e-0b7d-4c3e-9a51-6d2f8e7b1a01"}
}

// TestLinesFollowTheSpecification checks every metric's line against the
// rules of the EMF specification that CloudWatch Logs enforces: one JSON
// object; "_aws" with a millisecond Timestamp and CloudWatchMetrics
// directives; each directive's namespace, dimension sets (whose keys must be
// members) and metric definitions; each metric a number member of the root.
func TestLinesFollowTheSpecification(t *testing.T) {
	for _, u := range metrics.Units {
		t.Run(string(u.Name), func(t *testing.T) {
			var buf bytes.Buffer
			m := metrics.New(&buf, "Elevate/Prod", func() time.Time { return at })
			if err := m.Put(u.Name, 3, map[string]string{"grant_id": "g-1"}); err != nil {
				t.Fatal(err)
			}
			if bytes.Count(buf.Bytes(), []byte("\n")) != 1 {
				t.Fatalf("want one line: %q", buf.String())
			}
			var doc map[string]any
			if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			meta, _ := doc["_aws"].(map[string]any)
			if meta["Timestamp"] != float64(at.UnixMilli()) {
				t.Errorf("Timestamp = %v", meta["Timestamp"])
			}
			dirs, _ := meta["CloudWatchMetrics"].([]any)
			if len(dirs) != 1 {
				t.Fatalf("CloudWatchMetrics = %v", meta["CloudWatchMetrics"])
			}
			d := dirs[0].(map[string]any)
			if d["Namespace"] != "Elevate/Prod" {
				t.Errorf("Namespace = %v", d["Namespace"])
			}
			for _, set := range d["Dimensions"].([]any) {
				for _, key := range set.([]any) {
					if _, ok := doc[key.(string)]; !ok {
						t.Errorf("dimension %v is not a member", key)
					}
				}
			}
			defs := d["Metrics"].([]any)
			if len(defs) != 1 {
				t.Fatalf("Metrics = %v", defs)
			}
			def := defs[0].(map[string]any)
			if def["Name"] != string(u.Name) || def["Unit"] != string(u.Unit) {
				t.Errorf("definition %v, want %s in %s", def, u.Name, u.Unit)
			}
			if v, ok := doc[string(u.Name)].(float64); !ok || v != 3 {
				t.Errorf("member %s = %v, want the number 3", u.Name, doc[string(u.Name)])
			}
			if doc["grant_id"] != "g-1" {
				t.Errorf("property grant_id = %v", doc["grant_id"])
			}
		})
	}
	if err := metrics.New(&bytes.Buffer{}, "x", time.Now).Put("Nope", 1, nil); err == nil {
		t.Error("an unknown metric was written")
	}
}
