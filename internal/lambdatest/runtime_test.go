package lambdatest

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRuntime drives the fake Runtime API as a function's runtime client
// does: the next invocation with its headers, an error, an init error, a
// result for an unknown invocation, and a wait for an invocation that never
// comes, released by Close.
func TestRuntime(t *testing.T) {
	rt := NewRuntime()
	defer rt.Close()
	base := "http://" + rt.Addr() + "/2018-06-01/runtime/"
	deadline := time.Now().Add(3 * time.Second).Truncate(time.Millisecond)
	rt.Invoke(Invocation{RequestID: "req-1", Event: []byte(`{"a":1}`), Deadline: deadline, FunctionARN: "arn:aws:lambda:us-east-1:123456789012:function:f", TraceID: "Root=1-2-3"})

	res, err := http.Get(base + "invocation/next")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != `{"a":1}` || res.Header.Get("Lambda-Runtime-Aws-Request-Id") != "req-1" ||
		res.Header.Get("Lambda-Runtime-Deadline-Ms") != strconv.FormatInt(deadline.UnixMilli(), 10) ||
		res.Header.Get("Lambda-Runtime-Invoked-Function-Arn") == "" || res.Header.Get("Lambda-Runtime-Trace-Id") != "Root=1-2-3" {
		t.Fatalf("next: %d %v %s", res.StatusCode, res.Header, body)
	}
	if rt.FirstNext().IsZero() {
		t.Error("FirstNext is zero after a call to next")
	}

	post := func(path, errorType, body string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
		if errorType != "" {
			req.Header.Set("Lambda-Runtime-Function-Error-Type", errorType)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := post("invocation/req-9/response", "", `{}`); code != http.StatusBadRequest {
		t.Errorf("a response for an unknown invocation: %d, want 400", code)
	}
	if code := post("invocation/req-1/error", "Runtime.Boom", `{"errorMessage":"boom"}`); code != http.StatusAccepted {
		t.Errorf("error: %d, want 202", code)
	}
	if r := <-rt.Results(); r.Kind != KindError || r.RequestID != "req-1" || r.ErrorType != "Runtime.Boom" || string(r.Body) != `{"errorMessage":"boom"}` {
		t.Errorf("error result: %+v", r)
	}
	if code := post("init/error", "Runtime.ExitError", `{"errorMessage":"no table"}`); code != http.StatusAccepted {
		t.Errorf("init error: %d, want 202", code)
	}
	if r := <-rt.Results(); r.Kind != KindInitError || string(r.Body) != `{"errorMessage":"no table"}` {
		t.Errorf("init error result: %+v", r)
	}

	waited := make(chan int)
	go func() {
		res, err := http.Get(base + "invocation/next")
		if err != nil {
			waited <- 0
			return
		}
		res.Body.Close()
		waited <- res.StatusCode
	}()
	time.Sleep(50 * time.Millisecond)
	select {
	case code := <-waited:
		t.Fatalf("next answered %d with nothing queued", code)
	default:
	}
	rt.Close()
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not release a waiting next")
	}
}
