package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The example tells the same story on every run: the test holds it to it,
// balances included, from one run.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out, "memory:", nil))
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

// On a store that outlives the run, a second run finds the accounts open
// and its consumer resumes after the position the first stored, handling
// only the messages written since.
func TestRun_ResumesOnAStore(t *testing.T) {
	url := "sqlite:" + t.TempDir()
	var first, second bytes.Buffer
	require.NoError(t, run(context.Background(), &first, url, nil))
	assert.Contains(t, first.String(), `consumer "balances" resumes after global position 0, 0 behind`)
	stored := regexp.MustCompile(`\(position (\d+) in account:position-balances, 0 behind\)`)
	m := stored.FindStringSubmatch(first.String())
	require.NotNil(t, m, first.String())

	require.NoError(t, run(context.Background(), &second, url, nil))
	s := second.String()
	assert.Contains(t, s, `consumer "balances" resumes after global position `+m[1]+`, 0 behind`, "where the first run stopped")
	assert.Contains(t, s, "rejected: account 1 is already open")
	assert.Contains(t, s, "(from the messages after global position "+m[1])
	m2 := stored.FindStringSubmatch(s)
	require.NotNil(t, m2, s)
	before, _ := strconv.Atoi(m[1])
	after, _ := strconv.Atoi(m2[1])
	assert.Greater(t, after, before)
	// This run's movements only: account 1 +100 -30 -20 -40, account 2
	// +50 -80 +25 (its balance allowed the withdrawal this time).
	assert.Contains(t, s, "  account-1           10\n")
	assert.Contains(t, s, "  account-2           -5\n")
}

func TestStoreURL(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	assert.Equal(t, "memory:", storeURL(getenv))
	env["MESSAGEDB_URL"] = "sqlite:./bank-data"
	assert.Equal(t, "sqlite:./bank-data", storeURL(getenv))
}
