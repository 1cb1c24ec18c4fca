package postgres

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// What reads need, as the router learns primary positions: the first
// position, and the first after an idle spell, are waited for; writes'
// positions are waited for; later positions judge lag once they are maxLag
// old.
func TestRouter_Targets(t *testing.T) {
	const maxLag = time.Second
	r := newRouter(nil, nil, maxLag)
	t0 := time.Unix(1000, 0)
	learn := func(at time.Duration, l lsn, want bool) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.learn(sample{at: t0.Add(at), lsn: l}, want)
	}
	targets := func(at time.Duration) (lsn, lsn) {
		lagging, want := r.targets(t0.Add(at))
		return lagging, want.lsn
	}

	learn(0, 100, false)
	lagging, want := targets(0)
	assert.Equal(t, lsn(0), lagging, "nothing is maxLag old")
	assert.Equal(t, lsn(100), want, "the first position is waited for: nothing tells yet how far a standby lags")

	learn(400*time.Millisecond, 200, false)
	learn(450*time.Millisecond, 250, false) // within maxLag/8 of the last: not kept
	_, want = targets(500 * time.Millisecond)
	assert.Equal(t, lsn(100), want, "positions learned to judge lag are not waited for")

	learn(600*time.Millisecond, 300, true)
	_, want = targets(600 * time.Millisecond)
	assert.Equal(t, lsn(300), want, "a write's position is waited for")

	lagging, _ = targets(999 * time.Millisecond)
	assert.Equal(t, lsn(0), lagging)
	lagging, _ = targets(maxLag)
	assert.Equal(t, lsn(100), lagging, "a standby behind what the primary had maxLag ago lags")
	lagging, _ = targets(maxLag + 400*time.Millisecond)
	assert.Equal(t, lsn(200), lagging, "the newest position maxLag old")

	learn(5*time.Second, 400, false)
	_, want = targets(5 * time.Second)
	assert.Equal(t, lsn(400), want, "after an idle spell, a position is waited for")
	r.mu.Lock()
	assert.Len(t, r.samples, 2, "only the newest of the positions older than maxLag is kept")
	r.mu.Unlock()

	learn(5*time.Second+500*time.Millisecond, 350, true)
	_, want = targets(6 * time.Second)
	assert.Equal(t, lsn(400), want, "the position waited for never goes back")
}

// After a failover the primary may lack the end of the old primary's WAL:
// the positions learned before it was asked, beyond its own, are forgotten,
// not those learned while it was being asked.
func TestRouter_Rewind(t *testing.T) {
	const maxLag = time.Second
	r := newRouter(nil, nil, maxLag)
	t0 := time.Unix(1000, 0)
	r.learn(sample{at: t0, lsn: 500}, true)
	r.learn(sample{at: t0.Add(300 * time.Millisecond), lsn: 900}, true)
	r.learn(sample{at: t0.Add(700 * time.Millisecond), lsn: 1000}, false)

	r.rewind(800, t0.Add(500*time.Millisecond))
	assert.Equal(t, lsn(800), r.want.lsn, "learned before the question, beyond the primary")
	assert.Equal(t, []lsn{500, 800, 1000}, []lsn{r.samples[0].lsn, r.samples[1].lsn, r.samples[2].lsn},
		"the position learned while the question was under way is kept")

	r.learn(sample{at: t0.Add(time.Second), lsn: 1200}, true)
	r.rewind(1100, t0.Add(900*time.Millisecond))
	assert.Equal(t, lsn(1200), r.want.lsn, "a position learned after the question started is kept")
}
