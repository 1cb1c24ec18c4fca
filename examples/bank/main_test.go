package main

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The example tells the same story on every run: the test holds it to it,
// balances included, from one run.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out))
	want, err := os.ReadFile("testdata/output.txt")
	require.NoError(t, err)
	assert.Equal(t, string(want), out.String())

	// What the story must show, whatever the golden file says.
	s := out.String()
	assert.Contains(t, s, "  account-1  ada      10\n", "100 - 30 - 20 - 40")
	assert.Contains(t, s, "  account-2  grace    75\n", "50 + 25, the withdrawal of 80 rejected")
	assert.Contains(t, s, "version conflict on account-1: loaded version 2, stream is at 3; retrying")
	assert.Contains(t, s, "rejected: insufficient funds (balance 50)")
}
