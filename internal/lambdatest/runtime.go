// Package lambdatest runs Elevate's Lambda binaries the way Lambda does: each
// binary is started as a process that asks a Runtime API endpoint for its
// next invocation and posts the result back. Runtime is that endpoint, a
// small fake of the documented Lambda Runtime API; the package's tests build
// every function, run it on moto against its sample event from events/, and
// check what it answers.
package lambdatest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The Runtime API's version prefix, as the aws-lambda-go client calls it.
const apiPrefix = "/2018-06-01/runtime/"

// Invocation is one event the Runtime hands to the function, with the
// metadata Lambda sends in the /next response's headers.
type Invocation struct {
	RequestID   string
	Event       []byte
	Deadline    time.Time
	FunctionARN string
	TraceID     string
}

// ResultKind tells what the function posted.
type ResultKind string

// The kinds of result a function can post.
const (
	// KindResponse is POST /runtime/invocation/{id}/response.
	KindResponse ResultKind = "response"
	// KindError is POST /runtime/invocation/{id}/error.
	KindError ResultKind = "error"
	// KindInitError is POST /runtime/init/error: the function failed to start.
	KindInitError ResultKind = "init-error"
)

// Result is what a function posted for an invocation (or at start-up).
type Result struct {
	Kind      ResultKind
	RequestID string
	Body      []byte
	// ErrorType is the Lambda-Runtime-Function-Error-Type header or trailer
	// of an error post.
	ErrorType string
	At        time.Time
}

// Runtime is a fake Lambda Runtime API on a loopback port. Queue events with
// Invoke; a function process started with AWS_LAMBDA_RUNTIME_API=Addr()
// receives them in order from GET /runtime/invocation/next, which blocks
// (as Lambda freezes an idle function) while the queue is empty. Results
// arrive on Results.
type Runtime struct {
	srv     *httptest.Server
	queue   chan Invocation
	results chan Result
	done    chan struct{}
	once    sync.Once

	mu        sync.Mutex
	firstNext time.Time
	pending   map[string]bool
}

// NewRuntime starts a Runtime. Close it when the function has been stopped.
func NewRuntime() *Runtime {
	r := &Runtime{
		queue:   make(chan Invocation, 16),
		results: make(chan Result, 16),
		done:    make(chan struct{}),
		pending: map[string]bool{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+apiPrefix+"invocation/next", r.next)
	mux.HandleFunc("POST "+apiPrefix+"invocation/{id}/response", r.post(KindResponse))
	mux.HandleFunc("POST "+apiPrefix+"invocation/{id}/error", r.post(KindError))
	mux.HandleFunc("POST "+apiPrefix+"init/error", r.post(KindInitError))
	r.srv = httptest.NewServer(mux)
	return r
}

// Addr is the host:port to put in AWS_LAMBDA_RUNTIME_API.
func (r *Runtime) Addr() string { return strings.TrimPrefix(r.srv.URL, "http://") }

// Invoke queues an invocation.
func (r *Runtime) Invoke(inv Invocation) {
	r.mu.Lock()
	r.pending[inv.RequestID] = true
	r.mu.Unlock()
	r.queue <- inv
}

// Results delivers what the function posts.
func (r *Runtime) Results() <-chan Result { return r.results }

// FirstNext is when the function first asked for an invocation (the end of
// its initialization), or the zero time if it has not.
func (r *Runtime) FirstNext() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.firstNext
}

// Close releases calls still waiting for an invocation and stops the server.
func (r *Runtime) Close() {
	r.once.Do(func() {
		close(r.done)
		r.srv.CloseClientConnections()
		r.srv.Close()
	})
}

func (r *Runtime) next(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	if r.firstNext.IsZero() {
		r.firstNext = time.Now()
	}
	r.mu.Unlock()
	select {
	case inv := <-r.queue:
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", inv.RequestID)
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.Deadline.UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", inv.FunctionARN)
		h.Set("Lambda-Runtime-Trace-Id", inv.TraceID)
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(inv.Event)
	case <-req.Context().Done():
	case <-r.done:
		// Lambda would keep the call open while the function is frozen; the
		// test is over, so end it.
		w.WriteHeader(http.StatusGone)
	}
}

func (r *Runtime) post(kind ResultKind) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body) // also fills req.Trailer
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		res := Result{Kind: kind, RequestID: req.PathValue("id"), Body: body, At: time.Now()}
		if kind != KindResponse {
			res.ErrorType = req.Header.Get("Lambda-Runtime-Function-Error-Type")
		}
		if t := req.Trailer.Get("Lambda-Runtime-Function-Error-Type"); t != "" {
			// The client reports a failure while streaming the response body
			// in trailers; the invocation failed.
			res.Kind, res.ErrorType = KindError, t
		}
		if kind != KindInitError {
			r.mu.Lock()
			known := r.pending[res.RequestID]
			delete(r.pending, res.RequestID)
			r.mu.Unlock()
			if !known {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				_, _ = io.WriteString(w, `{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}`)
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"status":"OK"}`)
		select {
		case r.results <- res:
		case <-r.done:
		}
	}
}
