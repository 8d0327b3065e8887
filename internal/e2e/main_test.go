package e2e

import (
	"testing"

	"github.com/elevate-jit/elevate/internal/motoserver"
)

// TestMain stops the moto server the DynamoDB store's tests share.
func TestMain(m *testing.M) { motoserver.Main(m) }
