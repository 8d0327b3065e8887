package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/elevate-jit/elevate/internal/access"
)

// statusOf is the one map from API error codes to HTTP statuses.
var statusOf = map[access.Code]int{
	access.CodeValidationFailed:     http.StatusBadRequest,
	access.CodeInvalidCursor:        http.StatusBadRequest,
	access.CodeInvalidTenantID:      http.StatusBadRequest,
	access.CodeUnauthenticated:      http.StatusUnauthorized,
	access.CodeTenantMismatch:       http.StatusForbidden,
	access.CodeForbidden:            http.StatusForbidden,
	access.CodePolicyDenied:         http.StatusForbidden,
	access.CodeNotFound:             http.StatusNotFound,
	access.CodeMethodNotAllowed:     http.StatusMethodNotAllowed,
	access.CodeRequestNotPending:    http.StatusConflict,
	access.CodeConflict:             http.StatusConflict,
	access.CodeGrantNotActive:       http.StatusConflict,
	access.CodePayloadTooLarge:      http.StatusRequestEntityTooLarge,
	access.CodeUnsupportedMediaType: http.StatusUnsupportedMediaType,
	access.CodeIdempotencyKeyReused: http.StatusUnprocessableEntity,
	access.CodeRateLimited:          http.StatusTooManyRequests,
	access.CodeInternal:             http.StatusInternalServerError,
}

// WriteError writes err in the documented error shape; it is the one error
// writer of every handler, the API's and those mounted beside it. Errors
// without an API code are internal: the client sees only "internal", the log
// the cause.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var e *access.Error
	status := http.StatusInternalServerError
	body := errorJSON{Code: string(access.CodeInternal), Message: "internal error"}
	if errors.As(err, &e) {
		if s, ok := statusOf[e.Code]; ok && e.Code != access.CodeInternal {
			status = s
			body = errorJSON{Code: string(e.Code), Message: e.Message, Details: e.Details, Notices: e.Notices}
		}
	}
	attrs := append(LogAttrs(r.Context()), slog.String("code", body.Code), slog.Any("error", err))
	switch {
	case status >= 500:
		log.LogAttrs(r.Context(), slog.LevelError, "request failed", attrs...)
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		log.LogAttrs(r.Context(), slog.LevelWarn, "request refused", attrs...)
	}
	writeJSON(w, status, body)
}

// writeJSON writes v as the JSON response body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"code":"internal","message":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
