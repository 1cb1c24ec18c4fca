package app

import (
	"log/slog"
	"time"

	"github.com/messagedb-go/messagedb/ports"
)

// The attribute keys of the records a Store and its consumers log (see
// Options.Logger and ConsumerOptions.Logger). They are stable: a change
// of key is a change of API.
const (
	LogBackend        = "backend"         // ports.SystemPostgreSQL, ports.SystemSQLite, ...
	LogURL            = "url"             // the store's URL, password masked
	LogNamespace      = "namespace"       // the namespace's id
	LogCategory       = "category"        // the category consumed
	LogConsumer       = "consumer"        // the consumer's id
	LogGroupMember    = "group_member"    // the consumer's member number in its group
	LogGroupSize      = "group_size"      // the size of the consumer's group
	LogPosition       = "position"        // the consumer's position: the global position of the last message handled
	LogGlobalPosition = "global_position" // a message's global position
	LogStream         = "stream"          // a message's stream
	LogType           = "type"            // a message's type
	LogAttempt        = "attempt"         // how many times a call or a handler has failed in a row
	LogBackoff        = "backoff"         // the wait before the next attempt
	LogConnection     = "connection"      // the connection lost or restored ("listener")
	LogError          = "error"           // the error
)

// connectionEvents reports a backend's connection losses to an observer
// and a logger, either of which may be nil.
type connectionEvents struct {
	obs ports.ConnectionObserver
	log *slog.Logger
}

func (e connectionEvents) ConnectionLost(conn string, attempt int, backoff time.Duration, err error) {
	if e.obs != nil {
		e.obs.ConnectionLost(conn, attempt, backoff, err)
	}
	if e.log != nil {
		e.log.Warn("connection lost", LogConnection, conn, LogAttempt, attempt, LogBackoff, backoff, LogError, err)
	}
}

func (e connectionEvents) ConnectionRestored(conn string, attempts int) {
	if e.obs != nil {
		e.obs.ConnectionRestored(conn, attempts)
	}
	if e.log != nil {
		e.log.Info("connection restored", LogConnection, conn, LogAttempt, attempts)
	}
}
