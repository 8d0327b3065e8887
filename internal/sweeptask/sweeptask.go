// Package sweeptask is the sweep queue's message: one tenant to sweep. It
// needs no AWS SDK, so the sweep queue's consumer links no SQS client.
package sweeptask

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Message is the body of one message: the tenant to sweep.
type Message struct {
	TenantID string `json:"tenant_id"`
}

// Parse reads a message body, refusing one that names no tenant.
func Parse(body string) (Message, error) {
	var m Message
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		return Message{}, fmt.Errorf("sweep message: %w", err)
	}
	if m.TenantID == "" {
		return Message{}, errors.New("sweep message: no tenant_id")
	}
	return m, nil
}
